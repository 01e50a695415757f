"""Token log-probs by teacher forcing, the policy-gradient loss (PPO clip, KL to the reference) and the
supervised loss, with micro-batching and gradient accumulation.

Losses are sums over tokens divided by the whole batch's token count, so splitting a batch into
micro-batches changes memory use, not the gradient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch.nn import functional as F

from .models import Policy
from .sampling import select_rows

TokenPair = Tuple[Sequence[int], Sequence[int]]  # (prompt ids, response ids)


@dataclass
class KeptSample:
    prompt_ids: List[int]
    response_ids: List[int]
    old_logprobs: torch.Tensor  # [len(response_ids)], float32, on the CPU


@dataclass
class LossSettings:
    kind: str  # "ppo-clip" | "policy-gradient"
    clip_eps: float = 0.2
    kl_coef: float = 0.0
    kl_estimator: str = "k1"  # "k1" | "k2" | "k3"
    kl_mode: str = "loss"  # "loss" | "reward"


class NonFiniteUpdate(ArithmeticError):
    def __init__(self, loss: float, grad_norm: float):
        super().__init__(f"the loss ({loss}) or the gradient norm ({grad_norm}) is not finite; the step was skipped")
        self.loss = loss
        self.grad_norm = grad_norm


def token_logprobs(policy: Policy, forward, pairs: Sequence[TokenPair], with_entropy: bool = False):
    """Log-probs (and entropies) of the response tokens under ``forward`` (the policy's module or its
    reference), flattened row by row: ``[sum of response lengths]``. Computed at temperature 1 on float32
    logits; the entropies carry no gradient.

    Pairs that share a prompt share one forward of it: its keys and values are computed once (with their
    gradient) and copied to each response, which is the full forward of each sequence without doing the
    prompt's part n times."""
    device, pad_id = policy.device, policy.tokenizer.pad_id
    prompt_of: Dict[tuple, int] = {}
    row_prompt = [prompt_of.setdefault(tuple(prompt), len(prompt_of)) for prompt, _ in pairs]
    width = max(len(prompt) for prompt in prompt_of)
    span = max(len(response) for _, response in pairs)
    prompt_ids = torch.full((len(prompt_of), width), pad_id, dtype=torch.long)
    prompt_mask = torch.zeros((len(prompt_of), width), dtype=torch.long)
    for index, prompt in enumerate(prompt_of):  # left-padded: every prompt ends in the last column
        prompt_ids[index, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
        prompt_mask[index, width - len(prompt) :] = 1
    prompt_ids, prompt_mask = prompt_ids.to(device), prompt_mask.to(device)
    prefill = forward(
        input_ids=prompt_ids,
        attention_mask=prompt_mask,
        position_ids=(prompt_mask.cumsum(-1) - 1).clamp(min=0),
        past_key_values=policy.new_cache(len(prompt_of), width + span),
        use_cache=True,
        **policy.last_logits(1),
    )
    expand = torch.tensor(row_prompt, device=device)
    cache = select_rows(prefill.past_key_values, expand)

    response_ids = torch.full((len(pairs), span), pad_id, dtype=torch.long)
    lengths = torch.tensor([len(response) for _, response in pairs])
    for row, (_, response) in enumerate(pairs):  # right-padded: no real token attends to the padding after it
        response_ids[row, : len(response)] = torch.tensor(response, dtype=torch.long)
    response_ids, lengths = response_ids.to(device), lengths.to(device)
    predicts_response = torch.arange(span, device=device)[None, :] < lengths[:, None]
    prompt_lengths = prompt_mask.sum(-1)[expand]
    positions = (prompt_lengths[:, None] + torch.arange(span, device=device)[None, :]).clamp(max=policy.max_context - 1)
    attention_mask = torch.cat([prompt_mask[expand], predicts_response.long()], dim=1)
    responses = forward(
        input_ids=response_ids, attention_mask=attention_mask, position_ids=positions, past_key_values=cache, use_cache=True
    )
    # Response token j is predicted by the prompt's last position (j = 0) or by response position j - 1.
    logits = torch.cat([prefill.logits[:, -1:][expand], responses.logits[:, :-1]], dim=1)
    # Only the response positions go to float32: the full [rows, span, vocab] would dominate memory.
    log_probs = F.log_softmax(logits[predicts_response].float(), dim=-1)
    token_log_probs = log_probs.gather(-1, response_ids[predicts_response][:, None]).squeeze(1)
    entropy = None
    if with_entropy:
        with torch.no_grad():
            entropy = -(log_probs.exp() * log_probs).sum(-1)
    return token_log_probs, entropy


def _micro_batches(pairs: Sequence[TokenPair], size: int) -> List[List[int]]:
    """Indices in chunks of ``size``: samples of one prompt together (they share its forward), then by
    response length (less padding)."""
    order = sorted(range(len(pairs)), key=lambda index: (tuple(pairs[index][0]), len(pairs[index][1])))
    return [order[start : start + size] for start in range(0, len(order), size)]


def score(policy: Policy, pairs: Sequence[TokenPair], micro_batch: int) -> List[torch.Tensor]:
    """Per-pair response log-probs under the current policy (the "old" log-probs kept for PPO)."""
    scores: List[Optional[torch.Tensor]] = [None] * len(pairs)
    with torch.no_grad(), policy.autocast():
        for chunk in _micro_batches(pairs, micro_batch):
            flat, _ = token_logprobs(policy, policy.module, [pairs[index] for index in chunk])
            parts = flat.split([len(pairs[index][1]) for index in chunk])
            for index, part in zip(chunk, parts):
                scores[index] = part.cpu()
    return scores


def kl_estimate(log_ratio: torch.Tensor, estimator: str) -> torch.Tensor:
    """Per-token estimates of KL(policy ‖ reference) from ``log_ratio = log p_ref − log p_policy``
    (Schulman's k1, k2, k3)."""
    if estimator == "k1":
        return -log_ratio
    if estimator == "k2":
        return 0.5 * log_ratio**2
    # k3 = r − log r − 1 ≥ 0; the clamp keeps exp() finite where the two policies disagree wildly.
    log_ratio = log_ratio.clamp(-20.0, 20.0)
    return torch.exp(log_ratio) - log_ratio - 1


def _reverse_cumsum_per_row(values: torch.Tensor, counts: Sequence[int]) -> torch.Tensor:
    return torch.cat([part.flip(0).cumsum(0).flip(0) for part in values.split(list(counts))])


def accumulate_policy_gradient(
    policy: Policy,
    batch: Sequence[Tuple[KeptSample, float]],
    loss: LossSettings,
    micro_batch: int,
    on_micro_batch: Optional[Callable[[int], None]] = None,
) -> dict:
    """Back-propagates the token-mean policy loss of ``batch`` into ``.grad`` (accumulating) and returns
    the summed statistics (means over tokens)."""
    device = policy.device
    total_tokens = sum(len(sample.response_ids) for sample, _ in batch)
    sums = {"loss": 0.0, "pg_loss": 0.0, "kl": 0.0, "entropy": 0.0, "clipped": 0.0}
    pairs_of_batch = [(sample.prompt_ids, sample.response_ids) for sample, _ in batch]
    for index, indices in enumerate(_micro_batches(pairs_of_batch, micro_batch)):
        chunk = [batch[position] for position in indices]
        pairs = [(sample.prompt_ids, sample.response_ids) for sample, _ in chunk]
        counts = [len(sample.response_ids) for sample, _ in chunk]
        with policy.autocast():
            log_probs, entropy = token_logprobs(policy, policy.module, pairs, with_entropy=True)
            reference_log_probs = None
            if policy.reference_forward is not None:
                with torch.no_grad():
                    reference_log_probs, _ = token_logprobs(policy, policy.reference_forward, pairs)
        old = torch.cat([sample.old_logprobs for sample, _ in chunk]).to(device)
        advantages = torch.repeat_interleave(
            torch.tensor([advantage for _, advantage in chunk], dtype=torch.float32), torch.tensor(counts)
        ).to(device)

        kl_loss = torch.zeros_like(log_probs)
        kl = None
        if reference_log_probs is not None:
            if loss.kl_mode == "loss":
                kl = kl_estimate(reference_log_probs - log_probs, loss.kl_estimator)
                kl_loss = loss.kl_coef * kl
            else:
                # Reinforce++: the old policy's KL is a per-token reward penalty; a token's return is the
                # sum of the penalties from it to the end of the response.
                kl = kl_estimate(reference_log_probs - old, loss.kl_estimator)
                advantages = advantages - loss.kl_coef * _reverse_cumsum_per_row(kl, counts)

        ratio = torch.exp(log_probs - old)
        if loss.kind == "ppo-clip":
            clipped_ratio = ratio.clamp(1 - loss.clip_eps, 1 + loss.clip_eps)
            pg_loss = -torch.min(ratio * advantages, clipped_ratio * advantages)
            sums["clipped"] += float(((ratio - 1).abs() > loss.clip_eps).sum())
        else:
            pg_loss = -advantages * log_probs
        token_loss = pg_loss + kl_loss
        (token_loss.sum() / total_tokens).backward()

        sums["loss"] += float(token_loss.detach().sum())
        sums["pg_loss"] += float(pg_loss.detach().sum())
        sums["entropy"] += float(entropy.detach().sum())
        if kl is not None:
            sums["kl"] += float(kl.detach().sum())
        if on_micro_batch is not None:
            on_micro_batch(index + 1)
    return {
        "loss": sums["loss"] / total_tokens,
        "pg_loss": sums["pg_loss"] / total_tokens,
        "kl": sums["kl"] / total_tokens if policy.reference_forward is not None else None,
        "entropy": sums["entropy"] / total_tokens,
        "tokens": total_tokens,
        "clip_fraction": sums["clipped"] / total_tokens,
    }


def accumulate_supervised(
    policy: Policy,
    examples: Sequence[TokenPair],
    micro_batch: int,
    on_micro_batch: Optional[Callable[[int], None]] = None,
) -> dict:
    """Back-propagates the mean negative log-likelihood per completion token of ``examples``."""
    total_tokens = sum(len(completion) for _, completion in examples)
    nll_sum = 0.0
    for index, indices in enumerate(_micro_batches(examples, micro_batch)):
        chunk = [examples[position] for position in indices]
        with policy.autocast():
            log_probs, _ = token_logprobs(policy, policy.module, chunk)
        nll = -log_probs.sum()
        (nll / total_tokens).backward()
        nll_sum += float(nll.detach())
        if on_micro_batch is not None:
            on_micro_batch(index + 1)
    return {"loss": nll_sum / total_tokens, "tokens": total_tokens}


def apply_update(
    policy: Policy, optimizer: torch.optim.Optimizer, loss: float, max_grad_norm: Optional[float]
) -> float:
    """Clips (when ``max_grad_norm``) and steps; returns the gradient norm before clipping. A non-finite
    loss or gradient skips the step. Gradients are cleared either way."""
    try:
        grad_norm = float(
            torch.nn.utils.clip_grad_norm_(
                policy.trainable_parameters(), max_grad_norm if max_grad_norm is not None else math.inf
            )
        )
        if not (math.isfinite(loss) and math.isfinite(grad_norm)):
            raise NonFiniteUpdate(loss, grad_norm)
        optimizer.step()
        return grad_norm
    finally:
        optimizer.zero_grad(set_to_none=True)


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
