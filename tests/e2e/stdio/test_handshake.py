"""The real server process answers the handshake before the SDK is imported
(agents_mcp/handshake.py), then the SDK takes the pipe over: every request is answered exactly
once, the SDK's own answers to the early ones are the same (else it logs "bug:"), and what was
pipelined behind the handshake (a tool call) is served by the SDK.

Raw JSON-RPC lines over the process's pipes: what a client writes, byte for byte.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agents_mcp.handshake import HANDSHAKE_VERSIONS
from agents_mcp.tools import catalogue
from tests.support.jsonrpc import INITIALIZED, lines
from tests.support.jsonrpc import initialize as _initialize
from tests.support.jsonrpc import request as _request
from tests.support.mcp_fixture import ServerLog, sandbox_env, server_params, stdio_server
from tests.support.paths import REPO

DEMO = "agent_demo_support"
TIMEOUT = 30.0


LINK_CALL = {"name": "get_agent_link", "arguments": {"agent_id": DEMO}}


class RawServer:
    """`python -m agents_mcp serve` on pipes; answers read line by line with a deadline."""

    def __init__(self, env: dict[str, str], stderr: Path) -> None:
        params = server_params({"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env})
        self._errfile = stderr.open("wb")
        self.log = ServerLog(stderr)
        self.proc = subprocess.Popen(
            [sys.executable, *params.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errfile,
            env=params.env,
            cwd=REPO,
        )
        self._buffer = b""
        self.answers: list[dict] = []

    def send(self, *messages: dict) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(lines(*messages))
        self.proc.stdin.flush()

    def answer(self, request_id: Any) -> dict:
        """Read until the answer to `request_id` (every answer read is kept in `answers`)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            for answer in self.answers:
                if answer.get("id") == request_id:
                    return answer
            if not self._read_some(deadline):
                raise AssertionError(f"no answer to {request_id!r}; got {self.answers}")

    def close(self) -> int:
        """Close stdin, read every answer left until stdout closes; the exit code."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        deadline = time.monotonic() + TIMEOUT
        while self._read_some(deadline):
            pass
        code = self.proc.wait(timeout=TIMEOUT)
        self._errfile.close()
        return code

    def _read_some(self, deadline: float) -> bool:
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            if not selector.select(max(0.0, deadline - time.monotonic())):
                raise AssertionError("the server did not answer in time")
        chunk = os.read(self.proc.stdout.fileno(), 65536)
        if not chunk:
            return False
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        self.answers.extend(json.loads(line) for line in lines if line.strip())
        return True

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._errfile.close()


def _ids(answers: list[dict]) -> list[Any]:
    return [a.get("id") for a in answers]


@pytest.mark.parametrize(
    ("version", "extra", "tools"),
    [
        *((v, {}, None) for v in HANDSHAKE_VERSIONS),
        ("2025-06-18", {"AGENTS_MCP_READ_ONLY": "true"}, "read-only"),
        ("2025-11-25", {"AGENTS_MCP_TOOLS": "get_agent_link,list_agents"}, "two"),
    ],
    ids=[*HANDSHAKE_VERSIONS, "read-only", "two-tools"],
)
def test_each_request_is_answered_once_and_the_answers_are_the_sdks(
    sandbox, tmp_path: Path, version: str, extra: dict[str, str], tools: str | None
) -> None:
    env = sandbox_env(sandbox, tmp_path / "data", AGENTS_MCP_LOG_LEVEL="DEBUG", **extra)
    server = RawServer(env, tmp_path / "stderr.log")
    try:
        server.send(
            _initialize(1, version),
            INITIALIZED,
            _request(2, "tools/list"),
            _request(3, "tools/call", LINK_CALL),  # pipelined behind the handshake
        )
        call = server.answer(3)
        server.send(_request(4, "ping"), _request(5, "tools/list"))
        server.answer(5)
        code = server.close()
    finally:
        server.kill()

    assert code == 0
    assert sorted(_ids(server.answers)) == [1, 2, 3, 4, 5]  # each once, none twice
    init = server.answer(1)["result"]
    assert init["protocolVersion"] == version
    assert init["serverInfo"]["name"] == "agents-mcp"
    names = [t["name"] for t in server.answer(2)["result"]["tools"]]
    if tools is None:
        assert names == list(catalogue.tool_names())
    elif tools == "read-only":
        assert names and not set(names) & catalogue.mutating_tools()
    else:
        assert names == ["get_agent_link", "list_agents"]
    assert server.answer(5)["result"] == server.answer(2)["result"]  # the SDK's own listing
    assert call["result"]["structuredContent"]["agent_id"] == DEMO, call
    log = server.log.text()
    assert "answered early" in log and "bug:" not in log
    assert sandbox.api_key not in log


def test_the_python_client_is_served_by_the_sdk_from_its_first_line(
    sandbox, tmp_path: Path
) -> None:
    """The SDK's own client opens with `server/discover` (2026-07-28): nothing is answered
    early, the SDK serves the whole connection."""
    import anyio

    async def main() -> str:
        env = sandbox_env(sandbox, tmp_path / "data", AGENTS_MCP_LOG_LEVEL="DEBUG")
        async with stdio_server(env, log_dir=tmp_path) as (client, log):
            listed = (await client.list_tools()).tools
            assert [t.name for t in listed] == list(catalogue.tool_names())
            result = await client.call_tool("get_agent_link", {"agent_id": DEMO})
            assert not result.is_error
            return log.text()

    log = anyio.run(main)
    assert " 0 answered early" in log and "bug:" not in log


def test_stdin_closed_during_the_handshake_ends_the_server(tmp_path: Path) -> None:
    env = {"ELEVENLABS_API_KEY": "sk_handshake_eof", "AGENTS_MCP_DATA_DIR": str(tmp_path)}
    server = RawServer(env, tmp_path / "stderr.log")
    try:
        server.send(_initialize(1))
        assert "result" in server.answer(1)
        code = server.close()  # before the SDK has taken over
    finally:
        server.kill()
    assert code == 0 and _ids(server.answers) == [1]
    assert "Traceback" not in server.log.text()


@pytest.mark.parametrize(
    "opening",
    [
        _initialize(1, clientInfo={"name": "no version"}),
        _request(1, "tools/list"),
    ],
    ids=["invalid-initialize", "no-initialize"],
)
def test_what_is_not_a_handshake_gets_the_sdks_answer(tmp_path: Path, opening: dict) -> None:
    env = {"ELEVENLABS_API_KEY": "sk_handshake_bad", "AGENTS_MCP_DATA_DIR": str(tmp_path)}
    server = RawServer(env, tmp_path / "stderr.log")
    try:
        server.send(opening, _initialize(2))
        first = server.answer(1)
        server.answer(2)
        code = server.close()
    finally:
        server.kill()
    assert code == 0
    assert "error" in first, first  # the SDK refused it, as without the early answers
    assert sorted(_ids(server.answers)) == [1, 2]
