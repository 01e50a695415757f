"""Worker methods in process: results and the errors that are not about message framing."""

import io
import json
import math
import unittest

import torch

from helpers import TINY_CONFIG
from serl_worker.rpc import Connection, RpcError
from serl_worker.worker import Worker

INITIALIZE = {"model": {"kind": "tiny", "config": TINY_CONFIG}, "seed": 5, "optimizer": {"lr": 3e-2}}


def new_worker(**overrides):
    output = io.StringIO()
    worker = Worker(Connection(output, log_stream=io.StringIO()))
    worker.dispatch("initialize", {**INITIALIZE, **overrides})
    return worker, output


class WorkerMethodsTest(unittest.TestCase):
    def test_results_follow_the_requests_with_n_samples_each(self):
        worker, _ = new_worker()
        result = worker.dispatch(
            "sample",
            {
                "requests": [
                    {"id": 10, "prompt": "1+1=", "n": 3, "max_tokens": 4},
                    {"id": "x", "prompt": "22*2=", "n": 1, "max_tokens": 2, "temperature": 0},
                ]
            },
        )
        self.assertEqual([r["id"] for r in result["results"]], [10, "x"])
        self.assertEqual([r["prompt_tokens"] for r in result["results"]], [4, 5])
        self.assertEqual([len(r["samples"]) for r in result["results"]], [3, 1])
        for sample in result["results"][0]["samples"] + result["results"][1]["samples"]:
            self.assertIsNone(sample["sample_id"])  # not kept
            self.assertIn(sample["finish_reason"], ("eos", "length"))
        self.assertGreater(result["tokens_per_s"], 0)

    def test_a_sample_seed_reproduces_without_advancing_the_worker_generator(self):
        worker, _ = new_worker()
        request = {"requests": [{"id": 0, "prompt": "3*3=", "n": 4, "max_tokens": 6}]}
        seeded = [worker.dispatch("sample", {**request, "seed": 9})["results"] for _ in range(2)]
        self.assertEqual(seeded[0], seeded[1])
        unseeded = worker.dispatch("sample", request)["results"]
        fresh, _ = new_worker()
        self.assertEqual(fresh.dispatch("sample", request)["results"], unseeded)

    def test_supervised_warm_up_teaches_a_completion_and_its_end(self):
        worker, _ = new_worker()
        sft = {"examples": [{"prompt": "Q: 2+3=", "completion": "5"}], "micro_batch": 1, "max_grad_norm": 1.0}
        losses = [worker.dispatch("train_sft", sft)["loss"] for _ in range(40)]
        self.assertLess(losses[-1], 0.1 * losses[0])
        request = {"id": 0, "prompt": "Q: 2+3=", "max_tokens": 5, "temperature": 0}
        greedy = worker.dispatch("sample", {"requests": [request]})["results"][0]["samples"][0]
        self.assertEqual(greedy, {"sample_id": None, "text": "5", "tokens": 2, "finish_reason": "eos"})

    def test_learning_rate_is_set_per_step(self):
        worker, _ = new_worker()
        sft = {"examples": [{"prompt": "a", "completion": "b"}], "micro_batch": 1}
        self.assertEqual(worker.dispatch("train_sft", {**sft, "lr": 0.5})["lr"], 0.5)
        self.assertEqual(worker.dispatch("train_sft", sft)["lr"], 0.5)

    def test_release_forgets_kept_samples(self):
        worker, _ = new_worker()
        request = {"id": 0, "prompt": "1-1=", "n": 2, "max_tokens": 3}
        result = worker.dispatch("sample", {"requests": [request], "keep": True})
        ids = [s["sample_id"] for s in result["results"][0]["samples"]]
        self.assertEqual(worker.dispatch("release", {"sample_ids": ids[:1]}), {"released": 1, "kept": 1})
        step = {"batch": [{"sample_id": ids[0], "advantage": 1}], "loss": {"kind": "ppo-clip"}, "micro_batch": 1}
        with self.assertRaises(RpcError) as caught:
            worker.dispatch("train_step", step)
        self.assertEqual(caught.exception.code, -32003)

    def test_a_non_finite_loss_is_reported_and_the_weights_stay(self):
        worker, _ = new_worker()
        result = worker.dispatch("sample", {"requests": [{"id": 0, "prompt": "7+1=", "max_tokens": 3}], "keep": True})
        sample_id = result["results"][0]["samples"][0]["sample_id"]
        with torch.no_grad():
            worker.policy.module.ln_f.bias[3] = math.inf
        weights = [p.clone() for p in worker.policy.trainable_parameters()]
        step = {"batch": [{"sample_id": sample_id, "advantage": 1}], "loss": {"kind": "ppo-clip"}, "micro_batch": 1}
        with self.assertRaises(RpcError) as caught:
            worker.dispatch("train_step", step)
        self.assertEqual(caught.exception.code, -32004)
        self.assertEqual(worker.step, 0)
        for before, after in zip(weights, worker.policy.trainable_parameters()):
            self.assertTrue(torch.equal(before, after))

    def test_running_out_of_memory_is_its_own_error(self):
        worker = Worker(Connection(io.StringIO(), log_stream=io.StringIO()))
        huge = {**INITIALIZE, "model": {"kind": "tiny", "config": {**TINY_CONFIG, "block_size": 2**40}}}
        with self.assertRaises(RpcError) as caught:
            worker.dispatch("initialize", huge)
        self.assertEqual(caught.exception.code, -32001)
        self.assertIn("out of memory", caught.exception.message)
        worker.dispatch("initialize", INITIALIZE)  # nothing was half set up

    def test_the_tiny_model_refuses_chat_messages_and_lora(self):
        worker, _ = new_worker()
        chat = {"requests": [{"id": 0, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}]}
        with self.assertRaises(RpcError) as caught:
            worker.dispatch("sample", chat)
        self.assertEqual(caught.exception.data, {"path": "requests[0].messages"})
        with self.assertRaises(RpcError) as caught:
            Worker(Connection(io.StringIO())).dispatch(
                "initialize", {**INITIALIZE, "model": {"kind": "tiny", "lora": {"r": 4}}}
            )
        self.assertEqual(caught.exception.data, {"path": "model.lora"})

    def test_progress_reaches_done_equals_total(self):
        worker, output = new_worker()
        request = {"id": 0, "prompt": "1+1=", "n": 5, "max_tokens": 3}
        result = worker.dispatch("sample", {"requests": [request], "keep": True})
        batch = [{"sample_id": s["sample_id"], "advantage": 1} for s in result["results"][0]["samples"]]
        worker.dispatch("train_step", {"batch": batch, "loss": {"kind": "policy-gradient"}, "micro_batch": 2})
        messages = [json.loads(line) for line in output.getvalue().splitlines()]
        progress = [m["params"] for m in messages if m.get("method") == "progress"]
        self.assertIn({"method": "sample", "done": 5, "total": 5}, progress)
        self.assertIn({"method": "train_step", "done": 3, "total": 3}, progress)


if __name__ == "__main__":
    unittest.main()
