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
from mcp_fixture import sandbox_env, stdio_server

from agents_mcp import mcp_logging

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
    opted, silent = Inbox(), Inbox()
    async with (
        stdio_server(env, log_dir=tmp_path, logging_callback=opted, log_level="info") as (a, _),
        stdio_server(env, log_dir=tmp_path / "..", logging_callback=silent) as (b, _),
    ):
        assert not (await a.call_tool("get_agent_link", {"agent_id": DEMO})).is_error
        assert not (await b.call_tool("get_agent_link", {"agent_id": DEMO})).is_error
        await opted.wait_for(f"tool=get_agent_link agent_id={DEMO} outcome=ok")
        await anyio.sleep(0.3)
        assert silent.messages == []


def test_python_levels_map_to_mcp_levels():
    assert mcp_logging.mcp_level(logging.DEBUG) == "debug"
    assert mcp_logging.mcp_level(logging.INFO) == "info"
    assert mcp_logging.mcp_level(logging.INFO + 5) == "notice"
    assert mcp_logging.mcp_level(logging.WARNING) == "warning"
    assert mcp_logging.mcp_level(logging.ERROR + 1) == "error"
    assert mcp_logging.mcp_level(logging.CRITICAL) == "critical"
    assert mcp_logging.mcp_level(5) == "debug"
