#!/usr/bin/env bash
# Installs what the Python worker needs on Debian when it is missing: PyTorch, numpy and onnx from
# Debian's packages (PyPI is not reachable here), and the pthread OpenBLAS, without which torch
# silently falls back to the reference BLAS and runs about 10x slower.
set -euo pipefail
if ! /usr/bin/python3 -c 'import torch, numpy, onnx' 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-torch python3-numpy python3-onnx libopenblas0-pthread
fi
