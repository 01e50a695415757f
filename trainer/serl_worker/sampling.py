"""Batched generation with a KV cache: temperature, top-p, presence penalty, stop strings, max_tokens.

Prompts are left-padded so every row's next token sits in the last column; positions count real tokens
only. All randomness comes from the ``torch.Generator`` passed in, so a seeded generator and the same
specs give the same samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

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


def _generate_batch(policy: Policy, specs: Sequence[SampleSpec], generator: torch.Generator) -> List[Completion]:
    device, tokenizer = policy.device, policy.tokenizer
    rows = len(specs)
    width = max(len(spec.prompt_ids) for spec in specs)
    input_ids = torch.full((rows, width), tokenizer.pad_id, dtype=torch.long)
    attention_mask = torch.zeros((rows, width), dtype=torch.long)
    for row, spec in enumerate(specs):
        input_ids[row, width - len(spec.prompt_ids) :] = torch.tensor(spec.prompt_ids, dtype=torch.long)
        attention_mask[row, width - len(spec.prompt_ids) :] = 1
    input_ids, attention_mask = input_ids.to(device), attention_mask.to(device)
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)

    limits = [min(spec.max_tokens, policy.max_context - len(spec.prompt_ids)) for spec in specs]
    temperature = torch.tensor([spec.temperature for spec in specs], device=device)
    greedy = temperature == 0
    temperature = torch.where(greedy, torch.ones_like(temperature), temperature)
    top_p = torch.tensor([spec.top_p for spec in specs], device=device)
    penalty = torch.tensor([spec.presence_penalty for spec in specs], device=device)
    seen: Optional[torch.Tensor] = None  # [rows, vocab]: tokens already in each response (presence penalty)

    responses: List[List[int]] = [[] for _ in specs]
    finished: List[Optional[Completion]] = [None] * rows
    past = None
    for _ in range(max(limits)):
        output = policy.module(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=past,
            use_cache=True,
            **policy.last_logits_only,
        )
        past = output.past_key_values
        logits = output.logits[:, -1, :].float()
        if bool((penalty != 0).any()):
            if seen is None:
                seen = torch.zeros(logits.shape, dtype=torch.bool, device=device)
            logits = logits - penalty[:, None] * seen
        tokens = _choose(logits, temperature, greedy, top_p, generator)
        if seen is not None:
            seen[torch.arange(rows, device=device), tokens] = True

        for row, token in enumerate(tokens.tolist()):
            if finished[row] is not None:
                continue
            responses[row].append(token)
            finished[row] = _finish(tokenizer, specs[row], responses[row], token, limits[row])
        if all(completion is not None for completion in finished):
            break

        input_ids = tokens[:, None]
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones((rows, 1))], dim=1)
        # Finished rows keep being fed until the batch ends; clamping keeps their positions in range.
        position_ids = (position_ids[:, -1:] + 1).clamp(max=policy.max_context - 1)
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


def _finish(tokenizer, spec: SampleSpec, response: List[int], token: int, limit: int) -> Optional[Completion]:
    """The completion if the row is done after ``token``, else None."""
    if token in tokenizer.eos_ids:
        return Completion(list(response), tokenizer.decode(response[:-1]), "eos")
    if spec.stop:
        text = tokenizer.decode(response)
        cut = min((index for index in (text.find(stop) for stop in spec.stop) if index >= 0), default=-1)
        if cut >= 0:
            return Completion(list(response), text[:cut], "stop")
    if len(response) >= limit:
        return Completion(list(response), tokenizer.decode(response), "length")
    return None
