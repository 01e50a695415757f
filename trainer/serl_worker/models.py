"""Loading the policy (and its frozen reference): the built-in tiny GPT or a Hugging Face causal LM.

``transformers`` and ``peft`` are imported only on the Hugging Face path, so the tiny path needs torch alone.
Both paths give a ``Policy``: the module with the HF-like forward, a tokenizer adapter, the reference, and
the weight save/load used by checkpoints.
"""

from __future__ import annotations

import abc
import contextlib
import copy
import inspect
import os
from dataclasses import dataclass
from typing import Callable, ContextManager, Dict, FrozenSet, List, Optional, Sequence

import torch
from torch import nn

from . import tiny_gpt

DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}
DTYPE_NAMES = {dtype: name for name, dtype in DTYPES.items()}


class PromptError(ValueError):
    """A prompt the model cannot take (a character outside the vocabulary, no chat template)."""


class Tokenizer(abc.ABC):
    """What the worker needs from a tokenizer, whichever model it belongs to."""

    eos_ids: FrozenSet[int]
    pad_id: int
    eos_token: str

    @abc.abstractmethod
    def encode_prompt(self, text: str) -> List[int]:
        """Tokens of a prompt, with the special tokens a sequence starts with (e.g. BOS)."""

    @abc.abstractmethod
    def encode_messages(self, messages: Sequence[dict]) -> List[int]:
        """Tokens of a chat, through the chat template, ending with the assistant's generation prompt."""

    @abc.abstractmethod
    def encode_continuation(self, text: str) -> List[int]:
        """Tokens of text that follows a prompt (a completion): no special tokens added."""

    @abc.abstractmethod
    def decode(self, ids: Sequence[int]) -> str:
        """Text of tokens, without special tokens."""

    def decode_appended(self, ids: Sequence[int], text: str) -> str:
        """``decode(ids)``, given ``text == decode(ids[:-1])``. A token may change how earlier ones decode
        (byte-level pieces, leading spaces), so by default this decodes everything again."""
        return self.decode(ids)


class TinyTokenizer(Tokenizer):
    def __init__(self, chars: tiny_gpt.CharTokenizer):
        self.chars = chars
        self.eos_ids = frozenset([chars.eos_id])
        self.pad_id = chars.eos_id
        self.eos_token = tiny_gpt.EOS_TOKEN

    def encode_prompt(self, text):
        try:
            return self.chars.encode(text)
        except tiny_gpt.TokenizeError as error:
            raise PromptError(str(error)) from None

    def encode_messages(self, messages):
        raise PromptError("the tiny model has no chat template: send a prompt string")

    def encode_continuation(self, text):
        return self.encode_prompt(text)

    def decode(self, ids):
        return self.chars.decode(ids)

    def decode_appended(self, ids, text):
        return text + self.chars.decode(ids[-1:])  # one character per token: decoding is additive


class HfTokenizer(Tokenizer):
    def __init__(self, tokenizer, generation_eos):
        self.tokenizer = tokenizer
        eos = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
        # Chat models often end turns with a token other than eos (Llama 3: <|eot_id|>), listed in the
        # generation config.
        if isinstance(generation_eos, int):
            eos.add(generation_eos)
        elif isinstance(generation_eos, (list, tuple)):
            eos.update(int(token) for token in generation_eos)
        if not eos:
            raise ValueError("the tokenizer and the generation config name no end-of-sequence token")
        self.eos_ids = frozenset(eos)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(eos)
        self.eos_token = tokenizer.eos_token or tokenizer.convert_ids_to_tokens(min(eos))

    def encode_prompt(self, text):
        return list(self.tokenizer(text, add_special_tokens=True)["input_ids"])

    def encode_messages(self, messages):
        if not getattr(self.tokenizer, "chat_template", None):
            raise PromptError("the tokenizer has no chat template: send a prompt string")
        # return_dict: transformers 5 returns a BatchEncoding by default, 4.x a list unless asked.
        encoded = self.tokenizer.apply_chat_template(
            list(messages), add_generation_prompt=True, tokenize=True, return_dict=True
        )
        return list(encoded["input_ids"])

    def encode_continuation(self, text):
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids):
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)


@dataclass
class Policy:
    kind: str
    module: nn.Module  # the trainable model; its forward is HF-like
    tokenizer: Tokenizer
    max_context: int
    device: torch.device
    compute_dtype: torch.dtype
    # Runs the reference model's forward: None without a reference.
    reference_forward: Optional[Callable[..., object]]
    save_weights: Callable[[str], None]
    load_weights: Callable[[str], None]
    # An empty KV cache for decoding ``(batch, capacity)`` sequences; None lets the model make its own.
    new_cache: Callable[[int, int], object]
    # The forward's argument that computes the logits of the last n positions only (transformers'
    # logits_to_keep, earlier num_logits_to_keep); None where the model has none. A prompt's full
    # [batch, length, vocab] logits can take gigabytes and most of an LM head's time.
    logits_to_keep_argument: Optional[str] = None

    def last_logits(self, count: int) -> Dict[str, int]:
        """Forward arguments asking for at least the last ``count`` positions' logits (maybe all of them)."""
        return {self.logits_to_keep_argument: count} if self.logits_to_keep_argument else {}

    def autocast(self) -> ContextManager:
        if self.compute_dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.compute_dtype)

    def trainable_parameters(self) -> List[nn.Parameter]:
        return [parameter for parameter in self.module.parameters() if parameter.requires_grad]


