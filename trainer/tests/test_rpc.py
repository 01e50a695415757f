"""The worker as a process: the JSON-RPC loop survives bad messages and exits cleanly."""

import json
import tempfile
import unittest

from helpers import TINY_CONFIG, WorkerProcess

INITIALIZE = {"model": {"kind": "tiny", "config": TINY_CONFIG}, "seed": 1, "optimizer": {"lr": 1e-3}}


class RpcLoopTest(unittest.TestCase):
    """One worker process for the whole class: each check also shows the loop is still serving."""

    @classmethod
    def setUpClass(cls):
        cls.worker = WorkerProcess()

    @classmethod
    def tearDownClass(cls):
        cls.worker.close()

    def request(self, method, params=None):
        return self.worker.request(method, params)

    def raw(self, line):
        self.worker.send_line(line)
        return self.worker.read_response()

    def test_1_a_model_method_before_initialize_is_refused(self):
        response = self.request("sample", {"requests": [{"id": 1, "prompt": "1+1=", "max_tokens": 3}]})
        self.assertEqual(response["error"]["code"], -32002)
        self.assertIn("initialize", response["error"]["message"])

    def test_2_bad_json_gets_a_parse_error_with_null_id(self):
        response = self.raw('{"jsonrpc": "2.0", "id": 7, "method": "sam')
        self.assertEqual(response["id"], None)
        self.assertEqual(response["error"]["code"], -32700)
        self.worker.process.stdin.write(b"\xff\xfe not utf-8\n")
        self.worker.process.stdin.flush()
        self.assertEqual(self.worker.read_response()["error"]["code"], -32700)

    def test_3_invalid_requests(self):
        cases = {
            "[]": None,
            '"a string"': None,
            '{"jsonrpc": "1.0", "id": 3, "method": "release"}': 3,
            '{"jsonrpc": "2.0", "id": 4, "method": 12}': 4,
            '{"jsonrpc": "2.0", "id": 6, "params": {}}': 6,
            '{"jsonrpc": "2.0", "id": {"no": 1}, "method": "release"}': None,
            '{"jsonrpc": "2.0", "id": 5, "method": "release", "params": 3}': 5,
        }
        for line, expected_id in cases.items():
            with self.subTest(line=line):
                response = self.raw(line)
                self.assertEqual(response["error"]["code"], -32600)
                self.assertEqual(response["id"], expected_id)

    def test_4_unknown_method(self):
        response = self.request("logprobs", {})
        self.assertEqual(response["error"]["code"], -32601)
        self.assertEqual(response["error"]["data"], {"method": "logprobs"})

    def test_5_notifications_get_no_answer(self):
        self.worker.send_line(json.dumps({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 1}}))
        self.assertEqual(self.request("unknown")["error"]["code"], -32601)  # the next answer is this request's

    def test_6_missing_and_wrong_params_name_the_field(self):
        response = self.request("initialize", {"model": {"kind": "tiny"}, "optimizer": {"lr": 1e-3}})
        self.assertEqual(response["error"]["code"], -32602)
        self.assertEqual(response["error"]["data"], {"path": "seed"})
        self.assertIn("seed: required", response["error"]["message"])
        response = self.request("initialize", {**INITIALIZE, "optimizer": {"lr": -1}})
        self.assertEqual(response["error"]["data"], {"path": "optimizer.lr"})
        lora = {"r": 4, "alpha": 8, "dropout": 0.1, "target_modules": "all-linear"}
        response = self.request("initialize", {**INITIALIZE, "model": {"kind": "hf", "path": "gpt2", "lora": lora}})
        self.assertEqual(response["error"]["data"], {"path": "model.lora.dropout"})
        self.assertIn("silently not apply", response["error"]["message"])
        response = self.request("initialize", {**INITIALIZE, "optimiser": {}})
        self.assertEqual(response["error"]["data"], {"path": "optimiser"})
        self.assertIn("unknown key", response["error"]["message"])

    def test_7_initialize_then_errors_inside_methods(self):
        result = self.request("initialize", INITIALIZE)["result"]
        self.assertEqual(result["device"], "cpu")
        self.assertEqual(result["max_context"], TINY_CONFIG["block_size"])
        self.assertTrue(any(n["method"] == "log" for n in self.worker.notifications))
        self.assertEqual(self.request("initialize", INITIALIZE)["error"]["code"], -32005)

        response = self.request("sample", {"requests": [{"id": "q", "prompt": "1+1=", "max_tokens": 0}]})
        self.assertEqual(response["error"]["data"], {"path": "requests[0].max_tokens"})
        response = self.request("sample", {"requests": [{"id": "q", "prompt": "x", "messages": [], "max_tokens": 2}]})
        self.assertEqual(response["error"]["data"]["path"], "requests[0].messages")
        response = self.request("sample", {"requests": [{"id": "q", "prompt": "naïve", "max_tokens": 2}]})
        self.assertEqual(response["error"]["data"], {"path": "requests[0].prompt"})
        self.assertIn("'ï'", response["error"]["message"])
        too_long = "1" * TINY_CONFIG["block_size"]
        response = self.request("sample", {"requests": [{"id": "q", "prompt": too_long, "max_tokens": 2}]})
        self.assertEqual(response["error"]["data"], {"path": "requests[0].prompt"})

        train = {"batch": [{"sample_id": "s999", "advantage": 1}], "loss": {"kind": "ppo-clip"}, "micro_batch": 1}
        response = self.request("train_step", train)
        self.assertEqual(response["error"]["code"], -32003)
        self.assertEqual(response["error"]["data"], {"path": "batch[0].sample_id", "sample_id": "s999"})

        sampled = self.request(
            "sample", {"requests": [{"id": "q", "prompt": "2+2=", "n": 2, "max_tokens": 4}], "keep": True}
        )["result"]
        ids = [s["sample_id"] for s in sampled["results"][0]["samples"]]
        self.assertEqual(sampled["results"][0]["id"], "q")
        self.assertTrue(all(isinstance(sample_id, str) for sample_id in ids))
        progress = [n["params"] for n in self.worker.notifications if n["method"] == "progress"]
        self.assertIn({"method": "sample", "done": 2, "total": 2}, progress)

        with_kl = {
            **train,
            "batch": [{"sample_id": ids[0], "advantage": 1}],
            "loss": {"kind": "ppo-clip", "kl_coef": 0.1},
        }
        response = self.request("train_step", with_kl)
        self.assertEqual(response["error"]["data"], {"path": "loss.kl_coef"})  # no reference model
        response = self.request("train_step", {**with_kl, "loss": {"kind": "ppo-clip"}})
        self.assertEqual(response["result"]["step"], 1)
        self.assertEqual(self.request("release", {"sample_ids": ids + ["s999"]})["result"], {"released": 2, "kept": 0})
        with tempfile.TemporaryDirectory() as directory:
            response = self.request("load", {"dir": directory})
            self.assertEqual(response["error"]["code"], -32602)
            self.assertIn("not a worker checkpoint", response["error"]["message"])

    def test_8_end_of_input_exits_0(self):
        self.assertEqual(self.worker.close(), 0)


