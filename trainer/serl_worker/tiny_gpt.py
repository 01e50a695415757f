"""A tiny character-level GPT in one file (after karpathy/nanoGPT), pure PyTorch.

Its forward mirrors a Hugging Face causal LM — ``model(input_ids, attention_mask=None, position_ids=None,
past_key_values=None, use_cache=False)`` returning ``.logits`` and ``.past_key_values`` — so the worker's
sampling and training code serves this model and ``transformers`` models alike.

There is no dropout: the policy-gradient ratio compares log-probs of two forward passes, which must agree
exactly when the weights have not changed.
"""

from __future__ import annotations

import json
import math
import os
import string
from dataclasses import asdict, dataclass, fields
from typing import List, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import nn
from torch.nn import functional as F

MODEL_TYPE = "serl-tiny-gpt"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.pt"
TOKENIZER_FILE = "tokenizer.json"
EOS_TOKEN = "<|eos|>"
DEFAULT_VOCAB = "".join(ch for ch in string.printable if ch not in "\t\r\x0b\x0c")  # printable ASCII + "\n"


class TokenizeError(ValueError):
    """A text holds a character that the tokenizer's vocabulary lacks."""


class CharTokenizer:
    """One token per character, plus an end-of-sequence token (id ``len(chars)``)."""

    def __init__(self, chars: str = DEFAULT_VOCAB):
        if len(set(chars)) != len(chars):
            raise ValueError("tokenizer vocabulary has repeated characters")
        if not chars:
            raise ValueError("tokenizer vocabulary is empty")
        self.chars = chars
        self._ids = {ch: i for i, ch in enumerate(chars)}
        self.eos_id = len(chars)
        self.vocab_size = len(chars) + 1

    def encode(self, text: str) -> List[int]:
        ids = []
        for position, ch in enumerate(text):
            token = self._ids.get(ch)
            if token is None:
                raise TokenizeError(f"character {ch!r} (U+{ord(ch):04X}) at index {position} is not in the vocabulary")
            ids.append(token)
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.chars[i] for i in ids if i != self.eos_id)

    def to_json(self) -> dict:
        """A Hugging Face ``tokenizer.json``: BPE without merges is exactly one token per character, and
        the Fuse decoder joins tokens without spaces, so ``tokenizers`` and Transformers.js read it too."""
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {
                    "id": self.eos_id,
                    "content": EOS_TOKEN,
                    "single_word": False,
                    "lstrip": False,
                    "rstrip": False,
                    "normalized": False,
                    "special": True,
                }
            ],
            "normalizer": None,
            "pre_tokenizer": None,
            "post_processor": None,
            "decoder": {"type": "Fuse"},
            "model": {
                "type": "BPE",
                "dropout": None,
                "unk_token": None,
                "continuing_subword_prefix": None,
                "end_of_word_suffix": None,
                "fuse_unk": False,
                "byte_fallback": False,
                "vocab": {**self._ids, EOS_TOKEN: self.eos_id},
                "merges": [],
            },
        }

    @classmethod
    def from_json(cls, data: dict, source: str) -> "CharTokenizer":
        try:
            vocab = data["model"]["vocab"]
            merges = data["model"].get("merges", [])
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{source}: not a tokenizer.json (missing {error})") from None
        if merges or not isinstance(vocab, dict):
            raise ValueError(f"{source}: not a character-level tokenizer (it has merges)")
        by_id = sorted((token_id, token) for token, token_id in vocab.items() if token != EOS_TOKEN)
        if [token_id for token_id, _ in by_id] != list(range(len(by_id))) or vocab.get(EOS_TOKEN) != len(by_id):
            raise ValueError(f"{source}: token ids must be 0..n-1 for the characters and n for {EOS_TOKEN}")
        if any(len(token) != 1 for _, token in by_id):
            raise ValueError(f"{source}: every token but {EOS_TOKEN} must be one character")
        return cls("".join(token for _, token in by_id))


@dataclass
class TinyGPTConfig:
    vocab_size: int
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 256

    def __post_init__(self):
        if self.n_embd % self.n_head != 0:
            raise ValueError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})")


