#!/usr/bin/env bash
# Node 22 and the npm tools the tests and `make bundle` use, installed into .cache/node from the
# npm registry (pinned in scripts/node/package.json and its lockfile):
#   - node 22 (the `node` package ships the binary): the conformance suite needs Node >= 22
#   - @modelcontextprotocol/conformance  (tests/e2e/http/test_conformance.py)
#   - @modelcontextprotocol/inspector    (tests/e2e/cli/test_inspector.py)
#   - @anthropic-ai/mcpb                 (make bundle, tests/e2e/cli/test_bundle.py)
# The tests find them in .cache/node/node_modules/.bin (tests/support/node_tools.py). Re-running is
# cheap: nothing is installed again while the lockfile is unchanged. Needs npm (any Node >= 18).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=.cache/node
BIN="$DEST/node_modules/.bin"
STAMP="$DEST/.installed"

if ! command -v npm >/dev/null 2>&1; then
  echo "ci_node.sh: npm is missing (apt-get install -y nodejs npm)" >&2
  exit 1
fi
mkdir -p "$DEST"
if [ ! -f "$STAMP" ] || ! cmp -s scripts/node/package-lock.json "$STAMP" || [ ! -x "$BIN/node" ]; then
  cp scripts/node/package.json scripts/node/package-lock.json "$DEST/"
  npm ci --prefix "$DEST" --no-audit --no-fund --loglevel=error
  cp scripts/node/package-lock.json "$STAMP"
fi
version="$("$BIN/node" --version)"
case "$version" in
  v22.*) ;;
  *) echo "ci_node.sh: expected Node 22 in $BIN, found $version" >&2; exit 1 ;;
esac
for tool in conformance mcp-inspector mcpb; do
  [ -x "$BIN/$tool" ] || { echo "ci_node.sh: $BIN/$tool is missing" >&2; exit 1; }
done
echo "ci_node.sh: node $version and conformance, mcp-inspector, mcpb in $BIN"
