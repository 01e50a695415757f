import math
import unittest

import torch

from helpers import adamw, completion_logprob, kept, tiny_policy
from serl_worker import train

PPO = train.LossSettings(kind="ppo-clip", clip_eps=0.2)


def step(policy, optimizer, batch, loss=PPO, micro_batch=2, max_grad_norm=1.0):
    stats = train.accumulate_policy_gradient(policy, batch, loss, micro_batch)
    stats["grad_norm"] = train.apply_update(policy, optimizer, stats["loss"], max_grad_norm)
    return stats


class PolicyGradientTest(unittest.TestCase):
    def test_positive_advantage_raises_the_completions_log_prob_and_negative_lowers_it(self):
        for kind in ("ppo-clip", "policy-gradient"):
            with self.subTest(kind=kind):
                policy = tiny_policy(seed=4)
                optimizer = adamw(policy, lr=1e-2)
                good, bad = ("3+4=", "7#7"), ("3+4=", "xyz")
                before = [completion_logprob(policy, *pair) for pair in (good, bad)]
                loss = train.LossSettings(kind=kind, clip_eps=0.2)
                for _ in range(5):
                    batch = [(kept(policy, *good), 1.0), (kept(policy, *bad), -1.0)]
                    step(policy, optimizer, batch, loss)
                after = [completion_logprob(policy, *pair) for pair in (good, bad)]
                self.assertGreater(after[0], before[0] + 0.5)
                self.assertLess(after[1], before[1] - 0.5)

    def test_first_step_on_fresh_samples_has_ratio_one(self):
        policy = tiny_policy(seed=5)
        stats = step(policy, adamw(policy), [(kept(policy, "1+1=", "2#2"), 1.0)])
        self.assertEqual(stats["clip_fraction"], 0.0)
        self.assertEqual(stats["tokens"], 3)
        self.assertIsNone(stats["kl"])
        self.assertGreater(stats["entropy"], 0.0)
        # ratio = 1 and advantage 1: the ppo surrogate is −1 per token.
        self.assertAlmostEqual(stats["pg_loss"], -1.0, places=5)

    def test_stale_samples_are_clipped(self):
        policy = tiny_policy(seed=6)
        optimizer = adamw(policy, lr=5e-2)
        sample = kept(policy, "2+2=", "4#4")
        for _ in range(4):
            stats = step(policy, optimizer, [(sample, 1.0)])  # the same old log-probs: the ratio drifts
        self.assertGreater(stats["clip_fraction"], 0.0)

    def test_micro_batches_accumulate_the_full_batch_gradient(self):
        policy = tiny_policy(seed=7, reference=True)
        with torch.no_grad():  # move the policy off the reference so the KL term has a gradient
            for parameter in policy.trainable_parameters():
                parameter.add_(0.01 * torch.randn_like(parameter))
        batch = [
            (kept(policy, "1+2=", "3#3"), 0.5),
            (kept(policy, "10+20=", "30#30"), -1.0),
            (kept(policy, "5*5=", "25#25"), 2.0),
        ]
        loss = train.LossSettings(kind="ppo-clip", kl_coef=0.1, kl_estimator="k3")
        gradients = []
        for micro_batch in (3, 1, 2):
            train.accumulate_policy_gradient(policy, batch, loss, micro_batch)
            gradients.append([parameter.grad.clone() for parameter in policy.trainable_parameters()])
            for parameter in policy.trainable_parameters():
                parameter.grad = None
        for other in gradients[1:]:
            for full, accumulated in zip(gradients[0], other):
                # float32 sums in another order (micro-batches are also sorted by length): ~1e-7 apart
                torch.testing.assert_close(accumulated, full, rtol=1e-5, atol=1e-6)