class CausalLMOutput(NamedTuple):
    logits: torch.Tensor
    past_key_values: Optional["KVCache"]


class KVCache:
    """Keys and values of every layer, ``[batch, heads, capacity, head_dim]``, written in place (no ``torch.cat``
    per token). Sampling allocates it for prompt + max_tokens; a forward that outgrows it doubles it. The
    method names follow ``transformers``' ``Cache`` so the sampler treats both alike."""

    def __init__(self, config: "TinyGPTConfig", batch: int, capacity: int, dtype: torch.dtype, device):
        head_dim = config.n_embd // config.n_head
        shape = (batch, config.n_head, capacity, head_dim)
        self.keys = [torch.empty(shape, dtype=dtype, device=device) for _ in range(config.n_layer)]
        self.values = [torch.empty(shape, dtype=dtype, device=device) for _ in range(config.n_layer)]
        self.lengths = [0] * config.n_layer

    def get_seq_length(self, layer: int = 0) -> int:
        return self.lengths[layer]

    def update(self, layer: int, key: torch.Tensor, value: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Appends ``key``/``value`` (``[batch, heads, new, head_dim]``) to ``layer``; returns all of its keys/values."""
        start = self.lengths[layer]
        end = start + key.size(2)
        if end > self.keys[layer].size(2):
            self.keys[layer] = self._grown(self.keys[layer], start, end)
            self.values[layer] = self._grown(self.values[layer], start, end)
        self.keys[layer][:, :, start:end] = key
        self.values[layer][:, :, start:end] = value
        self.lengths[layer] = end
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]

    @staticmethod
    def _grown(buffer: torch.Tensor, filled: int, needed: int) -> torch.Tensor:
        batch, heads, capacity, head_dim = buffer.shape
        grown = buffer.new_empty((batch, heads, max(needed, 2 * capacity), head_dim))
        grown[:, :, :filled] = buffer[:, :, :filled]
        return grown

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        """Keeps rows ``indices`` (in that order; repeats allowed): drops finished rows, or expands one prompt
        into its samples. Whole rows are copied, unfilled capacity included: one contiguous copy per row is
        faster than gathering the filled part."""
        for layer in range(len(self.lengths)):
            self.keys[layer] = self.keys[layer].index_select(0, indices)
            self.values[layer] = self.values[layer].index_select(0, indices)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: TinyGPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.proj = nn.Linear(config.n_embd, config.n_embd)

    def forward(self, x, allowed, cache: Optional[KVCache], layer: int):
        batch, length, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=2)
        q, k, v = (t.view(batch, length, self.n_head, width // self.n_head).transpose(1, 2) for t in (q, k, v))
        if cache is not None:
            k, v = cache.update(layer, k, v)
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        # A finite floor, not -inf: a padding query that may attend to nothing gets a uniform (ignored)
        # row instead of NaNs that would spread through the batch.
        scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
        y = F.softmax(scores, dim=-1) @ v
        y = y.transpose(1, 2).reshape(batch, length, width)
        return self.proj(y)


class Block(nn.Module):
    def __init__(self, config: TinyGPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(config.n_embd, 4 * config.n_embd), nn.GELU(), nn.Linear(4 * config.n_embd, config.n_embd)
        )

    def forward(self, x, allowed, cache, layer):
        x = x + self.attn(self.ln_1(x), allowed, cache, layer)
        return x + self.mlp(self.ln_2(x))


class TinyGPT(nn.Module):
    def __init__(self, config: TinyGPTConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.apply(self._init_weights)
        # GPT-2's scaled init of the residual projections keeps the residual stream's variance flat in depth.
        for name, parameter in self.named_parameters():
            if name.endswith("attn.proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(parameter, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(
        self, input_ids, attention_mask=None, position_ids=None, past_key_values=None, use_cache=False, logits_to_keep=0
    ):
        """``attention_mask`` (1 = token, 0 = padding) covers the cached and the new tokens, as in
        ``transformers``; positions count real tokens only, so left-padded prompts work. ``past_key_values``
        is a ``KVCache`` (made here when ``use_cache`` and none is given), updated in place and returned.
        ``logits_to_keep`` > 0 computes the logits of the last that many positions only."""
        batch, length = input_ids.shape
        cache = past_key_values
        if cache is None and use_cache:
            cache = KVCache(self.config, batch, length, self.wte.weight.dtype, input_ids.device)
        past_length = cache.get_seq_length() if cache is not None else 0
        total = past_length + length
        if attention_mask is None:
            attention_mask = torch.ones(batch, total, dtype=torch.long, device=input_ids.device)
        if attention_mask.shape != (batch, total):
            raise ValueError(f"attention_mask has shape {tuple(attention_mask.shape)}, expected {(batch, total)}")
        if position_ids is None:
            position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)[:, past_length:]
        if int(position_ids.max()) >= self.config.block_size:
            raise ValueError(f"position {int(position_ids.max())} is beyond the context of {self.config.block_size}")

        allowed = attention_mask.bool()[:, None, None, :]
        if length > 1:  # one new token may attend to every cached one: no causal part
            causal = torch.ones(length, total, dtype=torch.bool, device=input_ids.device).tril(diagonal=past_length)
            allowed = allowed & causal[None, None]
        x = self.wte(input_ids) + self.wpe(position_ids)
        for layer, block in enumerate(self.blocks):
            x = block(x, allowed, cache, layer)
        if logits_to_keep > 0:
            x = x[:, -logits_to_keep:]
        logits = F.linear(self.ln_f(x), self.wte.weight)  # tied input/output embeddings, as in GPT-2
        return CausalLMOutput(logits=logits, past_key_values=cache if use_cache else None)

    def save_pretrained(self, directory: str, tokenizer: CharTokenizer) -> None:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, CONFIG_FILE), "w", encoding="utf-8") as file:
            json.dump({"model_type": MODEL_TYPE, **asdict(self.config)}, file, indent=2)
        with open(os.path.join(directory, TOKENIZER_FILE), "w", encoding="utf-8") as file:
            json.dump(tokenizer.to_json(), file, ensure_ascii=False, indent=1)
        torch.save(self.state_dict(), os.path.join(directory, WEIGHTS_FILE))

    @classmethod
    def from_pretrained(cls, directory: str) -> Tuple["TinyGPT", CharTokenizer]:
        config = read_config(directory)
        tokenizer_path = os.path.join(directory, TOKENIZER_FILE)
        with open(tokenizer_path, encoding="utf-8") as file:
            tokenizer = CharTokenizer.from_json(json.load(file), tokenizer_path)
        if tokenizer.vocab_size != config.vocab_size:
            raise ValueError(
                f"{directory}: tokenizer has {tokenizer.vocab_size} tokens, config.json says {config.vocab_size}"
            )
        model = cls(config)
        model.load_state_dict(load_weights(os.path.join(directory, WEIGHTS_FILE)))
        return model, tokenizer


def read_config(directory: str) -> TinyGPTConfig:
    path = os.path.join(directory, CONFIG_FILE)
    with open(path, encoding="utf-8") as file:
        data = json.load(file)
    if not isinstance(data, dict) or data.get("model_type") != MODEL_TYPE:
        raise ValueError(f"{path}: not a tiny GPT config (model_type must be {MODEL_TYPE!r})")
    names = {field.name for field in fields(TinyGPTConfig)}
    # A setting this model does not implement (dropout, bias, …) would be dropped without a word and the
    # weights run differently from how they were trained: refuse it instead.
    unknown = sorted(key for key in data if key not in names and key != "model_type")
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(unknown)}; the tiny GPT reads {', '.join(sorted(names))}")
    bad = [name for name in names if not isinstance(data.get(name), int) or isinstance(data.get(name), bool)]
    if bad:
        raise ValueError(f"{path}: {', '.join(sorted(bad))} must be integers")
    return TinyGPTConfig(**{name: data[name] for name in names})


def load_weights(path: str):
    return torch.load(path, map_location="cpu", weights_only=True)
