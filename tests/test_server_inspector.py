"""A third-party client: the MCP Inspector's CLI (Node) lists the tools and calls get_agent_link
on the server, which talks to the sandbox. Skipped, with the reason, where npx is missing or the
Inspector package cannot be installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from mcp_fixture import REPO

from agents_mcp.tools.registry import tool_names

PACKAGE = os.environ.get("AGENTS_MCP_INSPECTOR", "@modelcontextprotocol/inspector")
INSTALL_TIMEOUT = 300  # the first run downloads the package
CALL_TIMEOUT = 90


def _npx(*args: str, env: dict[str, str] | None = None, timeout: float = CALL_TIMEOUT):
    npx = shutil.which("npx")
    assert npx is not None
    return subprocess.run(
        [npx, "-y", PACKAGE, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def inspector() -> None:
    if shutil.which("npx") is None:
        pytest.skip("npx (Node.js) is not installed: the MCP Inspector CLI cannot run")
    try:
        probe = _npx("--cli", "--help", timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.skip(f"installing {PACKAGE} with npx took over {INSTALL_TIMEOUT} s")
    if probe.returncode != 0:
        pytest.skip(f"{PACKAGE} could not be installed or run: {probe.stderr.strip()[-300:]}")


def _run(sandbox, tmp_path, *method: str) -> dict:
    server_env = {
        "ELEVENLABS_BASE_URL": sandbox.base_url,
        "ELEVENLABS_API_KEY": sandbox.api_key,
        "AGENTS_MCP_DATA_DIR": str(tmp_path),
    }
    env_args = [arg for k, v in server_env.items() for arg in ("-e", f"{k}={v}")]
    command = [sys.executable, "-m", "agents_mcp", "serve"]
    env = {**os.environ, **server_env}
    proc = _npx("--cli", *env_args, *command, *method, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_inspector_lists_the_tools(inspector, sandbox, tmp_path):
    listed = _run(sandbox, tmp_path, "--method", "tools/list")
    tools = {t["name"]: t for t in listed["tools"]}
    assert sorted(tools) == sorted(tool_names())
    assert tools["delete_agent"]["annotations"]["destructiveHint"] is True
    assert tools["get_agent_link"]["inputSchema"]["required"] == ["agent_id"]


def test_inspector_calls_get_agent_link(inspector, sandbox, tmp_path):
    result = _run(
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