class TokenLogprobsTest(unittest.TestCase):
    def test_a_padded_batch_gives_each_pair_its_own_log_probs_in_order(self):
        policy = tiny_policy(seed=9)
        texts = [("1+2=", "3#3"), ("a much longer prompt 10+20=", "3"), ("5*5=", "25#25 and more"), ("7", "7")]
        pairs = [(policy.tokenizer.encode_prompt(p), policy.tokenizer.encode_continuation(c)) for p, c in texts]
        with torch.no_grad():
            batched, entropy = train.token_logprobs(policy, policy.module, pairs, with_entropy=True)
            alone = [train.token_logprobs(policy, policy.module, [pair])[0] for pair in pairs]
            by_hand = []  # the log-prob of each response token from a plain forward of the whole sequence
            for prompt, response in pairs:
                logits = policy.module(torch.tensor([prompt + response])).logits[0].log_softmax(-1)
                by_hand += [float(logits[len(prompt) - 1 + i, token]) for i, token in enumerate(response)]
        self.assertEqual(batched.shape, (sum(len(r) for _, r in pairs),))
        self.assertEqual(entropy.shape, batched.shape)
        torch.testing.assert_close(batched, torch.cat(alone), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(batched, torch.tensor(by_hand), rtol=1e-5, atol=1e-5)
        self.assertEqual(
            [len(part) for part in train.score(policy, pairs, micro_batch=3)], [len(r) for _, r in pairs]
        )


class SharedPromptTest(unittest.TestCase):
    def test_samples_sharing_a_prompt_get_the_gradient_of_plain_full_forwards(self):
        policy = tiny_policy(seed=10)
        texts = [("12+7=", "19#19", 1.0), ("12+7=", "20", -1.0), ("3*3=", "9#9", 0.5), ("12+7=", "19 as 12+7=19", 0.25)]
        batch = [(kept(policy, prompt, completion), advantage) for prompt, completion, advantage in texts]
        loss = train.LossSettings(kind="policy-gradient")
        train.accumulate_policy_gradient(policy, batch, loss, micro_batch=4)  # one forward of "12+7=" for three
        shared = [parameter.grad.clone() for parameter in policy.trainable_parameters()]
        policy.module.zero_grad(set_to_none=True)
        # By hand: -sum(A * log p(token)) / tokens, each sequence through a plain forward without a cache.
        total = sum(len(sample.response_ids) for sample, _ in batch)
        for sample, advantage in batch:
            ids = sample.prompt_ids + sample.response_ids
            log_probs = policy.module(torch.tensor([ids])).logits[0].log_softmax(-1)
            start = len(sample.prompt_ids) - 1
            picked = log_probs[start : start + len(sample.response_ids)].gather(1, torch.tensor(sample.response_ids)[:, None])
            (-advantage * picked.sum() / total).backward()
        by_hand = [parameter.grad for parameter in policy.trainable_parameters()]
        self.assertGreater(sum(float(g.abs().sum()) for g in by_hand), 0.0)
        for ours, expected in zip(shared, by_hand):
            torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-6)


