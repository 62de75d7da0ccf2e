"""MCP logging end to end: the real server over stdio, the real client, the sandbox over HTTP.

The server declares the logging capability, sends nothing until the client asks, then sends its
log lines (the tool-call line among them) at the level asked for, redacted like stderr; on a
2026-07-28 connection the per-request opt-in decides instead of logging/setLevel.
"""

from __future__ import annotations

import logging

import anyio
import pytest
from mcp.types import LoggingMessageNotificationParams

from agents_mcp import mcp_logging
from tests.support.http_sidecar import TOKEN, Sidecar, clean_env, mcp_client
from tests.support.mcp_fixture import sandbox_env, stdio_server

pytestmark = [
    pytest.mark.anyio,
    # the SDK marks logging deprecated for the 2026-07-28 protocol; clients still use it
    pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
]

DEMO = "agent_demo_faq"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[LoggingMessageNotificationParams] = []

    async def __call__(self, params: LoggingMessageNotificationParams) -> None:
        self.messages.append(params)

    def texts(self) -> list[str]:
        return [str(m.data) for m in self.messages]

    async def wait_for(self, needle: str) -> LoggingMessageNotificationParams:
        with anyio.fail_after(5):
            while True:
                for message in self.messages:
                    if needle in str(message.data):
                        return message
                await anyio.sleep(0.02)


async def test_set_level_then_tool_lines_arrive_redacted(sandbox, tmp_path):
    inbox = Inbox()
    env = sandbox_env(sandbox, tmp_path)
    async with stdio_server(env, log_dir=tmp_path, mode="legacy", logging_callback=inbox) as (
        client,
        log,
    ):
        assert client.server_capabilities.logging is not None

        # before logging/setLevel: nothing is sent
        assert not (await client.call_tool("get_agent_link", {"agent_id": DEMO})).is_error
        await anyio.sleep(0.3)
        assert inbox.messages == []

        assert (await client.set_logging_level("info")).model_dump(exclude_none=True) == {}
        assert not (await client.call_tool("get_agent_link", {"agent_id": DEMO})).is_error
        line = await inbox.wait_for(f"tool=get_agent_link agent_id={DEMO} outcome=ok")
        assert line.level == "info" and line.logger == "agents_mcp.tools"

        # the API key used as an agent id: the line says *** (the stderr line too)
        await client.call_tool("get_agent_link", {"agent_id": sandbox.api_key})
        failed = await inbox.wait_for("tool=get_agent_link agent_id=*** outcome=")
        assert failed.level == "warning"
        assert not any(sandbox.api_key in text for text in inbox.texts())
        assert sandbox.api_key not in log.text()

        # warning and above only: the next ok line is not sent, a failure is
        await client.set_logging_level("warning")
        count = len(inbox.messages)
        assert not (await client.call_tool("get_agent_link", {"agent_id": DEMO})).is_error
        await client.call_tool("get_agent_link", {"agent_id": "agent_nobody_here"})
        await inbox.wait_for("agent_id=agent_nobody_here")
        assert all(m.level != "info" for m in inbox.messages[count:])

        # a client that asks for debug adds nothing to stderr, which stays at INFO
        await client.set_logging_level("debug")
        assert not (await client.call_tool("get_agent_link", {"agent_id": DEMO})).is_error
        await anyio.sleep(0.3)
        assert " DEBUG " not in log.text()
        assert f"tool=get_agent_link agent_id={DEMO} outcome=ok" in log.text()


async def test_modern_connection_sends_only_on_request_opt_in(sandbox, tmp_path):
    env = sandbox_env(sandbox, tmp_path)
    opted, warned, silent = Inbox(), Inbox(), Inbox()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    async with (
        stdio_server(env, log_dir=tmp_path, logging_callback=opted, log_level="info") as (a, _),
        stdio_server(env, log_dir=tmp_path / "b", logging_callback=warned, log_level="warning") as (
            b,
            _,
        ),
        stdio_server(env, log_dir=tmp_path / "c", logging_callback=silent) as (c, _),
    ):
        assert a.protocol_version == "2026-07-28"
        for client in (a, b, c):
            assert not (await client.call_tool("get_agent_link", {"agent_id": DEMO})).is_error
        await b.call_tool("get_agent_link", {"agent_id": "agent_nobody_here"})
        await opted.wait_for(f"tool=get_agent_link agent_id={DEMO} outcome=ok")
        await warned.wait_for("agent_id=agent_nobody_here")
        await anyio.sleep(0.3)
        assert all(m.level == "warning" for m in warned.messages)
        assert silent.messages == []


async def test_http_sidecar_sends_the_lines_on_the_call_stream(sandbox, tmp_path):
    env = clean_env(
        ELEVENLABS_BASE_URL=sandbox.base_url,
        ELEVENLABS_API_KEY=sandbox.api_key,
        AGENTS_MCP_AUTH_TOKEN=TOKEN,
        AGENTS_MCP_DATA_DIR=str(tmp_path),
    )
    inbox, other = Inbox(), Inbox()
    with Sidecar.serve(env=env) as sidecar:
        async with (
            mcp_client(sidecar.url, mode="legacy", logging_callback=inbox) as client,
            mcp_client(sidecar.url, mode="legacy", logging_callback=other) as bystander,
        ):
            await client.set_logging_level("info")
            await bystander.set_logging_level("info")
            assert not (await client.call_tool("get_agent_link", {"agent_id": DEMO})).is_error
            await inbox.wait_for(f"tool=get_agent_link agent_id={DEMO} outcome=ok")
            await anyio.sleep(0.3)
            assert other.messages == []  # another session's lines are not its business
        assert TOKEN not in sidecar.log() and sandbox.api_key not in sidecar.log()


def test_python_levels_map_to_mcp_levels():
    assert mcp_logging.mcp_level(logging.DEBUG) == "debug"
    assert mcp_logging.mcp_level(logging.INFO) == "info"
    assert mcp_logging.mcp_level(logging.INFO + 5) == "notice"
    assert mcp_logging.mcp_level(logging.WARNING) == "warning"
    assert mcp_logging.mcp_level(logging.ERROR + 1) == "error"
    assert mcp_logging.mcp_level(logging.CRITICAL) == "critical"
    assert mcp_logging.mcp_level(5) == "debug"
