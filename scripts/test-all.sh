#!/usr/bin/env bash
# Every test, from a fresh clone: installs what the tests need, builds every bundle, type-checks, runs the suites.
# This is the README's test command; .ci/run calls it and nothing else. (`npm test` skips the install steps.)
set -euo pipefail
cd "$(dirname "$0")/.."

# The worker's tests use Debian's PyTorch (PyPI is not reachable here); without the pthread OpenBLAS,
# torch silently falls back to the reference BLAS and runs about 10x slower.
if ! /usr/bin/python3 -c 'import torch, numpy, onnx' 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-torch python3-numpy python3-onnx libopenblas0-pthread
fi

npm ci
npm test
