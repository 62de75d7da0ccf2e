"""The handshake answered before the SDK is imported (agents_mcp/handshake.py): the same answers
the SDK gives, over real pipes, and nothing answered that the SDK should."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION

from agents_mcp import __version__
from agents_mcp.handshake import (
    CAPABILITIES,
    HANDSHAKE_VERSIONS,
    SERVER_NAME,
    EarlyAnswers,
    Handover,
    initialize_result,
)
from agents_mcp.server import build_server
from agents_mcp.settings import Settings
from agents_mcp.tools import catalogue
from agents_mcp.tools.enabled import enabled_tools
from tests.support.jsonrpc import INITIALIZED, lines
from tests.support.jsonrpc import initialize as _initialize
from tests.support.jsonrpc import request as _request

INSTRUCTIONS = "Manage and test ElevenLabs voice agents."


@contextmanager
def _early(tools: list[dict] | None = None) -> Iterator[tuple[EarlyAnswers, int, int, int]]:
    """EarlyAnswers on two real pipes: (it, the client's write end, the client's read end, the
    server's read end: what the SDK's transport reads after the handover)."""
    to_server_r, to_server_w = os.pipe()
    from_server_r, from_server_w = os.pipe()
    early = EarlyAnswers(
        instructions=INSTRUCTIONS, tools=tools or [], fd_in=to_server_r, fd_out=from_server_w
    ).start()
    try:
        yield early, to_server_w, from_server_r, to_server_r
    finally:
        for fd in (to_server_r, to_server_w, from_server_r, from_server_w):
            with suppress(OSError):
                os.close(fd)


def _send(fd: int, *messages: dict, tail: bytes = b"") -> bytes:
    data = lines(*messages) + tail
    os.write(fd, data)
    return data


def _answers(early: EarlyAnswers, fd: int) -> tuple[list[dict], Handover]:
    """Hand over (every answer is written by then), then read every answer."""
    handover = early.hand_over()
    return [json.loads(line) for line in _unread(fd).splitlines()], handover


def _unread(fd: int) -> bytes:
    """What is still in the pipe: the SDK's transport reads it after the handover."""
    os.set_blocking(fd, False)
    data = b""
    with suppress(BlockingIOError):
        while chunk := os.read(fd, 65536):
            data += chunk
    return data


def _nothing_lost(handover: Handover, server_r: int, sent: bytes) -> None:
    """The lines handed over, the partial line and what is left in the pipe are what was sent."""
    read = b"".join(line + b"\n" for line in handover.lines) + handover.partial
    assert read + _unread(server_r) == sent


def _sync(client_w: int, client_r: int, request_id: Any) -> tuple[bytes, list[dict]]:
    """Send a ping and read the answers up to its own: everything sent before it was read.
    Returns what was sent and the answers read."""
    sent = _send(client_w, _request(request_id, "ping"))
    buffered = b""
    while not buffered.endswith(b"\n") or not any(
        json.loads(line).get("id") == request_id for line in buffered.splitlines()
    ):
        buffered += os.read(client_r, 65536)
    return sent, [json.loads(line) for line in buffered.splitlines()]


# --- the answers are the SDK's --------------------------------------------------------------


def test_the_handshake_versions_are_the_sdks() -> None:
    assert HANDSHAKE_VERSIONS == HANDSHAKE_PROTOCOL_VERSIONS


@pytest.mark.parametrize(
    "settings",
    [
        Settings(),
        Settings(read_only=True),
        Settings(tools=["get_agent_link", "run_tests"]),
    ],
    ids=["all", "read-only", "two-tools"],
)
def test_initialize_and_tools_list_are_what_the_sdk_answers(settings: Settings) -> None:
    settings = settings.model_copy(update={"base_url": "http://127.0.0.1:9"})
    enabled = enabled_tools(settings)

    async def sdk_answers() -> tuple[dict, list[dict]]:
        async with Client(build_server(settings), mode="legacy") as client:
            result = client.session.initialize_result
            assert result is not None
            listed = (await client.list_tools()).tools
            return (
                result.model_dump(mode="json", by_alias=True, exclude_none=True),
                [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed],
            )

    initialized, tools = anyio.run(sdk_answers)
    early = initialize_result(initialized["protocolVersion"], catalogue.instructions(enabled))
    assert early == initialized
    assert early["capabilities"] == CAPABILITIES
    assert early["serverInfo"] == {"name": SERVER_NAME, "version": __version__}
    assert catalogue.wire_list(enabled) == tools


