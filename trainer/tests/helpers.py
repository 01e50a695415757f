"""Shared set-up for the worker tests: a tiny policy small enough that every test takes milliseconds."""

import json
import os
import subprocess
import sys
import tempfile

import torch

from serl_worker import models, train

TRAINER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_CONFIG = {"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 64}

torch.set_num_threads(1)


def tiny_policy(seed=0, reference=False, config=None):
    torch.manual_seed(seed)
    return models.load_tiny(None, dict(config or TINY_CONFIG), torch.device("cpu"), torch.float32, reference)


def adamw(policy, lr=1e-2):
    return torch.optim.AdamW(policy.trainable_parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.0)


def generator(seed=0):
    return torch.Generator().manual_seed(seed)


def kept(policy, prompt, completion):
    """A kept sample of a fixed completion, with its old log-probs from the current policy."""
    pair = (policy.tokenizer.encode_prompt(prompt), policy.tokenizer.encode_continuation(completion))
    (old,) = train.score(policy, [pair], micro_batch=1)
    return train.KeptSample(list(pair[0]), list(pair[1]), old)


def completion_logprob(policy, prompt, completion):
    pair = (policy.tokenizer.encode_prompt(prompt), policy.tokenizer.encode_continuation(completion))
    return float(train.score(policy, [pair], micro_batch=1)[0].sum())


class WorkerProcess:
    """The worker as the controller runs it: ``python -m serl_worker`` over pipes."""

    def __init__(self):
        env = dict(os.environ, SERL_WORKER_THREADS="1", PYTHONUNBUFFERED="1")
        # A file, not a pipe: nobody reads stderr while the test runs, and a full pipe would block the worker.
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "serl_worker"],
            cwd=TRAINER_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
        )
        self.notifications = []
        self._next_id = 0

    def send_line(self, line: str) -> None:
        self.process.stdin.write(line.encode("utf-8") + b"\n")
        self.process.stdin.flush()

    def read_message(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            self.stderr.seek(0)
            raise EOFError("the worker closed its stdout: " + self.stderr.read().decode(errors="replace"))
        return json.loads(line)

    def read_response(self) -> dict:
        """The next response, collecting the notifications before it."""
        while True:
            message = self.read_message()
            if "id" in message:
                return message
            self.notifications.append(message)

    def request(self, method, params=None) -> dict:
        self._next_id += 1
        message = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send_line(json.dumps(message))
        response = self.read_response()
        assert response["id"] == self._next_id, response
        return response

    def close(self) -> int:
        """Closes stdin (the worker exits at end of input) and reaps the process."""
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.stderr):
            if not stream.closed:
                stream.close()
        return self.process.returncode
