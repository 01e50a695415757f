"""Batched generation with a KV cache: temperature, top-p, presence penalty, stop strings, max_tokens.

Prompts are left-padded so every row's next token sits in the last column; positions count real tokens
only. All randomness comes from the ``torch.Generator`` passed in, so a seeded generator and the same
specs give the same samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

import torch
from torch.nn import functional as F

from .models import Policy


@dataclass
class SampleSpec:
    prompt_ids: List[int]
    max_tokens: int
    temperature: float = 1.0  # 0 = greedy
    top_p: float = 1.0
    stop: Sequence[str] = ()
    presence_penalty: float = 0.0


@dataclass
class Completion:
    response_ids: List[int]  # generated tokens, including the eos or the tokens that completed a stop string
    text: str  # without the eos and without the stop string
    finish_reason: str  # "eos" | "stop" | "length"


def generate(
    policy: Policy,
    specs: Sequence[SampleSpec],
    generator: torch.Generator,
    max_batch: int,
    on_progress: Optional[Callable[[int], None]] = None,
) -> List[Completion]:
    completions: List[Completion] = []
    with torch.no_grad(), policy.autocast():
        for start in range(0, len(specs), max_batch):
            completions.extend(_generate_batch(policy, specs[start : start + max_batch], generator))
            if on_progress is not None:
                on_progress(len(completions))
    return completions


def select_rows(cache, indices: torch.Tensor):
    """The cache with only batch rows ``indices`` (repeats allowed): the worker's ``KVCache`` and
    ``transformers``' ``DynamicCache`` select in place; a legacy tuple of (key, value) pairs (transformers
    before 4.36, or a cache class without the method) is rebuilt."""
    if hasattr(cache, "batch_select_indices"):
        cache.batch_select_indices(indices)
        return cache
    return tuple(tuple(tensor[indices] for tensor in layer) for layer in cache)


# Finished rows are dropped from the batch once they are this share of it: each drop copies the live rows'
# cache, so dropping on every finish would cost more than computing a few idle rows.
COMPACT_SHARE = 0.25


def _generate_batch(policy: Policy, specs: Sequence[SampleSpec], generator: torch.Generator) -> List[Completion]:
    device, tokenizer = policy.device, policy.tokenizer
    rows = len(specs)
    # Samples of one prompt share its prefill: each distinct prompt runs once, then its cache is copied.
    prompt_of: Dict[tuple, int] = {}
    row_prompt = [prompt_of.setdefault(tuple(spec.prompt_ids), len(prompt_of)) for spec in specs]
    prompts = [list(key) for key in prompt_of]
    width = max(len(prompt) for prompt in prompts)
    limits = [min(spec.max_tokens, policy.max_context - len(spec.prompt_ids)) for spec in specs]
    capacity = width + max(limits)

    input_ids = torch.full((len(prompts), width), tokenizer.pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(prompts), capacity), dtype=torch.long)
    for index, prompt in enumerate(prompts):
        input_ids[index, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
        attention_mask[index, width - len(prompt) : width] = 1
    input_ids, attention_mask = input_ids.to(device), attention_mask.to(device)
    position_ids = (attention_mask[:, :width].cumsum(-1) - 1).clamp(min=0)
    output = policy.module(
        input_ids=input_ids,
        attention_mask=attention_mask[:, :width],
        position_ids=position_ids,
        past_key_values=policy.new_cache(len(prompts), capacity),
        use_cache=True,
        **policy.last_logits(1),
    )
    expand = torch.tensor(row_prompt, device=device)
    past = select_rows(output.past_key_values, expand)
    logits = output.logits[:, -1, :].float()[expand]
    attention_mask = attention_mask[expand]
    position_ids = torch.tensor([[len(spec.prompt_ids)] for spec in specs], device=device)

    temperature = torch.tensor([spec.temperature for spec in specs], device=device)
    greedy = temperature == 0
    temperature = torch.where(greedy, torch.ones_like(temperature), temperature)
    top_p = torch.tensor([spec.top_p for spec in specs], device=device)
    penalty = torch.tensor([spec.presence_penalty for spec in specs], device=device)
    # [rows, vocab]: tokens already in each response (presence penalty)
    seen = torch.zeros(logits.shape, dtype=torch.bool, device=device) if bool((penalty != 0).any()) else None

    states = [_Row(spec, limit) for spec, limit in zip(specs, limits)]
    finished: List[Optional[Completion]] = [None] * rows
    batch_rows = list(range(rows))  # the spec row of each row of the batch tensors
    idle = 0  # finished rows still in the batch
    length = width
    for _ in range(max(limits)):
        if seen is not None:
            logits = logits - penalty[:, None] * seen
        tokens = _choose(logits, temperature, greedy, top_p, generator)
        if seen is not None:
            seen[torch.arange(len(batch_rows), device=device), tokens] = True
        for row, token in zip(batch_rows, tokens.tolist()):
            if finished[row] is not None:
                continue
            finished[row] = states[row].add(token, tokenizer)
            idle += finished[row] is not None
        if idle == len(batch_rows):
            break
        if idle >= COMPACT_SHARE * len(batch_rows):
            live = [index for index, row in enumerate(batch_rows) if finished[row] is None]
            keep = torch.tensor(live, device=device)
            past = select_rows(past, keep)
            tokens, attention_mask, position_ids = tokens[keep], attention_mask[keep], position_ids[keep]
            temperature, greedy, top_p, penalty = temperature[keep], greedy[keep], top_p[keep], penalty[keep]
            seen = seen[keep] if seen is not None else None
            batch_rows = [batch_rows[index] for index in live]
            idle = 0

        attention_mask[:, length] = 1
        length += 1
        output = policy.module(
            input_ids=tokens[:, None],
            attention_mask=attention_mask[:, :length],
            position_ids=position_ids,
            past_key_values=past,
            use_cache=True,
        )
        past = output.past_key_values
        logits = output.logits[:, -1, :].float()
        # Idle rows keep being fed until they are dropped; clamping keeps their positions in range.
        position_ids = (position_ids + 1).clamp(max=policy.max_context - 1)
    return [completion for completion in finished if completion is not None]


def _choose(logits, temperature, greedy, top_p, generator) -> torch.Tensor:
    if bool(greedy.all()):
        return logits.argmax(dim=-1)
    probs = F.softmax(logits / temperature[:, None], dim=-1)
    if bool((top_p < 1).any()):
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        # Keep the smallest set of most likely tokens whose mass reaches top_p (the first one always).
        outside = (sorted_probs.cumsum(dim=-1) - sorted_probs) >= top_p[:, None]
        outside &= (top_p < 1)[:, None]
        sorted_probs = sorted_probs.masked_fill(outside, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    sampled = torch.multinomial(probs, 1, generator=generator).squeeze(1)
    return torch.where(greedy, logits.argmax(dim=-1), sampled)


class _Row:
    """One sequence being generated: its tokens and, where stop strings are watched, its text so far."""

    def __init__(self, spec: SampleSpec, limit: int):
        self.spec = spec
        self.limit = limit
        self.ids: List[int] = []
        self.text = ""

    def add(self, token: int, tokenizer) -> Optional[Completion]:
        """Appends ``token``; the completion if the row is done, else None."""
        self.ids.append(token)
        if token in tokenizer.eos_ids:
            return Completion(self.ids, tokenizer.decode(self.ids[:-1]), "eos")
        if self.spec.stop:
            self.text = tokenizer.decode_appended(self.ids, self.text)
            cut = min((index for index in (self.text.find(stop) for stop in self.spec.stop) if index >= 0), default=-1)
            if cut >= 0:
                return Completion(self.ids, self.text[:cut], "stop")
        if len(self.ids) >= self.limit:
            return Completion(self.ids, tokenizer.decode(self.ids), "length")
        return None