@pytest.mark.parametrize("version", [*HANDSHAKE_VERSIONS, "2099-01-01", "2026-07-28"])
def test_the_version_negotiated_is_the_sdks_rule(version: str) -> None:
    expected = version if version in HANDSHAKE_PROTOCOL_VERSIONS else LATEST_HANDSHAKE_VERSION
    assert initialize_result(version, "")["protocolVersion"] == expected


# --- what is answered, what is left to the SDK ----------------------------------------------


def test_the_handshake_is_answered_and_every_line_is_kept() -> None:
    tools = [{"name": "t", "inputSchema": {"type": "object"}}]
    with _early(tools) as (early, client_w, client_r, server_r):
        call = _request(3, "tools/call", {"name": "t", "arguments": {}})
        sent = _send(
            client_w,
            _initialize(),
            INITIALIZED,
            _request(2, "tools/list"),
            call,
            _request(4, "tools/list", {"cursor": "x"}),  # a page: the SDK's to answer
        )
        pinged, answers = _sync(client_w, client_r, 5)
        half = b'{"jsonrpc":"2.0","id":6,'
        os.write(client_w, half)
        rest, handover = _answers(early, client_r)
        _nothing_lost(handover, server_r, sent + pinged + half)
    answers += rest

    by_id = {a["id"]: a for a in answers}
    assert list(by_id) == [1, 2, 5]  # in order, each once; 3 and 4 wait for the SDK
    assert by_id[1]["result"]["protocolVersion"] == "2025-06-18"
    assert by_id[1]["result"]["instructions"] == INSTRUCTIONS
    assert by_id[2]["result"] == {"tools": tools}
    assert by_id[5]["result"] == {}
    assert len(handover.lines) == 6 and json.loads(handover.lines[3]) == call
    assert set(handover.answered) == {1, 2, 5} and not handover.eof
    assert handover.answered[2] == {"result": {"tools": tools}}


@pytest.mark.parametrize(
    "opening",
    [
        _request(1, "tools/list"),  # no handshake first
        _request(1, "server/discover", {"_meta": {}}),  # the 2026-07-28 protocol: the SDK's
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {}},
        _initialize(clientInfo={"name": "no version"}),  # the SDK rejects it: it answers
        _initialize(capabilities={"roots": True}),
        _initialize(request_id=None),
        _initialize(request_id=1.5),
    ],
    ids=[
        "request",
        "discover",
        "notification",
        "bad-client-info",
        "bad-capabilities",
        "null-id",
        "float-id",
    ],
)
def test_a_connection_that_does_not_open_with_a_handshake_is_the_sdks(opening: dict) -> None:
    with _early() as (early, client_w, client_r, server_r):
        sent = _send(client_w, opening, _initialize(request_id=7), _request(8, "tools/list"))
        answers, handover = _answers(early, client_r)
        _nothing_lost(handover, server_r, sent)
    assert answers == [] and handover.answered == {}


def test_a_repeated_id_and_garbage_are_left_to_the_sdk() -> None:
    with _early() as (early, client_w, client_r, server_r):
        sent = _send(client_w, _initialize(), _request(1, "tools/list"), tail=b"not json\n\n")
        pinged, answers = _sync(client_w, client_r, 2)
        rest, handover = _answers(early, client_r)
        _nothing_lost(handover, server_r, sent + pinged)
    assert [a["id"] for a in answers + rest] == [1, 2] and set(handover.answered) == {1, 2}
    assert len(handover.lines) == 5  # the blank line too: the transport skips it
