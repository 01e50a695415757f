"""Baseline for bench/rouge.bench.ts: ROUGE-L F1 exactly as google-research rouge_score computes it
(RougeScorer(['rougeL'], use_stemmer=False): tokenize.tokenize, _lcs_table, scoring.fmeasure), stdlib only.

Usage: rouge_baseline.py PAIRS.jsonl SCORES.jsonl
  PAIRS.jsonl: one {"a": text, "b": text} per line. SCORES.jsonl gets one {"f": float} per pair, in order.
  Prints the scoring throughput (tokenizing included, file I/O excluded) as JSON on stdout.
"""
import json
import re
import sys
import time

# rouge_score/tokenize.py
NON_ALPHANUM_RE = re.compile(r"[^a-z0-9]+")
SPACES_RE = re.compile(r"\s+")
VALID_TOKEN_RE = re.compile(r"^[a-z0-9]+$")


def tokenize(text):
    text = text.lower()
    text = NON_ALPHANUM_RE.sub(" ", text)
    tokens = SPACES_RE.split(text)
    return [x for x in tokens if VALID_TOKEN_RE.match(x)]


# rouge_score/rouge_scorer.py
def _lcs_table(ref, can):
    rows = len(ref)
    cols = len(can)
    lcs_table = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            if ref[i - 1] == can[j - 1]:
                lcs_table[i][j] = lcs_table[i - 1][j - 1] + 1
            else:
                lcs_table[i][j] = max(lcs_table[i - 1][j], lcs_table[i][j - 1])
    return lcs_table


# rouge_score/scoring.py
def fmeasure(precision, recall):
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def score_lcs(target_tokens, prediction_tokens):
    if not target_tokens or not prediction_tokens:
        return 0.0
    lcs_length = _lcs_table(target_tokens, prediction_tokens)[-1][-1]
    precision = lcs_length / len(prediction_tokens)
    recall = lcs_length / len(target_tokens)
    return fmeasure(precision, recall)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as source:
        pairs = [json.loads(line) for line in source if line.strip()]
    started = time.perf_counter()
    # RougeScorer.score(target, prediction) tokenizes both texts on every call.
    scores = [score_lcs(tokenize(pair["a"]), tokenize(pair["b"])) for pair in pairs]
    seconds = time.perf_counter() - started
    with open(sys.argv[2], "w", encoding="utf-8") as sink:
        sink.writelines(json.dumps({"f": score}) + "\n" for score in scores)
    print(json.dumps({"pairs": len(pairs), "seconds": seconds, "pairs_per_s": len(pairs) / seconds}))


if __name__ == "__main__":
    main()
