"""The Node tools the tests use (Node 22, the MCP conformance suite, the MCP Inspector CLI, mcpb),
installed by scripts/ci_node.sh into .cache/node.

`node_tool("conformance")` is the path of a tool; `node_env()` the environment that runs it on
Node 22 (the tools' `#!/usr/bin/env node` finds the cached node first). Missing tools skip the
test with the command that installs them; under CI (CI=true) they fail it instead, so a CI that
forgot scripts/ci_node.sh does not pass quietly.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.paths import REPO

DEFAULT_BIN = REPO / ".cache" / "node" / "node_modules" / ".bin"
NODE_BIN = Path(os.environ.get("AGENTS_MCP_NODE_BIN") or DEFAULT_BIN)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def node_tool(name: str) -> Path:
    path = NODE_BIN / name
    if not (path.is_file() and os.access(path, os.X_OK) and (NODE_BIN / "node").is_file()):
        reason = f"{path} is missing: run `bash scripts/ci_node.sh` (Node 22 and the npm tools)"
        if _in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def node_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{NODE_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env