class OutOfMemoryTest(unittest.TestCase):
    def test_an_allocation_the_host_refuses_is_a_clear_error_and_the_worker_serves_on(self):
        # A real out-of-memory: the prefill of a 1M-token prompt needs a 1M × 1M attention mask (1 TB), which
        # the kernel refuses at once (no machine has that much memory plus swap).
        length = 1 << 20
        config = {"n_layer": 1, "n_head": 1, "n_embd": 8, "block_size": length + 8}
        worker = WorkerProcess()
        try:
            initialize = {"model": {"kind": "tiny", "config": config}, "seed": 0, "optimizer": {"lr": 1e-3}}
            self.assertIn("result", worker.request("initialize", initialize))
            huge = {"requests": [{"id": 0, "prompt": "1" * length, "n": 2, "max_tokens": 4}]}
            error = worker.request("sample", huge)["error"]
            self.assertEqual(error["code"], -32001, error)
            self.assertEqual(error["data"]["method"], "sample")
            self.assertEqual(error["data"]["device"], "cpu")
            self.assertIn(f"prompts of up to {length} tokens", error["message"])
            small = {"requests": [{"id": 1, "prompt": "1+1=", "max_tokens": 3}]}
            self.assertEqual(len(worker.request("sample", small)["result"]["results"]), 1)
        finally:
            worker.close()


class ShutdownTest(unittest.TestCase):
    def test_shutdown_replies_then_exits_0(self):
        worker = WorkerProcess()
        try:
            self.assertEqual(worker.request("shutdown", {})["result"], None)
            self.assertEqual(worker.process.wait(timeout=20), 0)
        finally:
            worker.close()


if __name__ == "__main__":
    unittest.main()
