"""The worker's methods (PROTOCOL.md): params parsing, state (policy, optimizer, kept samples, RNG) and
the mapping of failures to protocol errors. Model operations live in sampling, train and checkpoint."""

from __future__ import annotations

import gc
import os
import random
import time
from typing import Any, Dict, List, Optional

import torch

from . import checkpoint, export, sampling, train
from .models import DTYPE_NAMES, Policy, PromptError, describe_device, load_hf, load_tiny, resolve_device, resolve_dtype
from .rpc import (
    ALREADY_INITIALIZED,
    METHOD_NOT_FOUND,
    NON_FINITE,
    NOT_INITIALIZED,
    OUT_OF_MEMORY,
    UNKNOWN_SAMPLE,
    Connection,
    InvalidParams,
    RpcError,
    ShutdownRequested,
)
from .schema import (
    any_of,
    array,
    boolean,
    exactly_one,
    id_value,
    integer,
    join,
    nullable,
    number,
    one_of,
    pair,
    record,
    string,
)

MAX_STOP_STRINGS = 8

_LORA = record(
    {
        "r": (integer(1), 16),
        "alpha": (number(above=0), 16.0),
        "dropout": (number(minimum=0, maximum=0.999), 0.0),
        "target_modules": (
            any_of('"all-linear" or a non-empty array of module names', one_of("all-linear"), array(string(True), 1)),
            "all-linear",
        ),
    }
)
_TINY_CONFIG = record(
    {
        "n_layer": (integer(1), 4),
        "n_head": (integer(1), 4),
        "n_embd": (integer(1), 128),
        "block_size": (integer(2), 256),
        "vocab": (string(True), None),
    }
)
_INITIALIZE = record(
    {
        "model": (
            record(
                {
                    "kind": (one_of("tiny", "hf"),),
                    "path": (string(True), None),
                    "dtype": (one_of("auto", "bfloat16", "float16", "float32"), "auto"),
                    "lora": (_LORA, None),
                    "config": (_TINY_CONFIG, None),
                }
            ),
        ),
        "device": (one_of("auto", "cuda", "cpu"), "auto"),
        "seed": (integer(0),),
        "optimizer": (
            record(
                {
                    "lr": (number(above=0),),
                    "betas": (pair(number(minimum=0, maximum=0.999999)), (0.9, 0.95)),
                    "weight_decay": (number(minimum=0), 0.0),
                    "eps": (number(above=0), 1e-8),
                }
            ),
        ),
        "reference": (boolean(), False),
        "max_batch_sequences": (integer(1), 64),
    }
)
_MESSAGE = record({"role": (one_of("system", "user", "assistant"),), "content": (string(),)})
_SAMPLE = record(
    {
        "requests": (
            array(
                record(
                    {
                        "id": (id_value(),),
                        "prompt": (string(), None),
                        "messages": (array(_MESSAGE, 1), None),
                        "n": (integer(1), 1),
                        "temperature": (number(minimum=0), 1.0),
                        "top_p": (number(above=0, maximum=1), 1.0),
                        "max_tokens": (integer(1),),
                        "stop": (array(string(True), 0, MAX_STOP_STRINGS), []),
                        "presence_penalty": (number(minimum=-2, maximum=2), 0.0),
                    }
                ),
                1,
            ),
        ),
        "keep": (boolean(), False),
        "seed": (integer(0), None),
    }
)
_OPTIMIZER_STEP_FIELDS = {
    "micro_batch": (integer(1),),
    "max_grad_norm": (nullable(number(above=0)), None),
    "lr": (number(above=0), None),
}
_TRAIN_STEP = record(
    {
        "batch": (array(record({"sample_id": (string(True),), "advantage": (number(),)}), 1),),
        "loss": (
            record(
                {
                    "kind": (one_of("ppo-clip", "policy-gradient"),),
                    "clip_eps": (number(above=0), 0.2),
                    "kl_coef": (number(minimum=0), 0.0),
                    "kl_estimator": (one_of("k1", "k2", "k3"), "k1"),
                    "kl_mode": (one_of("loss", "reward"), "loss"),
                }
            ),
        ),
        **_OPTIMIZER_STEP_FIELDS,
    }
)
_TRAIN_SFT = record(
    {
        "examples": (
            array(
                record({"prompt": (string(), None), "messages": (array(_MESSAGE, 1), None), "completion": (string(),)}),
                1,
            ),
        ),
        "add_eos": (boolean(), True),
        **_OPTIMIZER_STEP_FIELDS,
    }
)
_RELEASE = record({"sample_ids": (array(string(True)),)})
_DIRECTORY = record({"dir": (string(True),)})


