#!/usr/bin/env bash
# Every test, from a fresh clone: installs what the tests need, builds every bundle, type-checks, runs the suites.
# This is the README's test command; .ci/run calls it and nothing else. (`npm test` skips the install steps.)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-worker-deps.sh
# onnxruntime-node's install script would download CUDA libraries from a host this machine cannot reach;
# its CPU binaries ship inside the package.
ONNXRUNTIME_NODE_INSTALL=skip npm ci
npm test
