#!/usr/bin/env bash
# Consumer test: what a user of the published package gets.
#
#  1. `npm pack` the built package (run after `npx projen compile` and the bundles) and check the tarball:
#     what it carries, what it must not, and its size (check-tarball.js).
#  2. Install the tarball into a fresh folder with aws-cdk-lib and constructs from the registry, at the versions
#     of this project's devDependencies.
#  3. Synthesize the README's usage example with plain `node` and assert its resources (synth-app.js).
#  4. Start `npx cdk-websocket-chat-local --port 0` from that folder and chat over real sockets (local-chat.js).
#
# KEEP_CONSUMER_DIR=1 keeps the temporary folder for a look afterwards.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

for built in lib/index.js .jsii assets/local/cli/index.js; do
  [[ -f "$built" ]] || { echo "consumer-test: $built is missing: run 'npx projen pre-compile && npx projen compile' first" >&2; exit 1; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/cdk-websocket-chat-consumer.XXXXXX")"
cleanup() {
  if [[ -n "${KEEP_CONSUMER_DIR:-}" ]]; then echo "consumer-test: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
started=$SECONDS

echo "== consumer: npm pack"
mkdir -p "$work/pack" "$work/app"
npm pack --silent --json --pack-destination "$work/pack" > "$work/pack.json"
tarball="$(node -p "require('path').join('$work/pack', require('$work/pack.json')[0].filename)")"
node "$here/check-tarball.js" "$work/pack.json" "$tarball"

cdk_version="$(node -p "require('./package.json').devDependencies['aws-cdk-lib']")"
constructs_version="$(node -p "require('./package.json').devDependencies['constructs']")"
# A WebSocket client for local-chat.js (the package has no runtime dependencies; its gateway bundles its own server).
ws_version="$(node -p "require('./package.json').devDependencies['ws']")"
echo "== consumer: install the tarball with aws-cdk-lib@$cdk_version constructs@$constructs_version (and ws@$ws_version, a client)"
cp "$here/synth-app.js" "$here/local-chat.js" "$work/app/"
cd "$work/app"
printf '{\n  "name": "cdk-websocket-chat-consumer",\n  "version": "0.0.0",\n  "private": true\n}\n' > package.json
npm install --no-audit --no-fund --no-package-lock --loglevel=error \
  "$tarball" "aws-cdk-lib@$cdk_version" "constructs@$constructs_version" "ws@$ws_version"

echo "== consumer: synthesize the README's usage example with node"
node synth-app.js

echo "== consumer: npx cdk-websocket-chat-local --port 0, chat over real sockets, SIGTERM"
node local-chat.js

echo "== consumer: passed in $((SECONDS - started)) s"
