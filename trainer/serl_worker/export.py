"""ONNX export of the tiny GPT, for the in-editor backends (onnxruntime-node / Transformers.js).

Layout: ``DIR/config.json``, ``DIR/tokenizer.json``, ``DIR/tokenizer_config.json``, ``DIR/onnx/model.onnx``.
The graph is the forward without KV cache: ``input_ids``, ``attention_mask`` → ``logits``.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict
from typing import List

import torch
from torch import nn

from . import tiny_gpt

OPSET = 14


class _LogitsOnly(nn.Module):
    """The forward as ONNX sees it: tensors in, the logits tensor out."""

    def __init__(self, model: tiny_gpt.TinyGPT):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids, attention_mask=attention_mask).logits


def export_tiny_onnx(model: tiny_gpt.TinyGPT, chars: tiny_gpt.CharTokenizer, directory: str) -> List[str]:
    """Writes the export and returns the written paths, relative to ``directory``."""
    os.makedirs(os.path.join(directory, "onnx"), exist_ok=True)
    config = {
        "model_type": tiny_gpt.MODEL_TYPE,
        **asdict(model.config),
        "eos_token_id": chars.eos_id,
        "pad_token_id": chars.eos_id,
        "max_position_embeddings": model.config.block_size,
    }
    with open(os.path.join(directory, "config.json"), "w", encoding="utf-8") as file:
        json.dump(config, file, indent=2)
    with open(os.path.join(directory, "tokenizer.json"), "w", encoding="utf-8") as file:
        json.dump(chars.to_json(), file, ensure_ascii=False, indent=1)
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "eos_token": tiny_gpt.EOS_TOKEN,
        "pad_token": tiny_gpt.EOS_TOKEN,
        "model_max_length": model.config.block_size,
        "clean_up_tokenization_spaces": False,
    }
    with open(os.path.join(directory, "tokenizer_config.json"), "w", encoding="utf-8") as file:
        json.dump(tokenizer_config, file, indent=2)

    # A CPU float32 copy: the exported graph must not depend on where or how the policy is trained.
    exportable = _LogitsOnly(tiny_gpt.TinyGPT(model.config)).eval()
    exportable.model.load_state_dict({key: value.detach().float().cpu() for key, value in model.state_dict().items()})
    example = torch.zeros((1, 2), dtype=torch.long)
    dynamic = {0: "batch", 1: "sequence"}
    with warnings.catch_warnings(), torch.no_grad():
        # The tracer warns about Python-side checks (shapes, context length) that it freezes; they only
        # guard misuse and do not change the graph's arithmetic.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            exportable,
            (example, torch.ones_like(example)),
            os.path.join(directory, "onnx", "model.onnx"),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, "logits": dynamic},
            opset_version=OPSET,
        )
    return ["config.json", "tokenizer.json", "tokenizer_config.json", os.path.join("onnx", "model.onnx")]
