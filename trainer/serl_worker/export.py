"""ONNX export of the tiny GPT with a KV cache, in the layout Transformers.js loads for decoder-only models.

Layout (optimum's ``text-generation-with-past`` export, which Transformers.js reads):
``DIR/config.json``, ``DIR/generation_config.json``, ``DIR/tokenizer.json``, ``DIR/tokenizer_config.json``,
``DIR/onnx/model.onnx``. The graph's inputs are ``input_ids``, ``attention_mask`` (cached + new tokens),
``position_ids`` and ``past_key_values.{i}.key`` / ``.value`` (``[batch, n_head, past, head_dim]``, past may be
0); its outputs ``logits`` and ``present.{i}.key`` / ``.value``.

The tiny GPT is GPT-2's architecture (learned positions, pre-LayerNorm with eps 1e-5, tied embeddings), with
exact GELU where GPT-2 uses the tanh approximation: config.json says ``model_type: "gpt2"`` with
``activation_function: "gelu"``, which describes it exactly, so Transformers.js runs it as a GPT-2. The graph
carries the arithmetic; the config only tells a loader the cache's shape, the context and the special tokens.
"""

from __future__ import annotations

import inspect
import json
import os
import warnings
from typing import List

import torch
from torch import nn

from . import tiny_gpt

OPSET = 14
ONNX_MODEL = os.path.join("onnx", "model.onnx")
FILES = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", ONNX_MODEL]


def input_names(n_layer: int) -> List[str]:
    past = [f"past_key_values.{i}.{kind}" for i in range(n_layer) for kind in ("key", "value")]
    return ["input_ids", "attention_mask", "position_ids", *past]


def output_names(n_layer: int) -> List[str]:
    return ["logits", *(f"present.{i}.{kind}" for i in range(n_layer) for kind in ("key", "value"))]


class _GraphCache:
    """The model's cache interface (``get_seq_length``, ``update``) over the graph's ``past_key_values`` inputs:
    ``update`` concatenates and keeps the result as the layer's ``present`` output. The worker's KVCache writes
    into preallocated buffers instead, which has no form where the cache is the graph's input and output."""

    def __init__(self, past):
        self.past = past
        self.present = [None] * len(past)

    def get_seq_length(self, layer: int = 0):
        return self.past[layer][0].size(2)

    def update(self, layer: int, key, value):
        past_key, past_value = self.past[layer]
        self.present[layer] = (torch.cat([past_key, key], dim=2), torch.cat([past_value, value], dim=2))
        return self.present[layer]


class _WithCache(nn.Module):
    """The forward as ONNX sees it: flat tensors in (the cache as one key and one value per layer), flat out."""

    def __init__(self, model: tiny_gpt.TinyGPT):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *past_flat):
        cache = _GraphCache([(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)])
        output = self.model(
            input_ids, attention_mask=attention_mask, position_ids=position_ids, past_key_values=cache, use_cache=True
        )
        return (output.logits, *(tensor for layer in cache.present for tensor in layer))


def exportable_copy(model: tiny_gpt.TinyGPT) -> _WithCache:
    """A CPU float32 copy: the exported graph must not depend on where or how the policy is trained."""
    copy = _WithCache(tiny_gpt.TinyGPT(model.config)).eval()
    copy.model.load_state_dict({key: value.detach().float().cpu() for key, value in model.state_dict().items()})
    return copy


def example_inputs(config: tiny_gpt.TinyGPTConfig, batch: int = 2, past: int = 3, length: int = 2):
    """Inputs with a non-empty cache, so that the tracer sees the cache's length as a size, not as zero, and
    more than one new token, so that the traced forward keeps its causal mask (prefill needs it)."""
    head_dim = config.n_embd // config.n_head
    input_ids = torch.zeros((batch, length), dtype=torch.long)
    attention_mask = torch.ones((batch, past + length), dtype=torch.long)
    position_ids = torch.arange(past, past + length, dtype=torch.long).expand(batch, length)
    cache = [torch.zeros((batch, config.n_head, past, head_dim)) for _ in range(2 * config.n_layer)]
    return (input_ids, attention_mask, position_ids, *cache)


def _dynamic_axes(n_layer: int) -> dict:
    tokens = {0: "batch_size", 1: "sequence_length"}
    axes = {
        "input_ids": tokens,
        "position_ids": tokens,
        "attention_mask": {0: "batch_size", 1: "past_sequence_length + sequence_length"},
        "logits": tokens,
    }
    for name in input_names(n_layer)[3:]:
        axes[name] = {0: "batch_size", 2: "past_sequence_length"}
    for name in output_names(n_layer)[1:]:
        axes[name] = {0: "batch_size", 2: "past_sequence_length + sequence_length"}
    return axes


def _write_json(path: str, value) -> None:
    with open(path, "w", encoding="utf-8") as file:
        json.dump(value, file, ensure_ascii=False, indent=1)


def export_tiny_onnx(model: tiny_gpt.TinyGPT, chars: tiny_gpt.CharTokenizer, directory: str) -> List[str]:
    """Writes the export and returns the written paths, relative to ``directory``."""
    config = model.config
    os.makedirs(os.path.join(directory, "onnx"), exist_ok=True)
    _write_json(
        os.path.join(directory, "config.json"),
        {
            "model_type": "gpt2",
            "architectures": ["GPT2LMHeadModel"],
            "vocab_size": config.vocab_size,
            "n_layer": config.n_layer,
            "n_head": config.n_head,
            "n_embd": config.n_embd,
            "n_positions": config.block_size,
            "n_ctx": config.block_size,
            "n_inner": 4 * config.n_embd,
            "activation_function": "gelu",
            "layer_norm_epsilon": 1e-5,
            "tie_word_embeddings": True,
            "bos_token_id": chars.eos_id,
            "eos_token_id": chars.eos_id,
            "pad_token_id": chars.eos_id,
            "use_cache": True,
            # Where the export came from: the worker's checkpoints say model_type "serl-tiny-gpt".
            "serl_source_model_type": tiny_gpt.MODEL_TYPE,
        },
    )
    _write_json(
        os.path.join(directory, "generation_config.json"),
        {"bos_token_id": chars.eos_id, "eos_token_id": chars.eos_id, "pad_token_id": chars.eos_id},
    )
    _write_json(os.path.join(directory, "tokenizer.json"), chars.to_json())
    _write_json(
        os.path.join(directory, "tokenizer_config.json"),
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "eos_token": tiny_gpt.EOS_TOKEN,
            "pad_token": tiny_gpt.EOS_TOKEN,
            "model_max_length": config.block_size,
            "padding_side": "left",
            "clean_up_tokenization_spaces": False,
        },
    )

    options = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        # PyTorch 2.x: the TorchScript exporter, whose dynamic_axes this export is written for (2.9+ would
        # otherwise pick the dynamo exporter).
        options["dynamo"] = False
    with warnings.catch_warnings(), torch.no_grad():
        # The tracer warns about Python-side checks (shapes, context length) that it freezes; they only
        # guard misuse and do not change the graph's arithmetic.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            exportable_copy(model),
            example_inputs(config),
            os.path.join(directory, ONNX_MODEL),
            input_names=input_names(config.n_layer),
            output_names=output_names(config.n_layer),
            dynamic_axes=_dynamic_axes(config.n_layer),
            opset_version=OPSET,
            **options,
        )
    return list(FILES)
