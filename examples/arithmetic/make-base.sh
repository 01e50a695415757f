#!/usr/bin/env bash
# Reproduces examples/arithmetic/base/: three warm-up stages on warmup.jsonl, each continuing the last
# (--init), with the options recorded in base/warmup.json's chain. One stage from scratch stopped at 9.5%
# greedy on validation while its loss was still falling; the continuations took it to 34.5% and 65.5%.
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
warmup --init "$stages/stage2" --out "$out" --steps 3000 --lr 1.5e-3 --seed 5 --threads 1
