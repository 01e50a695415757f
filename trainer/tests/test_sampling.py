import unittest

import torch

from helpers import adamw, generator, tiny_policy
from serl_worker import sampling, train


def spec(policy, prompt, **options):
    options.setdefault("max_tokens", 12)
    return sampling.SampleSpec(prompt_ids=policy.tokenizer.encode_prompt(prompt), **options)


def greedy_without_cache(policy, prompt_ids, max_tokens):
    """Greedy decoding the slow, obvious way: a full forward over the whole sequence for every token."""
    ids = list(prompt_ids)
    response = []
    with torch.no_grad():
        for _ in range(max_tokens):
            token = int(policy.module(torch.tensor([ids])).logits[0, -1].argmax())
            response.append(token)
            ids.append(token)
            if token in policy.tokenizer.eos_ids:
                break
    return response


class SamplingTest(unittest.TestCase):
    def setUp(self):
        self.policy = tiny_policy(seed=2)

    def generate(self, specs, seed=0, max_batch=64):
        return sampling.generate(self.policy, specs, generator(seed), max_batch)

    def test_the_same_seed_gives_the_same_samples_and_another_seed_others(self):
        specs = [spec(self.policy, "7+8=")] * 6
        first = [(c.response_ids, c.finish_reason) for c in self.generate(specs, seed=11)]
        again = [(c.response_ids, c.finish_reason) for c in self.generate(specs, seed=11)]
        other = [(c.response_ids, c.finish_reason) for c in self.generate(specs, seed=12)]
        self.assertEqual(first, again)
        self.assertNotEqual(first, other)
        self.assertGreater(len({tuple(ids) for ids, _ in first}), 1, "samples of one prompt should differ")

    def test_greedy_rows_match_unbatched_greedy_whatever_the_padding(self):
        prompts = ["1+1=", "a longer prompt: 12*3="]
        alone = [self.generate([spec(self.policy, prompt, temperature=0)])[0].response_ids for prompt in prompts]
        together = [c.response_ids for c in self.generate([spec(self.policy, p, temperature=0) for p in prompts])]
        self.assertEqual(together, alone)

    def test_max_tokens_ends_with_length(self):
        unlimited = self.generate([spec(self.policy, "2*3=", temperature=0, max_tokens=30)])[0]
        self.assertEqual(unlimited.finish_reason, "length", "premise: greedy output of this model has no eos")
        limited = self.generate([spec(self.policy, "2*3=", temperature=0, max_tokens=5)])[0]
        self.assertEqual(limited.finish_reason, "length")
        self.assertEqual(limited.response_ids, unlimited.response_ids[:5])
        self.assertEqual(limited.text, self.policy.tokenizer.decode(unlimited.response_ids[:5]))

    def test_context_limit_ends_with_length(self):
        prompt = "x" * (self.policy.max_context - 3)
        completion = self.generate([spec(self.policy, prompt, temperature=0, max_tokens=50)])[0]
        self.assertEqual(completion.finish_reason, "length")
        self.assertEqual(len(completion.response_ids), 3)

    def test_stop_string_cuts_the_text_and_keeps_its_tokens(self):
        free = self.generate([spec(self.policy, "9-4=", temperature=0, max_tokens=20)])[0]
        stop = free.text[6:8]
        cut = free.text.find(stop)
        stopped = self.generate([spec(self.policy, "9-4=", temperature=0, max_tokens=20, stop=["@@@", stop])])[0]
        self.assertEqual(stopped.finish_reason, "stop")
        self.assertEqual(stopped.text, free.text[:cut])
        self.assertEqual(stopped.response_ids, free.response_ids[: cut + len(stop)])

    def test_top_p_keeps_only_the_nucleus(self):
        logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]] * 4000))
        rows = logits.size(0)
        chosen = sampling._choose(
            logits, torch.ones(rows), torch.zeros(rows, dtype=torch.bool), torch.full((rows,), 0.7), generator(3)
        )
        counts = torch.bincount(chosen, minlength=4).tolist()
        self.assertEqual(counts[2:], [0, 0])
        self.assertGreater(counts[1], 800)  # renormalised: 0.3 / 0.8 of 4000 = 1500
        unfiltered = sampling._choose(
            logits, torch.ones(rows), torch.zeros(rows, dtype=torch.bool), torch.ones(rows), generator(3)
        )
        self.assertGreater(torch.bincount(unfiltered, minlength=4)[3].item(), 0)

    def test_tiny_top_p_is_greedy(self):
        greedy = self.generate([spec(self.policy, "5+5=", temperature=0)])[0]
        nucleus = self.generate([spec(self.policy, "5+5=", temperature=1.0, top_p=1e-6)])[0]
        self.assertEqual(nucleus.response_ids, greedy.response_ids)

    def test_presence_penalty_stops_repeats(self):
        plain = self.generate([spec(self.policy, "hello", temperature=0, max_tokens=20)])[0].response_ids
        self.assertLess(len(set(plain)), len(plain), "premise: the untrained model's greedy output repeats")
        penalised = self.generate([spec(self.policy, "hello", temperature=0, max_tokens=20, presence_penalty=2.0)])
        ids = penalised[0].response_ids
        self.assertEqual(len(set(ids)), len(ids))

    def test_eos_ends_a_sample_and_is_not_in_the_text(self):
        policy = self.policy
        optimizer = adamw(policy, lr=3e-2)
        eos = min(policy.tokenizer.eos_ids)
        example = (policy.tokenizer.encode_prompt("Q:"), policy.tokenizer.encode_continuation("ok") + [eos])
        for _ in range(60):
            stats = train.accumulate_supervised(policy, [example], micro_batch=1)
            train.apply_update(policy, optimizer, stats["loss"], max_grad_norm=1.0)
        completion = self.generate([spec(policy, "Q:", temperature=0)])[0]
        self.assertEqual(completion.finish_reason, "eos")
        self.assertEqual(completion.text, "ok")
        self.assertEqual(completion.response_ids, example[1])

    def test_cached_batched_greedy_equals_recomputing_every_sequence_alone(self):
        # Distinct prompts, repeated prompts (one prefill, copied) and unequal lengths, so rows finish at
        # different steps and the batch is compacted while the others go on.
        cases = [("1+2=", 3), ("a longer prompt: 12*3=", 20), ("1+2=", 11), ("7-5=", 1), ("1+2=", 20), ("x", 16)]
        specs = [spec(self.policy, prompt, temperature=0, max_tokens=limit) for prompt, limit in cases]
        batched = [c.response_ids for c in self.generate(specs)]
        alone = [greedy_without_cache(self.policy, s.prompt_ids, s.max_tokens) for s in specs]
        self.assertEqual(batched, alone)

    def test_samples_of_one_prompt_share_its_prefill_yet_differ(self):
        prompt = spec(self.policy, "4*4=", temperature=1.0, max_tokens=10)
        shared = self.generate([prompt] * 8, seed=5)
        self.assertEqual(len(shared), 8)
        self.assertGreater(len({tuple(c.response_ids) for c in shared}), 1)
        greedy = [c.response_ids for c in self.generate([spec(self.policy, "4*4=", temperature=0)] * 3)]
        self.assertEqual(greedy, [greedy_without_cache(self.policy, prompt.prompt_ids, 12)] * 3)

    def test_batches_smaller_than_the_request_give_the_same_greedy_samples(self):
        specs = [spec(self.policy, p, temperature=0) for p in ["1+2=", "3+4=", "10-7=", "6*6="]]
        whole = [c.response_ids for c in self.generate(specs)]
        split = [c.response_ids for c in self.generate(specs, max_batch=3)]
        self.assertEqual(split, whole)


if __name__ == "__main__":
    unittest.main()