def resolve_device(requested: str) -> torch.device:
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but PyTorch sees no CUDA device")
    if requested == "cpu" or (requested == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda", torch.cuda.current_device())


def resolve_dtype(requested: str, device: torch.device) -> torch.dtype:
    if requested != "auto":
        return DTYPES[requested]
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def _frozen(module: nn.Module) -> nn.Module:
    module.eval()
    module.requires_grad_(False)
    return module


def tiny_model_directory(path: str) -> str:
    """A checkpoint from ``save`` holds the model in ``model/``; a model directory is used as is."""
    nested = os.path.join(path, "model")
    return nested if os.path.isfile(os.path.join(nested, tiny_gpt.CONFIG_FILE)) else path


def load_tiny(path: Optional[str], config: Optional[dict], device, dtype, reference: bool) -> Policy:
    if path is not None:
        module, chars = tiny_gpt.TinyGPT.from_pretrained(tiny_model_directory(path))
    else:
        settings = dict(config or {})
        chars = tiny_gpt.CharTokenizer(settings.pop("vocab", tiny_gpt.DEFAULT_VOCAB))
        module = tiny_gpt.TinyGPT(tiny_gpt.TinyGPTConfig(vocab_size=chars.vocab_size, **settings))
    module.to(device)  # trainable weights stay float32 (see PROTOCOL.md, dtype)
    module.eval()  # the tiny GPT has no dropout; eval() documents that no layer behaves differently
    frozen = _frozen(copy.deepcopy(module).to(dtype)) if reference else None

    def save_weights(directory):
        module.save_pretrained(directory, chars)

    def load_weights(directory):
        saved = tiny_gpt.read_config(directory)
        if saved != module.config:
            raise ValueError(f"{directory}: checkpoint architecture {saved} differs from the model's {module.config}")
        module.load_state_dict(tiny_gpt.load_weights(os.path.join(directory, tiny_gpt.WEIGHTS_FILE)))

    return Policy(
        kind="tiny",
        module=module,
        tokenizer=TinyTokenizer(chars),
        max_context=module.config.block_size,
        device=device,
        compute_dtype=dtype,
        reference_forward=frozen,
        save_weights=save_weights,
        load_weights=load_weights,
        new_cache=lambda batch, capacity: tiny_gpt.KVCache(module.config, batch, capacity, dtype, device),
        logits_to_keep_argument="logits_to_keep",
    )


def load_hf(path: str, lora: Optional[dict], device, dtype, reference: bool) -> Policy:
    try:
        import transformers
    except ImportError:
        raise ValueError("model.kind 'hf' needs the Python package transformers, which is not installed") from None

    def from_pretrained(directory, weights_dtype):
        # transformers 4.56 renamed torch_dtype to dtype (and warns on the old name).
        major, minor = (int(part) for part in transformers.__version__.split(".")[:2])
        keyword = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
        return transformers.AutoModelForCausalLM.from_pretrained(directory, **{keyword: weights_dtype})

    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    # Trainable weights in float32 (autocast computes in `dtype`); a LoRA base is frozen, so it is stored in
    # `dtype` and only the adapters are float32.
    module = from_pretrained(path, dtype if lora is not None else torch.float32)
    module.to(device)
    # Dropout off: the PPO ratio compares two forward passes that must agree when the weights have not moved.
    module.eval()
    generation_eos = getattr(getattr(module, "generation_config", None), "eos_token_id", None)
    hf_tokenizer = HfTokenizer(tokenizer, generation_eos)

    if lora is not None:
        try:
            import peft
        except ImportError:
            raise ValueError("model.lora needs the Python package peft, which is not installed") from None
        lora_config = peft.LoraConfig(
            r=lora["r"],
            lora_alpha=lora["alpha"],
            lora_dropout=lora["dropout"],
            target_modules=lora["target_modules"],
            task_type="CAUSAL_LM",
        )
        module = peft.get_peft_model(module, lora_config)
        module.eval()
        for parameter in module.parameters():
            if parameter.requires_grad:
                parameter.data = parameter.data.float()

        def reference_forward(*args, **kwargs):
            with module.disable_adapter():
                return module(*args, **kwargs)

        def load_weights(directory):
            from peft.utils import load_peft_weights, set_peft_model_state_dict

            set_peft_model_state_dict(module, load_peft_weights(directory, device=str(device)))

        frozen_forward = reference_forward if reference else None
    else:
        frozen = None
        if reference:
            frozen = _frozen(from_pretrained(path, dtype).to(device))

        def load_weights(directory):
            saved = from_pretrained(directory, torch.float32)
            module.load_state_dict(saved.state_dict())

        frozen_forward = frozen

    def save_weights(directory):  # LoRA: the adapter only
        module.save_pretrained(directory)
        tokenizer.save_pretrained(directory)

    base = module.get_base_model() if lora is not None else module
    config = base.config
    accepted = inspect.signature(base.forward).parameters
    keep_argument = next((name for name in ("logits_to_keep", "num_logits_to_keep") if name in accepted), None)
    max_context = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
    if max_context is None:
        max_context = tokenizer.model_max_length
    return Policy(
        kind="hf",
        module=module,
        tokenizer=hf_tokenizer,
        max_context=int(max_context),
        device=device,
        compute_dtype=dtype,
        reference_forward=frozen_forward,
        save_weights=save_weights,
        load_weights=load_weights,
        # An explicit Cache object: given None (or a tuple), transformers 4.x converts the cache from and to the
        # legacy tuple format around every forward, copying all of it each token.
        new_cache=lambda batch, capacity: transformers.DynamicCache() if hasattr(transformers, "DynamicCache") else None,
        logits_to_keep_argument=keep_argument,
    )
