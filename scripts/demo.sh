#!/usr/bin/env bash
# The main job, from a fresh clone: installs what the demo needs, then runs the arithmetic-world demo
# (base -> SeRL, no labels) and writes demo-out/report.md and demo-out/report.json.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-worker-deps.sh
# onnxruntime-node's install script would download CUDA libraries from a host this machine cannot reach;
# its CPU binaries ship inside the package.
ONNXRUNTIME_NODE_INSTALL=skip npm ci
npm run demo
