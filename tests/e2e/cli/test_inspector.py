"""A third-party client: the MCP Inspector's CLI (Node) lists the tools and calls get_agent_link
on the server, which talks to the sandbox. The Inspector (pinned) and Node 22 come from
scripts/ci_node.sh (tests/support/node_tools.py): skipped without them, failed under CI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agents_mcp.tools.registry import tool_names
from tests.support.node_tools import node_env, node_tool
from tests.support.paths import REPO

CALL_TIMEOUT = 90


@pytest.fixture(scope="module")
def inspector() -> Path:
    return node_tool("mcp-inspector")


def _cli(inspector: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(inspector), "--cli", *args],
        capture_output=True,
        text=True,
        timeout=CALL_TIMEOUT,
        env=env,
        cwd=REPO,
    )


def _run(inspector: Path, sandbox, tmp_path, *method: str) -> dict:
    server_env = {
        "ELEVENLABS_BASE_URL": sandbox.base_url,
        "ELEVENLABS_API_KEY": sandbox.api_key,
        "AGENTS_MCP_DATA_DIR": str(tmp_path),
        "AGENTS_MCP_LOG_LEVEL": "DEBUG",
    }
    env_args = [arg for k, v in server_env.items() for arg in ("-e", f"{k}={v}")]
    command = [sys.executable, "-m", "agents_mcp", "serve"]
    proc = _cli(inspector, *env_args, *command, *method, env=node_env(**server_env))
    assert proc.returncode == 0, proc.stderr[-2000:]
    # the TypeScript SDK's handshake is answered before the MCP SDK is imported
    # (agents_mcp/handshake.py), and the SDK's own answers agree with it
    assert "answered early" in proc.stderr and " 0 answered early" not in proc.stderr
    assert "bug:" not in proc.stderr
    return json.loads(proc.stdout)


def test_inspector_lists_the_tools(inspector, sandbox, tmp_path):
    listed = _run(inspector, sandbox, tmp_path, "--method", "tools/list")
    tools = {t["name"]: t for t in listed["tools"]}
    assert sorted(tools) == sorted(tool_names())
    assert tools["delete_agent"]["annotations"]["destructiveHint"] is True
    assert tools["get_agent_link"]["inputSchema"]["required"] == ["agent_id"]


def test_inspector_calls_get_agent_link(inspector, sandbox, tmp_path):
    result = _run(
        inspector,
        sandbox,
        tmp_path,
        "--method",
        "tools/call",
        "--tool-name",
        "get_agent_link",
        "--tool-arg",
        "agent_id=agent_demo_faq",
    )
    assert result.get("isError") in (None, False)
    data = result["structuredContent"]
    assert data["url"] == "https://elevenlabs.io/app/talk-to?agent_id=agent_demo_faq"
    assert data["token_purpose"] == "shareable_link" and data["token"]
    assert "talk-to" in result["content"][0]["text"]


def test_inspector_lists_prompts_and_sets_the_log_level(inspector, sandbox, tmp_path):
    listed = _run(inspector, sandbox, tmp_path, "--method", "prompts/list")
    assert "test_agent" in {p["name"] for p in listed["prompts"]}
    answer = _run(
        inspector, sandbox, tmp_path, "--method", "logging/setLevel", "--log-level", "debug"
    )
    assert answer == {}