def _out_of_memory(error: BaseException) -> bool:
    if isinstance(error, MemoryError):
        return True
    cuda_oom = getattr(torch.cuda, "OutOfMemoryError", None)
    if cuda_oom is not None and isinstance(error, cuda_oom):
        return True
    # PyTorch 1.x raises plain RuntimeErrors: "CUDA out of memory", "DefaultCPUAllocator: can't allocate memory".
    return isinstance(error, RuntimeError) and ("out of memory" in str(error) or "can't allocate memory" in str(error))


def _training_workload(pairs, micro_batch: int) -> str:
    longest = max(len(prompt) + len(response) for prompt, response in pairs)
    return f"{len(pairs)} sequences in micro-batches of {micro_batch}, up to {longest} tokens each"


class Worker:
    def __init__(self, connection: Connection):
        self.connection = connection
        self.policy: Optional[Policy] = None
        self.optimizer: Optional[torch.optim.Optimizer] = None
        self.generator: Optional[torch.Generator] = None
        self.max_batch = 64
        self.step = 0
        self.kept: Dict[str, train.KeptSample] = {}
        self.next_sample = 0
        # The sizes of the work in progress, for an out-of-memory error to name ("256 sequences in batches of 64, …").
        self.workload: Optional[str] = None
        self.methods = {
            "initialize": self.initialize,
            "sample": self.sample,
            "train_step": self.train_step,
            "train_sft": self.train_sft,
            "release": self.release,
            "save": self.save,
            "load": self.load,
            "export_onnx": self.export_onnx,
            "shutdown": self.shutdown,
        }

    def dispatch(self, method: str, params: Any) -> Any:
        handler = self.methods.get(method)
        if handler is None:
            raise RpcError(METHOD_NOT_FOUND, f"method not found: {method}", {"method": method})
        if isinstance(params, list):
            raise InvalidParams("", "must be an object (named parameters), not an array")
        self.workload = None
        try:
            return handler(params if params is not None else {})
        except Exception as error:
            if not _out_of_memory(error):
                raise
            device = str(self.policy.device) if self.policy is not None else "unknown"
            workload = f" ({self.workload})" if self.workload else ""
            self._recover_memory()
            raise RpcError(
                OUT_OF_MEMORY,
                f"out of memory on {device} during {method}{workload}: {error}. Lower micro_batch, "
                "max_batch_sequences, max_tokens, the prompt length or the number of samples",
                {"device": device, "method": method, "workload": self.workload},
            ) from None

    def _recover_memory(self) -> None:
        if self.optimizer is not None:
            self.optimizer.zero_grad(set_to_none=True)
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _require_policy(self) -> Policy:
        if self.policy is None:
            raise RpcError(NOT_INITIALIZED, "the worker is not initialized: call initialize first")
        return self.policy

    # -- methods -----------------------------------------------------------------------------------------

    def initialize(self, params):
        if self.policy is not None:
            message = "the worker is already initialized; start a new worker for another model"
            raise RpcError(ALREADY_INITIALIZED, message)
        p = _INITIALIZE(params, "")
        model = p["model"]
        if model["kind"] == "hf":
            if model["path"] is None:
                raise InvalidParams("model.path", "required for an hf model")
            if model["config"] is not None:
                raise InvalidParams("model.config", "only for a fresh tiny model; an hf model's config is in its path")
            if model["lora"] is not None and model["lora"]["dropout"] > 0:
                # The model always runs in eval mode (see load_hf), where peft's dropout does nothing.
                raise InvalidParams(
                    "model.lora.dropout",
                    "must be 0: the worker runs the model without dropout (the PPO ratio compares two forward "
                    "passes, which must agree), so a LoRA dropout would silently not apply",
                )
        else:
            if model["lora"] is not None:
                raise InvalidParams("model.lora", "LoRA is for hf models; the tiny model trains all weights")
            if model["config"] is not None and model["path"] is not None:
                raise InvalidParams("model.config", "give either path (load a model) or config (a fresh one), not both")
            if model["config"] is not None and model["config"]["n_embd"] % model["config"]["n_head"] != 0:
                raise InvalidParams("model.config.n_embd", "must be a multiple of n_head")
        try:
            device = resolve_device(p["device"])
        except ValueError as error:
            raise InvalidParams("device", str(error)) from None
        dtype = resolve_dtype(model["dtype"], device)

        random.seed(p["seed"])
        torch.manual_seed(p["seed"])  # also seeds every CUDA device; a fresh tiny model's init depends on it
        try:
            if model["kind"] == "tiny":
                config = model["config"]
                if config is not None:
                    config = {key: value for key, value in config.items() if value is not None}
                policy = load_tiny(model["path"], config, device, dtype, p["reference"])
            else:
                policy = load_hf(model["path"], model["lora"], device, dtype, p["reference"])
        except (OSError, ValueError) as error:
            raise InvalidParams("model.path" if model["path"] else "model", str(error)) from None

        optimizer_settings = p["optimizer"]
        self.optimizer = torch.optim.AdamW(
            policy.trainable_parameters(),
            lr=optimizer_settings["lr"],
            betas=optimizer_settings["betas"],
            weight_decay=optimizer_settings["weight_decay"],
            eps=optimizer_settings["eps"],
        )
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(p["seed"])
        self.max_batch = p["max_batch_sequences"]
        self.policy = policy
        params_total = sum(parameter.numel() for parameter in policy.module.parameters())
        trainable = sum(parameter.numel() for parameter in policy.trainable_parameters())
        self.connection.log(
            "info",
            f"{model['kind']} model on {describe_device(device)}, {DTYPE_NAMES[dtype]}: "
            f"{params_total:,} parameters, {trainable:,} trainable, context {policy.max_context}",
        )
        return {
            "device": describe_device(device),
            "dtype": DTYPE_NAMES[dtype],
            "params": params_total,
            "trainable_params": trainable,
            "max_context": policy.max_context,
            "eos": policy.tokenizer.eos_token,
        }

    def _prompt_ids(self, item: dict, path: str) -> List[int]:
        policy = self._require_policy()
        which = exactly_one(item, path, "prompt", "messages")
        try:
            if which == "prompt":
                ids = policy.tokenizer.encode_prompt(item["prompt"])
            else:
                ids = policy.tokenizer.encode_messages(item["messages"])
        except PromptError as error:
            raise InvalidParams(join(path, which), str(error)) from None
        if not ids:
            raise InvalidParams(join(path, which), "is empty: the model needs at least one prompt token")
        return ids

    def sample(self, params):
        policy = self._require_policy()
        p = _SAMPLE(params, "")
        specs: List[sampling.SampleSpec] = []
        prompt_lengths = []
        for index, request in enumerate(p["requests"]):
            path = join("requests", index)
            prompt_ids = self._prompt_ids(request, path)
            if len(prompt_ids) >= policy.max_context:
                which = "prompt" if request["prompt"] is not None else "messages"
                raise InvalidParams(
                    join(path, which),
                    f"is {len(prompt_ids)} tokens: no room for a response in the context of {policy.max_context}",
                )
            prompt_lengths.append(len(prompt_ids))
            spec = sampling.SampleSpec(
                prompt_ids=prompt_ids,
                max_tokens=request["max_tokens"],
                temperature=request["temperature"],
                top_p=request["top_p"],
                stop=request["stop"],
                presence_penalty=request["presence_penalty"],
            )
            specs.extend([spec] * request["n"])

        generator = self.generator
        if p["seed"] is not None:
            generator = torch.Generator(device=policy.device)
            generator.manual_seed(p["seed"])
        self.workload = (
            f"{len(specs)} sequences in batches of {self.max_batch}, prompts of up to {max(prompt_lengths)} tokens, "
            f"up to {max(spec.max_tokens for spec in specs)} new tokens each"
        )
        started = time.perf_counter()
        report = self.connection.progress_reporter("sample", len(specs))
        completions = sampling.generate(policy, specs, generator, self.max_batch, report)
        elapsed = time.perf_counter() - started

        sample_ids: List[Optional[str]] = [None] * len(completions)
        if p["keep"]:
            pairs = [(spec.prompt_ids, completion.response_ids) for spec, completion in zip(specs, completions)]
            old_logprobs = train.score(policy, pairs, self.max_batch)
            for index, (spec, completion) in enumerate(zip(specs, completions)):
                sample_id = f"s{self.next_sample}"
                self.next_sample += 1
                self.kept[sample_id] = train.KeptSample(spec.prompt_ids, completion.response_ids, old_logprobs[index])
                sample_ids[index] = sample_id

        results = []
        position = 0
        for request, prompt_length in zip(p["requests"], prompt_lengths):
            samples = []
            for _ in range(request["n"]):
                completion = completions[position]
                samples.append(
                    {
                        "sample_id": sample_ids[position],
                        "text": completion.text,
                        "tokens": len(completion.response_ids),
                        "finish_reason": completion.finish_reason,
                    }
                )
                position += 1
            results.append({"id": request["id"], "prompt_tokens": prompt_length, "samples": samples})
        generated = sum(len(completion.response_ids) for completion in completions)
        return {"results": results, "tokens_per_s": generated / elapsed if elapsed > 0 else 0.0}

    def _before_update(self, p) -> None:
        if p["lr"] is not None:
            train.set_learning_rate(self.optimizer, p["lr"])

    def _update(self, stats: dict, max_grad_norm) -> dict:
        try:
            grad_norm = train.apply_update(self.policy, self.optimizer, stats["loss"], max_grad_norm)
        except train.NonFiniteUpdate as error:
            raise RpcError(NON_FINITE, str(error), {"loss": error.loss, "grad_norm": error.grad_norm}) from None
        self.step += 1
        return {**stats, "grad_norm": grad_norm, "step": self.step, "lr": self.optimizer.param_groups[0]["lr"]}

    def train_step(self, params):
        policy = self._require_policy()
        p = _TRAIN_STEP(params, "")
        loss = train.LossSettings(**p["loss"])
        if loss.kl_coef > 0 and policy.reference_forward is None:
            raise InvalidParams("loss.kl_coef", "a KL penalty needs a reference model: initialize with reference: true")
        batch = []
        seen = set()
        for index, item in enumerate(p["batch"]):
            path = join(join("batch", index), "sample_id")
            sample_id = item["sample_id"]
            if sample_id in seen:
                raise InvalidParams(path, f"{sample_id!r} appears twice in the batch")
            seen.add(sample_id)
            sample = self.kept.get(sample_id)
            if sample is None:
                raise RpcError(
                    UNKNOWN_SAMPLE,
                    f"{path}: unknown sample_id {sample_id!r} (not sampled with keep, or released)",
                    {"path": path, "sample_id": sample_id},
                )
            batch.append((sample, item["advantage"]))
        self._before_update(p)
        self.workload = _training_workload([(s.prompt_ids, s.response_ids) for s, _ in batch], p["micro_batch"])
        micro_batches = -(-len(batch) // p["micro_batch"])
        report = self.connection.progress_reporter("train_step", micro_batches)
        try:
            stats = train.accumulate_policy_gradient(policy, batch, loss, p["micro_batch"], report)
        except BaseException:
            self.optimizer.zero_grad(set_to_none=True)
            raise
        clipped = stats.pop("clip_fraction")
        result = self._update(stats, p["max_grad_norm"])
        result["clip_fraction"] = clipped
        return result

    def train_sft(self, params):
        policy = self._require_policy()
        p = _TRAIN_SFT(params, "")
        examples = []
        for index, example in enumerate(p["examples"]):
            path = join("examples", index)
            prompt_ids = self._prompt_ids(example, path)
            try:
                completion_ids = policy.tokenizer.encode_continuation(example["completion"])
            except PromptError as error:
                raise InvalidParams(join(path, "completion"), str(error)) from None
            if p["add_eos"]:
                completion_ids = completion_ids + [min(policy.tokenizer.eos_ids)]
            if not completion_ids:
                raise InvalidParams(join(path, "completion"), "is empty and add_eos is false: nothing to learn")
            if len(prompt_ids) + len(completion_ids) > policy.max_context:
                length = len(prompt_ids) + len(completion_ids)
                raise InvalidParams(path, f"is {length} tokens, beyond the context of {policy.max_context}")
            examples.append((prompt_ids, completion_ids))
        self._before_update(p)
        self.workload = _training_workload(examples, p["micro_batch"])
        report = self.connection.progress_reporter("train_sft", -(-len(examples) // p["micro_batch"]))
        try:
            stats = train.accumulate_supervised(policy, examples, p["micro_batch"], report)
        except BaseException:
            self.optimizer.zero_grad(set_to_none=True)
            raise
        return self._update(stats, p["max_grad_norm"])

    def release(self, params):
        self._require_policy()
        p = _RELEASE(params, "")
        released = sum(1 for sample_id in p["sample_ids"] if self.kept.pop(sample_id, None) is not None)
        return {"released": released, "kept": len(self.kept)}

    def save(self, params):
        policy = self._require_policy()
        p = _DIRECTORY(params, "")
        checkpoint.save(p["dir"], policy.kind, policy.save_weights, self.optimizer, self.step, self.generator)
        return {"dir": os.path.abspath(p["dir"]), "step": self.step}

    def load(self, params):
        policy = self._require_policy()
        p = _DIRECTORY(params, "")
        try:
            self.step = checkpoint.load(p["dir"], policy.kind, policy.load_weights, self.optimizer, self.generator)
        except (ValueError, FileNotFoundError) as error:  # CheckpointMismatch, a different architecture
            raise InvalidParams("dir", str(error)) from None
        return {"dir": os.path.abspath(p["dir"]), "step": self.step}

    def export_onnx(self, params):
        policy = self._require_policy()
        p = _DIRECTORY(params, "")
        if policy.kind != "tiny":
            raise InvalidParams("", "export_onnx exports the tiny model only; export an hf model with its own tools")
        files = export.export_tiny_onnx(policy.module, policy.tokenizer.chars, p["dir"])
        return {"dir": os.path.abspath(p["dir"]), "files": files}

    def shutdown(self, params):
        if params:
            raise InvalidParams("", "shutdown takes no params")
        raise ShutdownRequested(None)
