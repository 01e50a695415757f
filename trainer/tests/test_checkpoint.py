import io
import json
import os
import random
import tempfile
import unittest

import torch

from helpers import TINY_CONFIG
from serl_worker.rpc import Connection, RpcError
from serl_worker.worker import Worker

INITIALIZE = {
    "model": {"kind": "tiny", "config": TINY_CONFIG},
    "seed": 21,
    "optimizer": {"lr": 1e-2},
    "reference": True,
}
SAMPLE = {
    "requests": [
        {"id": "a", "prompt": "1+2=", "n": 3, "max_tokens": 8, "temperature": 1.0},
        {"id": "b", "prompt": "4*4=", "n": 2, "max_tokens": 8, "temperature": 0.7, "top_p": 0.9},
    ],
    "keep": True,
}


def new_worker():
    worker = Worker(Connection(io.StringIO(), log_stream=io.StringIO()))
    worker.dispatch("initialize", INITIALIZE)
    return worker


def step_a(worker):
    """One SeRL-like step: sample, train on the samples, sample again, plus a draw from each RNG."""
    sampled = worker.dispatch("sample", SAMPLE)
    samples = [s for result in sampled["results"] for s in result["samples"]]
    batch = [{"sample_id": s["sample_id"], "advantage": 1.0 if i % 2 else -0.5} for i, s in enumerate(samples)]
    trained = worker.dispatch(
        "train_step",
        {
            "batch": batch,
            "loss": {"kind": "ppo-clip", "kl_coef": 0.01, "kl_estimator": "k3"},
            "micro_batch": 2,
            "max_grad_norm": 1.0,
        },
    )
    worker.dispatch("release", {"sample_ids": [s["sample_id"] for s in samples]})
    after = worker.dispatch("sample", {**SAMPLE, "keep": False})
    texts = [[s["text"] for s in result["samples"]] for result in sampled["results"] + after["results"]]
    return texts, trained, random.random(), torch.rand(3).tolist()


class CheckpointTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.checkpoint = os.path.join(self.directory.name, "step-1")

    def tearDown(self):
        self.directory.cleanup()

    def test_save_step_load_step_gives_identical_results(self):
        worker = new_worker()
        step_a(worker)  # optimizer moments and RNG away from their initial states
        worker.dispatch("save", {"dir": self.checkpoint})
        first = step_a(worker)
        weights = {name: value.clone() for name, value in worker.policy.module.state_dict().items()}
        loaded = worker.dispatch("load", {"dir": self.checkpoint})
        self.assertEqual(loaded["step"], 1)
        second = step_a(worker)
        self.assertEqual(second, first)
        for name, value in worker.policy.module.state_dict().items():
            self.assertTrue(torch.equal(value, weights[name]), name)

    def test_a_fresh_worker_resumes_exactly_from_the_checkpoint(self):
        worker = new_worker()
        step_a(worker)
        worker.dispatch("save", {"dir": self.checkpoint})
        continued = step_a(worker)
        resumed_worker = new_worker()
        resumed_worker.dispatch("load", {"dir": self.checkpoint})
        self.assertEqual(step_a(resumed_worker), continued)

    def test_saving_over_a_checkpoint_replaces_it_and_leaves_no_staging_directories(self):
        worker = new_worker()
        worker.dispatch("save", {"dir": self.checkpoint})
        step_a(worker)
        worker.dispatch("save", {"dir": self.checkpoint})
        self.assertEqual(os.listdir(self.directory.name), ["step-1"])
        with open(os.path.join(self.checkpoint, "checkpoint.json")) as file:
            self.assertEqual(json.load(file)["step"], 1)

    def test_a_tiny_checkpoint_starts_a_new_model(self):
        worker = new_worker()
        step_a(worker)
        worker.dispatch("save", {"dir": self.checkpoint})
        started = Worker(Connection(io.StringIO(), log_stream=io.StringIO()))
        started.dispatch("initialize", {**INITIALIZE, "model": {"kind": "tiny", "path": self.checkpoint}})
        for name, value in started.policy.module.state_dict().items():
            self.assertTrue(torch.equal(value, worker.policy.module.state_dict()[name]), name)

    def test_loading_another_architecture_or_a_non_checkpoint_names_dir(self):
        worker = new_worker()
        worker.dispatch("save", {"dir": self.checkpoint})
        other = Worker(Connection(io.StringIO(), log_stream=io.StringIO()))
        other.dispatch("initialize", {**INITIALIZE, "model": {"kind": "tiny", "config": {**TINY_CONFIG, "n_layer": 1}}})
        for directory in (self.checkpoint, self.directory.name):
            with self.subTest(directory=directory), self.assertRaises(RpcError) as caught:
                other.dispatch("load", {"dir": directory})
            self.assertEqual(caught.exception.code, -32602)
            self.assertEqual(caught.exception.data, {"path": "dir"})


if __name__ == "__main__":
    unittest.main()
