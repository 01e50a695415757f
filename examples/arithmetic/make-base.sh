#!/usr/bin/env bash
# Reproduces examples/arithmetic/base/: four warm-up stages, each continuing the last (--init), with the
# options recorded in base/warmup.json's chain. Stages 1-3 train on warmup.jsonl: one stage from scratch
# stopped at 9.5% greedy on validation while its loss was still falling; the continuations took it to 34.5%
# and 65.5%. A fourth pass over the same 3,000 problems overfitted, so stage 4 trains on warmup.jsonl plus
# 20,000 fresh labelled problems (generate.ts --more-warmup, written to a scratch folder): 100% greedy,
# 66% sampled, 99% maj@16 — a model that knows the arithmetic and slips at random when it samples.
# Bit-identical only with the same thread counts (1 or 2 here change the float summation order).
# Usage: bash examples/arithmetic/make-base.sh [OUT_DIR]   (default: a fresh base/ beside this script)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/base}"
stages="$(mktemp -d)"
trap 'rm -rf "$stages"' EXIT
warmup() { node --import tsx "$here/warmup.ts" --validate 200 "$@"; }
warmup --out "$stages/stage1" --steps 2000 --lr 3e-3 --seed 1 --threads 2
warmup --init "$stages/stage1" --out "$stages/stage2" --steps 3000 --lr 2e-3 --seed 3 --threads 1
warmup --init "$stages/stage2" --out "$stages/stage3" --steps 3000 --lr 1.5e-3 --seed 5 --threads 1
node --import tsx "$here/generate.ts" --out "$stages/more" --more-warmup 20000
warmup --init "$stages/stage3" --data "$stages/more/warmup.jsonl" --out "$out" --steps 3000 --lr 1.5e-3 --seed 7 --threads 1
