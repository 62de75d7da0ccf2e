"""End to end: `python -m agents_mcp serve` as a real subprocess, the MCP client over stdio, the
sandbox over loopback HTTP. Every tool succeeds; every failure is a clear isError result."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import httpx2
import pytest

from agents_mcp.tools.registry import tool_names
from tests.support.mcp_fixture import sandbox_env, stdio_server, text_of
from tests.support.paths import REPO

pytestmark = pytest.mark.anyio

DEMO = "agent_demo_support"
DEMO_WITH_TOKEN = "agent_demo_faq"  # enable_auth: the link carries a shareable token


@pytest.fixture(autouse=True)
def _restore_demo_agents(sandbox):
    """The sandbox is shared by the whole session: leave no copies behind for other tests."""
    yield
    sandbox.reset(agents=True)


def get_agent(sandbox, agent_id: str) -> httpx2.Response:
    return httpx2.get(
        f"{sandbox.base_url}/v1/convai/agents/{agent_id}", headers=sandbox.headers(), timeout=10
    )


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_each_agent_tool_succeeds(fresh_sandbox, tmp_path):
    env = sandbox_env(fresh_sandbox, tmp_path)
    async with stdio_server(env, log_dir=tmp_path) as (client, log):
        names = [t.name for t in (await client.list_tools()).tools]
        assert sorted(names) == sorted(tool_names())

        link = await client.call_tool("get_agent_link", {"agent_id": DEMO_WITH_TOKEN})
        assert not link.is_error, text_of(link)
        data = link.structured_content
        assert data["url"] == f"https://elevenlabs.io/app/talk-to?agent_id={DEMO_WITH_TOKEN}"
        assert data["token"] and data["token_purpose"] == "shareable_link"
        assert data["url"] in text_of(link)
        assert not text_of(link).lstrip().startswith("{")  # text for a reader, not JSON again

        copy = await client.call_tool("duplicate_agent", {"agent_id": DEMO, "name": "e2e copy"})
        assert not copy.is_error, text_of(copy)
        new_id = copy.structured_content["agent_id"]
        assert copy.structured_content == {
            "agent_id": new_id,
            "name": "e2e copy",
            "source_agent_id": DEMO,
        }
        assert new_id != DEMO and new_id in text_of(copy)
        created = get_agent(fresh_sandbox, new_id)
        assert created.status_code == 200 and created.json()["name"] == "e2e copy"

        # The stdio client declares no elicitation: confirm=true is the way to confirm.
        gone = await client.call_tool("delete_agent", {"agent_id": new_id, "confirm": True})
        assert not gone.is_error, text_of(gone)
        assert gone.structured_content == {"agent_id": new_id, "deleted": True, "status": "deleted"}
        assert get_agent(fresh_sandbox, new_id).status_code == 404

    stderr = log.text()
    assert f"tool=get_agent_link agent_id={DEMO_WITH_TOKEN} outcome=ok duration_ms=" in stderr
    assert f"tool=delete_agent agent_id={new_id} outcome=ok" in stderr
    assert fresh_sandbox.api_key not in stderr


async def test_delete_without_confirmation_deletes_nothing(fresh_sandbox, tmp_path):
    env = sandbox_env(fresh_sandbox, tmp_path)
    async with stdio_server(env, log_dir=tmp_path) as (client, log):
        copy = await client.call_tool("duplicate_agent", {"agent_id": DEMO})
        agent_id = copy.structured_content["agent_id"]
        fresh_sandbox.clear_requests()

        refused = await client.call_tool("delete_agent", {"agent_id": agent_id})
    assert refused.structured_content == {
        "agent_id": agent_id,
        "deleted": False,
        "status": "needs_confirmation",
    }
    text = text_of(refused)
    assert "Not deleted" in text and "confirm=true" in text and agent_id in text
    assert "'Northwind Support (demo)" in text  # named, read with one GET
    assert [r["method"] for r in fresh_sandbox.requests()] == ["GET"]  # no DELETE
    assert get_agent(fresh_sandbox, agent_id).status_code == 200  # the sandbox still has it
    assert f"agent_id={agent_id} outcome=not_confirmed" in log.text()


async def test_errors_are_clear_tool_errors(fresh_sandbox, tmp_path):
    env = sandbox_env(fresh_sandbox, tmp_path)
    async with stdio_server(env, log_dir=tmp_path) as (client, log):
        # invalid id: refused before any request
        for tool in ("get_agent_link", "duplicate_agent", "delete_agent"):
            args: dict[str, object] = {"agent_id": "agent x/../../user"}
            if tool == "delete_agent":
                args["confirm"] = True
            bad = await client.call_tool(tool, args)
            assert bad.is_error, tool
            assert "Invalid agent id" in text_of(bad) and "sent" in text_of(bad)
        assert fresh_sandbox.requests() == []

        unknown = await client.call_tool("get_agent_link", {"agent_id": "agent_doesnotexist0000"})
        assert unknown.is_error
        assert "Unknown agent" in text_of(unknown) and "agent_doesnotexist0000" in text_of(unknown)

        fresh_sandbox.arm_fault("rate_limit", match={"path_suffix": "/link"}, retry_after=7)
        limited = await client.call_tool("get_agent_link", {"agent_id": DEMO})
        assert limited.is_error
        assert "Rate limited" in text_of(limited) and "Retry in 7 s" in text_of(limited)

        fresh_sandbox.arm_fault("http_503", match={"path_suffix": "/duplicate"})
        down = await client.call_tool("duplicate_agent", {"agent_id": DEMO})
        assert down.is_error
        assert "could not answer" in text_of(down)
        assert "copy may have been created" in text_of(down)

        # the server is still healthy after all that
        ok = await client.call_tool("get_agent_link", {"agent_id": DEMO})
        assert not ok.is_error

    stderr = log.text()
    for outcome in ("invalid_agent_id", "agent_not_found", "rate_limited", "upstream"):
        assert f"outcome={outcome}" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("key", "expected"),
    [("sk_wrong_key_0123456789abcdef", "refused the API key"), ("", "No API key")],
)
async def test_bad_or_missing_key_names_the_variable(fresh_sandbox, tmp_path, key, expected):
    env = sandbox_env(fresh_sandbox, tmp_path, ELEVENLABS_API_KEY=key)
    async with stdio_server(env, log_dir=tmp_path) as (client, log):
        result = await client.call_tool("get_agent_link", {"agent_id": DEMO})
    assert result.is_error
    text = text_of(result)
    assert "ELEVENLABS_API_KEY" in text and expected in text
    if key:
        assert key not in text and key not in log.text()
    assert "xi-api-key" not in text.lower()


async def test_upstream_down(fresh_sandbox, tmp_path):
    env = sandbox_env(
        fresh_sandbox,
        tmp_path,
        ELEVENLABS_BASE_URL=f"http://127.0.0.1:{closed_port()}",
        AGENTS_MCP_CONNECT_TIMEOUT="2",
    )
    async with stdio_server(env, log_dir=tmp_path) as (client, _log):
        result = await client.call_tool("get_agent_link", {"agent_id": DEMO})
    assert result.is_error
    text = text_of(result)
    assert "could not answer" in text and "retry" in text
    assert fresh_sandbox.api_key not in text


async def test_read_only_hides_delete_and_duplicate(fresh_sandbox, tmp_path):
    env = sandbox_env(fresh_sandbox, tmp_path, AGENTS_MCP_READ_ONLY="1")
    async with stdio_server(env, log_dir=tmp_path) as (client, _log):
        names = {t.name for t in (await client.list_tools()).tools}
        assert "delete_agent" not in names and "duplicate_agent" not in names
        assert {"get_agent_link", "simulate_conversation", "get_simulation"} <= names
        assert "cancel_simulation" in names  # stopping a simulation changes no agent
        attempt = await client.call_tool("delete_agent", {"agent_id": DEMO, "confirm": True})
    assert attempt.is_error
    assert get_agent(fresh_sandbox, DEMO).status_code == 200


async def test_tools_filter_and_json_logs(fresh_sandbox, tmp_path):
    env = sandbox_env(
        fresh_sandbox,
        tmp_path,
        AGENTS_MCP_TOOLS="get_agent_link,get_simulation",
        AGENTS_MCP_LOG_JSON="1",
    )
    async with stdio_server(env, log_dir=tmp_path) as (client, log):
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == {"get_agent_link", "get_simulation"}
        await client.call_tool("get_agent_link", {"agent_id": DEMO})
    entries = [json.loads(line) for line in log.text().splitlines() if line.strip()]
    calls = [e for e in entries if e.get("tool") == "get_agent_link"]
    assert calls and calls[0]["agent_id"] == DEMO and calls[0]["outcome"] == "ok"
    assert isinstance(calls[0]["duration_ms"], int)


def test_unknown_tool_name_is_a_start_up_error(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "AGENTS_MCP_TOOLS": "get_agent_link,delete_everything",
        "AGENTS_MCP_DATA_DIR": str(tmp_path),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "agents_mcp", "serve"],
        env=env,
        cwd=REPO,
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""  # stdout belongs to the protocol
    assert "delete_everything" in proc.stderr
    for name in tool_names():
        assert name in proc.stderr


async def test_serve_sandbox_needs_no_key_and_honours_the_log_level(tmp_path):
    env = {"AGENTS_MCP_DATA_DIR": str(tmp_path)}
    async with stdio_server(env, "--sandbox", "--log-level", "WARNING", log_dir=tmp_path) as (
        client,
        log,
    ):
        link = await client.call_tool("get_agent_link", {"agent_id": DEMO})
        assert not link.is_error, text_of(link)
        copy = await client.call_tool("duplicate_agent", {"agent_id": DEMO})
        assert not copy.is_error, text_of(copy)
        missing = await client.call_tool("get_agent_link", {"agent_id": "agent_nothere0000"})
        assert missing.is_error
    stderr = log.text()
    assert "outcome=ok" not in stderr  # INFO lines are below WARNING
    assert "outcome=agent_not_found" in stderr
