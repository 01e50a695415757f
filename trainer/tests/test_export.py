import importlib.util
import json
import os
import tempfile
import unittest
import warnings

import torch

from helpers import tiny_policy
from serl_worker import export, tiny_gpt


class ExportOnnxTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.policy = tiny_policy(seed=14)
        cls.config = cls.policy.module.config
        cls.directory = tempfile.TemporaryDirectory()
        cls.files = export.export_tiny_onnx(cls.policy.module, cls.policy.tokenizer.chars, cls.directory.name)

    @classmethod
    def tearDownClass(cls):
        cls.directory.cleanup()

    def path(self, name):
        return os.path.join(self.directory.name, name)

    def read(self, name):
        with open(self.path(name), encoding="utf-8") as file:
            return json.load(file)

    def test_layout_config_and_tokenizer(self):
        self.assertEqual(
            self.files,
            ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"],
        )
        for name in self.files:
            self.assertTrue(os.path.isfile(self.path(name)), name)
        chars = self.policy.tokenizer.chars
        config = self.read("config.json")
        # A GPT-2 config that Transformers.js sizes the cache from: n_layer, n_head, n_embd.
        self.assertEqual(config["model_type"], "gpt2")
        self.assertEqual(
            {key: config[key] for key in ("vocab_size", "n_layer", "n_head", "n_embd", "n_positions")},
            {
                "vocab_size": chars.vocab_size,
                "n_layer": self.config.n_layer,
                "n_head": self.config.n_head,
                "n_embd": self.config.n_embd,
                "n_positions": self.config.block_size,
            },
        )
        self.assertEqual(config["activation_function"], "gelu")
        self.assertEqual(config["eos_token_id"], chars.eos_id)
        self.assertEqual(self.read("generation_config.json")["eos_token_id"], chars.eos_id)
        self.assertEqual(tiny_gpt.CharTokenizer.from_json(self.read("tokenizer.json"), "tokenizer.json").chars, chars.chars)
        self.assertEqual(self.read("tokenizer_config.json")["eos_token"], tiny_gpt.EOS_TOKEN)

    def traced(self):
        # torch.onnx.export records the graph with this tracer, from the same example inputs.
        module = export.exportable_copy(self.policy.module)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            return module, torch.jit.trace(module, export.example_inputs(self.config))

    def test_the_traced_forward_generalises_to_other_shapes_and_an_empty_cache(self):
        # Traced with batch 2, a cache of 3 and 2 new tokens; it must not have frozen any of them.
        module, traced = self.traced()
        for batch, past, length in [(3, 0, 9), (1, 5, 1), (4, 7, 3)]:
            inputs = list(export.example_inputs(self.config, batch, past, length))
            inputs[0] = torch.randint(0, self.config.vocab_size, (batch, length))
            inputs[3:] = [torch.randn_like(tensor) for tensor in inputs[3:]]
            inputs[1][0, :2] = 0  # a left-padded row
            with torch.no_grad():
                expected, actual = module(*inputs), traced(*inputs)
            self.assertEqual(len(actual), 1 + 2 * self.config.n_layer)
            self.assertEqual(tuple(actual[1].shape), (batch, self.config.n_head, past + length, self.config.n_embd // self.config.n_head))
            for want, got in zip(expected, actual):
                torch.testing.assert_close(got, want)

    def test_decoding_with_the_cache_matches_the_full_forward(self):
        # Prefill on a left-padded batch, then one token at a time through the exported signature: the last
        # logits equal those of one forward over the whole sequences.
        _, traced = self.traced()
        ids = torch.randint(0, self.config.vocab_size, (2, 10))
        mask = torch.ones_like(ids)
        mask[1, :3] = 0
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        empty = export.example_inputs(self.config, batch=2, past=0, length=1)[3:]
        with torch.no_grad():
            full = self.policy.module(ids, attention_mask=mask).logits[:, -1]
            outputs = traced(ids[:, :6], mask[:, :6], positions[:, :6], *empty)
            for column in range(6, 10):
                outputs = traced(
                    ids[:, column : column + 1], mask[:, : column + 1], positions[:, column : column + 1], *outputs[1:]
                )
        torch.testing.assert_close(outputs[0][:, -1], full)

    @unittest.skipUnless(importlib.util.find_spec("onnx"), "skipped: the `onnx` package is not installed")
    def test_the_onnx_model_is_valid_with_optimum_names_and_dynamic_axes(self):
        import onnx

        model = onnx.load(self.path("onnx/model.onnx"))
        onnx.checker.check_model(model, full_check=True)

        def dims(value):
            return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

        heads, head_dim, vocab = self.config.n_head, self.config.n_embd // self.config.n_head, self.config.vocab_size
        past = ["batch_size", heads, "past_sequence_length", head_dim]
        present = ["batch_size", heads, "past_sequence_length + sequence_length", head_dim]
        expected = [
            ("input_ids", ["batch_size", "sequence_length"]),
            ("attention_mask", ["batch_size", "past_sequence_length + sequence_length"]),
            ("position_ids", ["batch_size", "sequence_length"]),
        ]
        expected += [(f"past_key_values.{i}.{kind}", past) for i in range(self.config.n_layer) for kind in ("key", "value")]
        expected += [("logits", ["batch_size", "sequence_length", vocab])]
        expected += [(f"present.{i}.{kind}", present) for i in range(self.config.n_layer) for kind in ("key", "value")]
        self.assertEqual([(value.name, dims(value)) for value in list(model.graph.input) + list(model.graph.output)], expected)


if __name__ == "__main__":
    unittest.main()