class KlTest(unittest.TestCase):
    def test_kl_is_zero_against_an_identical_reference(self):
        for estimator in ("k1", "k2", "k3"):
            with self.subTest(estimator=estimator):
                policy = tiny_policy(seed=8, reference=True)
                loss = train.LossSettings(kind="ppo-clip", kl_coef=0.5, kl_estimator=estimator)
                stats = train.accumulate_policy_gradient(policy, [(kept(policy, "8-3=", "5#5"), 1.0)], loss, 1)
                self.assertEqual(stats["kl"], 0.0)
                self.assertAlmostEqual(stats["loss"], stats["pg_loss"], places=6)

    def test_k3_is_non_negative_and_kl_grows_as_the_policy_moves(self):
        policy = tiny_policy(seed=9, reference=True)
        optimizer = adamw(policy, lr=3e-2)
        loss = train.LossSettings(kind="policy-gradient", kl_coef=0.01, kl_estimator="k3")
        kls = []
        for _ in range(4):
            batch = [(kept(policy, "6+1=", "7#7"), 1.0), (kept(policy, "6+2=", "9#9"), -1.0)]
            kls.append(step(policy, optimizer, batch, loss)["kl"])
        self.assertEqual(kls[0], 0.0)
        self.assertTrue(all(kl >= 0 for kl in kls), kls)
        self.assertGreater(kls[-1], 0.0)

    def test_k3_is_non_negative_for_any_log_ratio(self):
        log_ratio = torch.linspace(-30, 30, 601)
        self.assertTrue(bool((train.kl_estimate(log_ratio, "k3") >= 0).all()))
        self.assertTrue(torch.isfinite(train.kl_estimate(log_ratio, "k3")).all())

    def test_kl_as_reward_penalises_each_token_by_its_future_kl(self):
        policy = tiny_policy(seed=10, reference=True)
        sample = kept(policy, "4*2=", "8#8")
        with torch.no_grad():  # a reference that disagrees: old log-probs shifted by a known amount
            sample.old_logprobs = sample.old_logprobs + torch.tensor([0.1, 0.2, 0.3])
        settings = dict(kind="policy-gradient", kl_coef=0.5, kl_estimator="k1")
        rewarded = train.accumulate_policy_gradient(
            policy, [(sample, 1.0)], train.LossSettings(kl_mode="reward", **settings), 1
        )
        # k1 of the old policy per token = [0.1, 0.2, 0.3]; future sums [0.6, 0.5, 0.3]
        self.assertAlmostEqual(rewarded["kl"], 0.2, places=5)
        log_probs = sample.old_logprobs - torch.tensor([0.1, 0.2, 0.3])
        advantages = 1.0 - 0.5 * torch.tensor([0.6, 0.5, 0.3])
        self.assertAlmostEqual(rewarded["pg_loss"], float(-(advantages * log_probs).mean()), places=5)


class SupervisedAndUpdateTest(unittest.TestCase):
    def test_supervised_steps_lower_the_loss(self):
        policy = tiny_policy(seed=11)
        optimizer = adamw(policy, lr=1e-2)
        tokenizer = policy.tokenizer
        examples = [
            (tokenizer.encode_prompt(f"{a}+{b}="), tokenizer.encode_continuation(f"{a + b}") + [tokenizer.pad_id])
            for a, b in [(1, 2), (3, 4), (2, 5), (6, 1)]
        ]
        losses = []
        for _ in range(15):
            stats = train.accumulate_supervised(policy, examples, micro_batch=3)
            train.apply_update(policy, optimizer, stats["loss"], max_grad_norm=1.0)
            losses.append(stats["loss"])
        self.assertLess(losses[-1], losses[0] * 0.7)

    def test_a_non_finite_loss_skips_the_step(self):
        policy = tiny_policy(seed=12)
        optimizer = adamw(policy)
        sample = kept(policy, "1+1=", "2#2")
        with torch.no_grad():
            policy.module.ln_f.weight[0] = math.nan
        weights = [parameter.clone() for parameter in policy.trainable_parameters()]
        stats = train.accumulate_policy_gradient(policy, [(sample, 1.0)], PPO, 1)
        with self.assertRaises(train.NonFiniteUpdate):
            train.apply_update(policy, optimizer, stats["loss"], max_grad_norm=1.0)
        for before, parameter in zip(weights, policy.trainable_parameters()):
            self.assertTrue(torch.equal(before.nan_to_num(), parameter.nan_to_num()))
            self.assertIsNone(parameter.grad)

    def test_gradient_clipping_reports_the_norm_before_clipping(self):
        policy = tiny_policy(seed=13)
        optimizer = adamw(policy)
        stats = train.accumulate_policy_gradient(policy, [(kept(policy, "9+9=", "18#18"), 50.0)], PPO, 1)
        norm = train.apply_update(policy, optimizer, stats["loss"], max_grad_norm=0.5)
        self.assertGreater(norm, 0.5)


if __name__ == "__main__":
    unittest.main()
