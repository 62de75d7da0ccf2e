"""The stdio transport of agents_mcp.stdio, through the real server process and raw pipes.

What the SDK's transport guaranteed still holds on the loop's own pipes: a line that is not
JSON-RPC is skipped and the session goes on, lines split across writes are put back
together, several messages in one write are all answered, nothing but JSON-RPC reaches stdout,
and EOF on stdin ends the process cleanly.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tests.support.jsonrpc import INITIALIZED, initialize, lines
from tests.support.mcp_fixture import server_params
from tests.support.paths import REPO

INIT = initialize(1)


def test_raw_pipes(tmp_path):
    params = server_params(
        {"ELEVENLABS_BASE_URL": "http://127.0.0.1:9", "AGENTS_MCP_DATA_DIR": str(tmp_path)}
    )
    proc = subprocess.Popen(
        [sys.executable, *params.args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=params.env,
        cwd=REPO,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(b"this is not json\n")
        init = lines(INIT)
        proc.stdin.write(init[:10])  # one message split across two writes
        proc.stdin.flush()
        time.sleep(0.2)
        proc.stdin.write(init[10:])
        # two messages in one write
        proc.stdin.write(
            lines(INITIALIZED) + lines({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        )
        proc.stdin.flush()
        answers = {}
        while 2 not in answers:
            line = proc.stdout.readline()
            assert line, "the server closed stdout before answering"
            message = json.loads(line)  # every line on stdout is JSON-RPC
            assert message["jsonrpc"] == "2.0"
            if "id" in message:
                answers[message["id"]] = message
        assert answers[1]["result"]["serverInfo"]["name"] == "agents-mcp"
        names = {tool["name"] for tool in answers[2]["result"]["tools"]}
        assert "get_agent_link" in names
    finally:
        proc.stdin.close()  # EOF: the server must end by itself
        code = proc.wait(timeout=15)
    assert code == 0
    assert proc.stdout.read() == b""


def test_answers_for_a_slow_reader_are_buffered_not_lost(tmp_path):
    """More answers than a pipe holds while the client is not reading: all arrive."""
    params = server_params(
        {"ELEVENLABS_BASE_URL": "http://127.0.0.1:9", "AGENTS_MCP_DATA_DIR": str(tmp_path)}
    )
    proc = subprocess.Popen(
        [sys.executable, *params.args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=params.env,
        cwd=REPO,
    )
    assert proc.stdin is not None and proc.stdout is not None
    count = 60  # 60 tools/list answers of ~6 KB: several times a 64 KB pipe
    requests = [{"jsonrpc": "2.0", "id": 10 + i, "method": "tools/list"} for i in range(count)]
    try:
        proc.stdin.write(lines(INIT) + lines(INITIALIZED) + b"".join(lines(r) for r in requests))
        proc.stdin.flush()
        time.sleep(1.0)  # the server answers into a full pipe: the rest waits in its buffer
        ids = [json.loads(proc.stdout.readline())["id"] for _ in range(count + 1)]
        assert sorted(ids) == [1, *range(10, 10 + count)]
    finally:
        proc.stdin.close()
        code = proc.wait(timeout=15)
    assert code == 0
