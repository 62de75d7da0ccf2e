"""The stdio server answers initialize and tools/list from the catalogue, then warms up
(agents_mcp/warmup.py): tool modules, HTTP client, store and managers after the listing, or at
the first request that needs them, or after IDLE_START seconds. A warm-up that fails keeps the
server up and answers every request that needs it with the reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from agents_mcp.tools import catalogue
from tests.support.mcp_fixture import ServerLog, sandbox_env, stdio_server, text_of
from tests.support.paths import REPO

DEMO = "agent_demo_support"

# Runs in a fresh interpreter, so that sys.modules says what the server loaded, and when.
PROBE = textwrap.dedent(
    """
    import json, sys
    import anyio
    from mcp import Client
    from agents_mcp.server import build_server
    from agents_mcp.settings import load_settings

    HEAVY = ("agents_mcp.api.client", "agents_mcp.tools.agents",
             "agents_mcp.simulations.runner", "agents_mcp.testing.runner",
             "agents_mcp.tools.testing", "agents_mcp.prompts")

    def loaded():
        return sorted(name for name in HEAVY if name in sys.modules)

    async def main():
        server = build_server(load_settings(None), deferred=True)
        seen = {"built": loaded()}
        async with Client(server) as client:
            seen["initialized"] = loaded()
            if sys.argv[1] == "list-first":
                tools = (await client.list_tools()).tools
                seen["listed"] = loaded()
                seen["names"] = [t.name for t in tools]
            result = await client.call_tool("get_agent_link", {"agent_id": sys.argv[2]})
            seen["called"] = loaded()
            seen["link"] = result.structured_content
            seen["state"] = server.state is not None
            seen["prompts"] = [p.name for p in (await client.list_prompts()).prompts]
            seen["after_prompts"] = loaded()
        print(json.dumps(seen))

    anyio.run(main)
    """
)


async def _wait_for(log: ServerLog, line: str) -> str:
    """The server's stderr once it holds `line` (polled: it is a file the server writes)."""
    with anyio.fail_after(10):
        while line not in (text := log.text()):  # noqa: ASYNC110 - a file, not an event
            await anyio.sleep(0.05)
    return text


def _probe(order: str, sandbox, tmp_path: Path) -> dict:
    env = {"PATH": "/usr/bin:/bin", **sandbox_env(sandbox, tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, order, DEMO],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_tools_are_listed_before_anything_heavy_is_loaded(sandbox, tmp_path: Path) -> None:
    seen = _probe("list-first", sandbox, tmp_path)
    assert seen["built"] == seen["initialized"] == seen["listed"] == []
    assert seen["names"] == [entry.name for entry in catalogue.entries()]
    assert {"agents_mcp.tools.agents", "agents_mcp.api.client"} <= set(seen["called"])
    assert seen["link"]["agent_id"] and seen["state"] is True
    # a prompt needs everything: every tool module and the prompts are loaded for it
    assert "test_agent" in seen["prompts"]
    assert {"agents_mcp.tools.testing", "agents_mcp.prompts"} <= set(seen["after_prompts"])


def test_a_first_call_without_a_listing_waits_for_the_warm_up(sandbox, tmp_path: Path) -> None:
    seen = _probe("call-first", sandbox, tmp_path)
    assert seen["initialized"] == []
    assert seen["link"]["agent_id"] and seen["state"] is True


@pytest.mark.anyio
async def test_a_failed_warm_up_is_reported_and_the_server_stays_up(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = {
        "ELEVENLABS_BASE_URL": "http://127.0.0.1:9",
        "ELEVENLABS_API_KEY": "sk_warmup_secret_key",
        "AGENTS_MCP_DATA_DIR": str(blocker / "data"),  # cannot be created
    }
    async with stdio_server(env, log_dir=tmp_path) as (client, log):
        listed = (await client.list_tools()).tools
        assert [t.name for t in listed] == [entry.name for entry in catalogue.entries()]
        for _ in range(2):  # the same answer each time, and the server still answers
            with pytest.raises(MCPError) as caught:
                await client.call_tool("get_agent_link", {"agent_id": "agent_x"})
            assert "could not start" in caught.value.error.message
            assert "Not a directory" in caught.value.error.message
        assert (await client.list_tools()).tools  # still serving
        text = await _wait_for(log, "could not start")
    assert text.count("could not start") == 1
    assert "Traceback" not in text
    assert "sk_warmup_secret_key" not in text


@pytest.mark.anyio
async def test_the_warm_up_starts_on_its_own_when_nothing_asks(sandbox, tmp_path: Path) -> None:
    env = sandbox_env(sandbox, tmp_path / "data", AGENTS_MCP_LOG_LEVEL="INFO")
    async with stdio_server(env, log_dir=tmp_path) as (client, log):
        # only initialize was sent: the state is built after IDLE_START all the same
        await _wait_for(log, "serving the API at")
        result = await client.call_tool("get_agent_link", {"agent_id": DEMO})
        assert not result.is_error, text_of(result)
