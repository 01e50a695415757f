import json
import os
import tempfile
import unittest

import torch

from helpers import tiny_policy
from serl_worker import tiny_gpt


class TinyGptForwardTest(unittest.TestCase):
    def setUp(self):
        self.policy = tiny_policy(seed=1)
        self.model = self.policy.module
        self.ids = torch.tensor([self.policy.tokenizer.encode_prompt("12+34=46;46-5=41#41")])

    def test_kv_cache_gives_the_same_logits_as_a_full_forward(self):
        with torch.no_grad():
            full = self.model(self.ids).logits
            first = self.model(self.ids[:, :7], use_cache=True)
            second = self.model(self.ids[:, 7:12], past_key_values=first.past_key_values, use_cache=True)
            steps = [first.logits, second.logits]
            past = second.past_key_values
            for position in range(12, self.ids.size(1)):  # then one token at a time, as in decoding
                step = self.model(self.ids[:, position : position + 1], past_key_values=past, use_cache=True)
                steps.append(step.logits)
                past = step.past_key_values
        torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=1e-5, atol=1e-5)

    def test_the_cache_grows_past_its_capacity_and_selects_rows(self):
        ids = torch.cat([self.ids, self.ids.flip(1)])
        with torch.no_grad():
            full = self.model(ids).logits
            cache = tiny_gpt.KVCache(self.model.config, 2, 4, torch.float32, "cpu")  # far too small: it grows
            self.model(ids[:, :9], past_key_values=cache, use_cache=True)
            self.assertEqual(cache.get_seq_length(), 9)
            cache.batch_select_indices(torch.tensor([1, 1, 0]))  # row 1 twice, then row 0
            rest = self.model(ids[[1, 1, 0], 9:], past_key_values=cache, use_cache=True).logits
        torch.testing.assert_close(rest, full[[1, 1, 0], 9:], rtol=1e-5, atol=1e-5)

    def test_logits_to_keep_computes_the_last_positions_only(self):
        with torch.no_grad():
            full = self.model(self.ids).logits
            last = self.model(self.ids, logits_to_keep=2).logits
        torch.testing.assert_close(last, full[:, -2:], rtol=1e-6, atol=1e-6)

    def test_left_padding_with_the_attention_mask_does_not_change_logits(self):
        pad = 5
        padded = torch.cat([torch.full((1, pad), self.policy.tokenizer.pad_id), self.ids], dim=1)
        mask = torch.cat([torch.zeros(1, pad, dtype=torch.long), torch.ones_like(self.ids)], dim=1)
        with torch.no_grad():
            plain = self.model(self.ids).logits
            masked = self.model(padded, attention_mask=mask).logits[:, pad:]
        torch.testing.assert_close(masked, plain, rtol=1e-5, atol=1e-5)

    def test_positions_beyond_the_context_are_refused(self):
        too_long = torch.zeros((1, self.model.config.block_size + 1), dtype=torch.long)
        with self.assertRaisesRegex(ValueError, "beyond the context"):
            self.model(too_long)

    def test_without_use_cache_no_cache_is_returned(self):
        self.assertIsNone(self.model(self.ids).past_key_values)


class CharTokenizerTest(unittest.TestCase):
    def test_encode_decode_round_trip_and_eos_is_dropped_from_text(self):
        tokenizer = tiny_gpt.CharTokenizer()
        ids = tokenizer.encode("What is 3*(4+5)?\n")
        self.assertEqual(tokenizer.decode(ids + [tokenizer.eos_id]), "What is 3*(4+5)?\n")
        self.assertEqual(tokenizer.vocab_size, len(tiny_gpt.DEFAULT_VOCAB) + 1)

    def test_unknown_character_names_it_and_its_index(self):
        with self.assertRaisesRegex(tiny_gpt.TokenizeError, r"'é' \(U\+00E9\) at index 2"):
            tiny_gpt.CharTokenizer().encode("caé")

    def test_json_round_trip_and_rejection_of_other_tokenizers(self):
        tokenizer = tiny_gpt.CharTokenizer("0123456789+-=#;\n")
        again = tiny_gpt.CharTokenizer.from_json(json.loads(json.dumps(tokenizer.to_json())), "t.json")
        self.assertEqual(again.chars, tokenizer.chars)
        bpe = tokenizer.to_json()
        bpe["model"]["merges"] = ["1 2"]
        with self.assertRaisesRegex(ValueError, "t.json: not a character-level tokenizer"):
            tiny_gpt.CharTokenizer.from_json(bpe, "t.json")

    @unittest.skipUnless(__import__("importlib").util.find_spec("tokenizers"), "skipped: `tokenizers` not installed")
    def test_hugging_face_tokenizers_reads_the_same_ids(self):
        from tokenizers import Tokenizer

        tokenizer = tiny_gpt.CharTokenizer()
        hf = Tokenizer.from_str(json.dumps(tokenizer.to_json()))
        text = "Tom has 3 apples.\nHow many?"
        self.assertEqual(hf.encode(text).ids, tokenizer.encode(text))
        self.assertEqual(hf.decode(tokenizer.encode(text)), text)


class SavePretrainedTest(unittest.TestCase):
    def test_round_trip_restores_weights_and_tokenizer(self):
        policy = tiny_policy(seed=3)
        with tempfile.TemporaryDirectory() as directory:
            policy.module.save_pretrained(directory, policy.tokenizer.chars)
            self.assertEqual(sorted(os.listdir(directory)), ["config.json", "model.pt", "tokenizer.json"])
            model, chars = tiny_gpt.TinyGPT.from_pretrained(directory)
        self.assertEqual(chars.chars, policy.tokenizer.chars.chars)
        for (name, original), (_, loaded) in zip(policy.module.state_dict().items(), model.state_dict().items()):
            self.assertTrue(torch.equal(original, loaded), name)

    def test_a_setting_the_model_does_not_implement_is_refused_not_dropped(self):
        policy = tiny_policy(seed=3)
        with tempfile.TemporaryDirectory() as directory:
            policy.module.save_pretrained(directory, policy.tokenizer.chars)
            path = os.path.join(directory, "config.json")
            with open(path) as file:
                config = json.load(file)
            with open(path, "w") as file:
                json.dump({**config, "dropout": 0.1}, file)
            with self.assertRaisesRegex(ValueError, "config.json: unknown key\\(s\\) dropout"):
                tiny_gpt.TinyGPT.from_pretrained(directory)

    def test_a_config_of_another_model_is_refused(self):
        with tempfile.TemporaryDirectory() as directory:
            with open(os.path.join(directory, "config.json"), "w") as file:
                json.dump({"model_type": "llama"}, file)
            with self.assertRaisesRegex(ValueError, "not a tiny GPT config"):
                tiny_gpt.read_config(directory)


if __name__ == "__main__":
    unittest.main()
