"""Reusable MCP-client helpers: the real server as a stdio subprocess, or in memory.

    async with stdio_server(env) as (client, log):        # `python -m agents_mcp serve`
        await client.list_tools()
        log.text()                                          # the server's stderr so far

`sandbox_env(sandbox, tmp_path)` is the environment that points the server at a sandbox.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters, stdio_client
from mcp.types import CallToolResult

from agents_mcp.settings import ENV_VARS
from tests.support.paths import REPO

# Nothing from the developer's own environment may leak into the server under test: every
# setting the server reads is passed, empty when the test does not set it.
_SERVER_VARS = tuple(ENV_VARS.values())


def sandbox_env(sandbox: Any, data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a server that talks to `sandbox` and keeps its data under `data_dir`."""
    env = {
        "ELEVENLABS_BASE_URL": sandbox.base_url,
        "ELEVENLABS_API_KEY": sandbox.api_key,
        "AGENTS_MCP_DATA_DIR": str(data_dir),
        "AGENTS_MCP_MAX_RETRIES": "0",  # tests of failures want the first answer
    }
    env.update(extra)
    return env


def server_params(env: Mapping[str, str], *args: str) -> StdioServerParameters:
    """`python -m agents_mcp serve ARGS` with exactly `env` (plus PATH/HOME the SDK passes on)."""
    full = {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    full.update({k: v for k, v in env.items() if v is not None})
    for var in _SERVER_VARS:
        full.setdefault(var, "")  # the SDK inherits some variables; an empty one counts as unset
    return StdioServerParameters(
        command=sys.executable, args=["-m", "agents_mcp", "serve", *args], env=full, cwd=REPO
    )


class ServerLog:
    """The subprocess's stderr, written to a file the test can read at any time."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8", errors="replace")


@asynccontextmanager
async def stdio_server(
    env: Mapping[str, str],
    *args: str,
    log_dir: Path,
    **client_options: Any,
) -> AsyncIterator[tuple[Client, ServerLog]]:
    """The real server as a subprocess over stdio, with an MCP client connected to it."""
    log_path = log_dir / "server-stderr.log"
    with log_path.open("w", encoding="utf-8") as errlog:
        transport = stdio_client(server_params(env, *args), errlog=errlog)
        async with Client(transport, **client_options) as client:
            yield client, ServerLog(log_path)


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def tools_list_bytes(tools: list[Any]) -> int:
    """Size of the tools/list result as compact JSON on the wire (camelCase, no nulls)."""
    payload = {
        "tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    }
    return len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
