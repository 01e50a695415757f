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
        cls.directory = tempfile.TemporaryDirectory()
        cls.files = export.export_tiny_onnx(cls.policy.module, cls.policy.tokenizer.chars, cls.directory.name)

    @classmethod
    def tearDownClass(cls):
        cls.directory.cleanup()

    def path(self, name):
        return os.path.join(self.directory.name, name)

    def test_layout_config_and_tokenizer(self):
        self.assertEqual(self.files, ["config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"])
        for name in self.files:
            self.assertTrue(os.path.isfile(self.path(name)), name)
        with open(self.path("config.json")) as file:
            config = json.load(file)
        self.assertEqual(config["eos_token_id"], self.policy.tokenizer.chars.eos_id)
        self.assertEqual(config["vocab_size"], self.policy.tokenizer.chars.vocab_size)
        with open(self.path("tokenizer.json")) as file:
            chars = tiny_gpt.CharTokenizer.from_json(json.load(file), "tokenizer.json")
        self.assertEqual(chars.chars, self.policy.tokenizer.chars.chars)

    def test_the_traced_forward_generalises_to_other_shapes(self):
        # torch.onnx.export records the graph with this tracer from a [1, 2] example; the graph must not
        # have frozen that shape.
        module = export._LogitsOnly(self.policy.module).eval()
        example = torch.zeros((1, 2), dtype=torch.long)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(module, (example, torch.ones_like(example)))
            ids = torch.randint(0, 90, (3, 9))
            mask = torch.ones_like(ids)
            mask[0, :4] = 0
            torch.testing.assert_close(traced(ids, mask), module(ids, mask))

    @unittest.skipUnless(importlib.util.find_spec("onnx"), "skipped: the `onnx` package is not installed")
    def test_the_onnx_model_is_valid_with_dynamic_batch_and_sequence(self):
        import onnx

        model = onnx.load(self.path("onnx/model.onnx"))
        onnx.checker.check_model(model, full_check=True)

        def dims(value):
            return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

        self.assertEqual(
            [(value.name, dims(value)) for value in list(model.graph.input) + list(model.graph.output)],
            [
                ("input_ids", ["batch", "sequence"]),
                ("attention_mask", ["batch", "sequence"]),
                ("logits", ["batch", "sequence", self.policy.tokenizer.chars.vocab_size]),
            ],
        )


if __name__ == "__main__":
    unittest.main()
