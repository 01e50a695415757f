"""The Hugging Face path, on a small Llama built from a config (no downloads). Runs where `transformers`
is installed (and `peft` for LoRA); elsewhere these tests are skipped and say so."""

import importlib.util
import io
import json
import os
import tempfile
import unittest

import torch

from serl_worker import tiny_gpt
from serl_worker.rpc import Connection
from serl_worker.worker import Worker

HAS_TRANSFORMERS = importlib.util.find_spec("transformers") is not None
HAS_PEFT = importlib.util.find_spec("peft") is not None
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


def build_llama(directory):
    """A 2-layer Llama with the tiny model's character tokenizer, saved as a Hugging Face model directory."""
    import transformers

    chars = tiny_gpt.CharTokenizer()
    tokenizer_file = os.path.join(directory, "tokenizer.json")
    with open(tokenizer_file, "w", encoding="utf-8") as file:
        json.dump(chars.to_json(), file)
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_file=tokenizer_file, eos_token=tiny_gpt.EOS_TOKEN, pad_token=tiny_gpt.EOS_TOKEN
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(directory)
    config = transformers.LlamaConfig(
        vocab_size=chars.vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        bos_token_id=None,
        eos_token_id=chars.eos_id,
        pad_token_id=chars.eos_id,
    )
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(config).save_pretrained(directory)


@unittest.skipUnless(HAS_TRANSFORMERS, "skipped: the Python package `transformers` is not installed")
class HuggingFaceModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)
        cls.directory = tempfile.TemporaryDirectory()
        cls.model_dir = os.path.join(cls.directory.name, "llama")
        os.makedirs(cls.model_dir)
        build_llama(cls.model_dir)

    @classmethod
    def tearDownClass(cls):
        cls.directory.cleanup()

    def worker(self, **model):
        worker = Worker(Connection(io.StringIO(), log_stream=io.StringIO()))
        result = worker.dispatch(
            "initialize",
            {
                "model": {"kind": "hf", "path": self.model_dir, "dtype": "float32", **model},
                "device": "cpu",
                "seed": 3,
                "optimizer": {"lr": 1e-2},
                "reference": True,
            },
        )
        return worker, result

    def test_sample_with_prompts_and_chat_messages_then_train(self):
        worker, info = self.worker()
        self.assertEqual(info["max_context"], 128)
        self.assertEqual(info["params"], info["trainable_params"])
        sampled = worker.dispatch(
            "sample",
            {
                "requests": [
                    {"id": "p", "prompt": "1+2=", "n": 2, "max_tokens": 6},
                    {"id": "m", "messages": [{"role": "user", "content": "2+2?"}], "n": 2, "max_tokens": 6},
                ],
                "keep": True,
            },
        )
        samples = [s for result in sampled["results"] for s in result["samples"]]
        self.assertEqual(len(samples), 4)
        batch = [{"sample_id": s["sample_id"], "advantage": 1.0 - i} for i, s in enumerate(samples)]
        trained = worker.dispatch(
            "train_step",
            {"batch": batch, "loss": {"kind": "ppo-clip", "kl_coef": 0.01, "kl_estimator": "k3"}, "micro_batch": 3},
        )
        self.assertEqual(trained["clip_fraction"], 0.0)
        self.assertEqual(trained["kl"], 0.0)
        self.assertGreater(trained["grad_norm"], 0.0)

    def test_greedy_samples_do_not_depend_on_the_batch_padding(self):
        worker, _ = self.worker()
        prompts = ["1+1=", "a much longer prompt 12*12="]

        def greedy(requests):
            result = worker.dispatch("sample", {"requests": requests})
            return [r["samples"][0]["text"] for r in result["results"]]

        requests = [{"id": i, "prompt": p, "max_tokens": 8, "temperature": 0} for i, p in enumerate(prompts)]
        self.assertEqual(greedy(requests), greedy(requests[:1]) + greedy(requests[1:]))

    def test_cached_greedy_samples_equal_recomputing_the_whole_sequence(self):
        worker, _ = self.worker()
        policy = worker.policy
        prompts = ["1+1=", "a much longer prompt 12*12=", "1+1="]  # a repeated prompt shares its prefill
        requests = [{"id": i, "prompt": p, "max_tokens": 6 + 3 * i, "temperature": 0} for i, p in enumerate(prompts)]
        result = worker.dispatch("sample", {"requests": requests, "keep": True})
        for request, entry in zip(requests, result["results"]):
            ids = policy.tokenizer.encode_prompt(request["prompt"])
            expected = []
            with torch.no_grad():
                for _ in range(request["max_tokens"]):
                    token = int(policy.module(input_ids=torch.tensor([ids])).logits[0, -1].argmax())
                    expected.append(token)
                    ids.append(token)
                    if token in policy.tokenizer.eos_ids:
                        break
            kept = worker.kept[entry["samples"][0]["sample_id"]]
            self.assertEqual(kept.response_ids, expected, request["prompt"])

    def test_checkpoint_round_trip_is_exact(self):
        worker, _ = self.worker()
        checkpoint = os.path.join(self.directory.name, "hf-ckpt")
        sft = {"examples": [{"prompt": "3+3=", "completion": "6"}], "micro_batch": 1}
        worker.dispatch("train_sft", sft)
        worker.dispatch("save", {"dir": checkpoint})
        sample = {"requests": [{"id": 1, "prompt": "4+4=", "max_tokens": 5}]}
        first = (worker.dispatch("train_sft", sft), worker.dispatch("sample", sample)["results"])
        worker.dispatch("load", {"dir": checkpoint})
        second = (worker.dispatch("train_sft", sft), worker.dispatch("sample", sample)["results"])
        self.assertEqual(second, first)

    @unittest.skipUnless(HAS_PEFT, "skipped: the Python package `peft` is not installed")
    def test_lora_trains_adapters_only_and_round_trips(self):
        worker, info = self.worker(lora={"r": 4, "alpha": 8, "dropout": 0, "target_modules": ["q_proj", "v_proj"]})
        self.assertLess(info["trainable_params"], info["params"] // 4)
        request = {"id": 0, "prompt": "5+5=", "n": 2, "max_tokens": 4}
        sampled = worker.dispatch("sample", {"requests": [request], "keep": True})
        ids = [s["sample_id"] for s in sampled["results"][0]["samples"]]
        step = {
            "batch": [{"sample_id": ids[0], "advantage": 1.0}, {"sample_id": ids[1], "advantage": -1.0}],
            "loss": {"kind": "ppo-clip", "kl_coef": 0.1, "kl_estimator": "k3"},
            "micro_batch": 2,
        }
        self.assertEqual(worker.dispatch("train_step", step)["kl"], 0.0)  # adapters start as the identity
        checkpoint = os.path.join(self.directory.name, "lora-ckpt")
        worker.dispatch("save", {"dir": checkpoint})
        saved = os.listdir(os.path.join(checkpoint, "model"))
        self.assertIn("adapter_config.json", saved)
        self.assertFalse([name for name in saved if name.startswith("model") and "safetensors" in name], saved)
        state = torch.load(os.path.join(checkpoint, "trainer_state.pt"), weights_only=True)
        moments = sum(moment["exp_avg"].numel() for moment in state["optimizer_state"].values())
        self.assertEqual(moments, info["trainable_params"])  # the optimizer holds the adapters' state only
        first = worker.dispatch("train_step", step)
        worker.dispatch("load", {"dir": checkpoint})
        self.assertEqual(worker.dispatch("train_step", step), first)


if __name__ == "__main__":
    unittest.main()
