"""The MCP handshake answered while the SDK is still being imported.

A desktop client spawns the stdio server and waits for the answers to `initialize` and
`tools/list` before it shows the tools. Importing the MCP SDK takes about half a second (it
builds the pydantic types of every protocol version), and neither answer needs it: the tools
are in the catalogue (tools/catalogue.py), the instructions are one sentence per tool, the
capabilities are fixed. So `serve` starts `EarlyAnswers` as soon as its settings are read: a
thread that reads the client's lines, answers `initialize`, `ping` and `tools/list` itself, and
keeps every line it read.

Once the SDK server is built, its transport takes the pipe over (`hand_over`, used by
agents_mcp/stdio.py): every line read so far is given to the server in order, so its session is
initialized exactly as the client asked, and the server's own answers to the requests already
answered are not sent again; each is compared with the early one first, and a difference is
logged as the bug it is (tests/e2e/stdio/test_handshake.py fails on it).

Only the initialize handshake is answered early (what desktop clients and the official
TypeScript SDK send). A connection that opens with anything else, such as the 2026-07-28
protocol's `server/discover` probe (the Python SDK's client opens with it), is left to the SDK
whole, and so is any request this module cannot vouch for (params it does not know, a page
cursor). Nothing here imports the SDK or pydantic.
"""

from __future__ import annotations

import json
import os
import selectors
import stat
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

from agents_mcp import __version__

if TYPE_CHECKING:
    from agents_mcp.settings import Settings

SERVER_NAME = "agents-mcp"

# the revisions the SDK negotiates through `initialize` (mcp_types.HANDSHAKE_PROTOCOL_VERSIONS),
# and what it advertises at them (both pinned by tests/unit/test_handshake.py)
HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
CAPABILITIES: dict[str, Any] = {
    "completions": {},
    "logging": {},
    "prompts": {"listChanged": False},
    "resources": {"listChanged": False, "subscribe": False},
    "tools": {"listChanged": False},
}
_CHUNK = 256 * 1024


def _is_pipe_or_socket(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def pipes_available() -> bool:
    """True when stdin and stdout are pipes or sockets on a POSIX system: the stdio server
    then reads and writes them itself (agents_mcp/stdio.py), and can answer early."""
    if sys.platform == "win32":
        return False
    return _is_pipe_or_socket(0) and _is_pipe_or_socket(1)


def answer_early(settings: Settings) -> EarlyAnswers | None:
    """Start answering the handshake for the tools `settings` enable; None when the standard
    streams are not pipes (the SDK's transport) or the tool settings are wrong (the server
    reports that and exits)."""
    from agents_mcp.errors import ConfigError
    from agents_mcp.tools import catalogue
    from agents_mcp.tools.enabled import enabled_tools

    if not pipes_available():
        return None
    try:
        enabled = enabled_tools(settings)
    except ConfigError:
        return None
    early = EarlyAnswers(
        instructions=catalogue.instructions(enabled), tools=catalogue.wire_list(enabled)
    )
    return early.start()


def initialize_result(requested: str, instructions: str) -> dict[str, Any]:
    """What the server answers to `initialize` asking for protocol revision `requested`."""
    version = requested if requested in HANDSHAKE_VERSIONS else HANDSHAKE_VERSIONS[-1]
    return {
        "capabilities": CAPABILITIES,
        "instructions": instructions,
        "protocolVersion": version,
        "serverInfo": {"name": SERVER_NAME, "version": __version__},
    }


def _is_initialize_params(params: Any) -> TypeGuard[dict[str, Any]]:
    """The fields the SDK requires of `initialize` params, with the right JSON types."""
    if not isinstance(params, dict):
        return False
    client = params.get("clientInfo")
    capabilities = params.get("capabilities")
    return (
        isinstance(params.get("protocolVersion"), str)
        and isinstance(capabilities, dict)
        and all(isinstance(value, dict) for value in capabilities.values())
        and isinstance(client, dict)
        and isinstance(client.get("name"), str)
        and isinstance(client.get("version"), str)
    )


@dataclass
class Handover:
    """What the early reader leaves to the server's transport."""

    lines: list[bytes] = field(default_factory=list)  # every complete line read, in order
    partial: bytes = b""  # the start of a line not complete yet
    eof: bool = False  # the client closed stdin
    # request id -> the answer sent: {"result": ...} or {"error": ...}
    answered: dict[Any, dict[str, Any]] = field(default_factory=dict)


class EarlyAnswers:
    """Reads stdin in a thread and answers the handshake until `hand_over` is called."""

    def __init__(
        self,
        *,
        instructions: str,
        tools: list[dict[str, Any]],
        fd_in: int = 0,
        fd_out: int = 1,
    ) -> None:
        self._fd_in, self._fd_out = fd_in, fd_out
        self._instructions = instructions
        self._tools_result = {"tools": tools}
        self._handover = Handover()
        self._initialized = False  # `initialize` was answered here
        self._passive = False  # the connection is the SDK's alone (not the handshake era)
        self._can_write = True
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="agents-mcp-handshake", daemon=True)

    def start(self) -> EarlyAnswers:
        self._thread.start()
        return self

    def hand_over(self) -> Handover:
        """Stop reading (an answer being written is finished first) and return what was read."""
        os.write(self._wake_w, b"x")
        self._thread.join()
        os.close(self._wake_r)
        os.close(self._wake_w)
        return self._handover

    # --- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        pending = bytearray()
        with selectors.DefaultSelector() as selector:
            selector.register(self._fd_in, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while True:
                ready = {key.fd for key, _ in selector.select()}
                if self._wake_r in ready:
                    break
                try:
                    chunk = os.read(self._fd_in, _CHUNK)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    self._handover.eof = True
                    break
                pending += chunk
                start = 0
                while (end := pending.find(b"\n", start)) >= 0:
                    self._take(bytes(pending[start:end]))
                    start = end + 1
                del pending[:start]
        self._handover.partial = bytes(pending)

    def _take(self, line: bytes) -> None:
        self._handover.lines.append(line)
        if self._passive or not line.strip():
            return
        try:
            message = json.loads(line)
        except ValueError:
            return  # the SDK reports it
        if not isinstance(message, dict) or not isinstance(message.get("method"), str):
            return
        request_id = message.get("id")
        if not _is_id(request_id) or request_id in self._handover.answered:
            if not self._initialized and message["method"] != "notifications/initialized":
                self._passive = True  # a notification first: not a handshake answered here
            return
        answer = self._answer(message["method"], message.get("params"))
        if answer is not None:
            self._send(request_id, answer)

    def _answer(self, method: str, params: Any) -> dict[str, Any] | None:
        """The answer to a request, or None to leave it to the SDK."""
        if not self._initialized:
            if method == "initialize" and _is_initialize_params(params):
                self._initialized = True
                return {"result": initialize_result(params["protocolVersion"], self._instructions)}
            if method != "ping":  # anything else first: not a handshake this module answers
                self._passive = True
            return None
        if method == "tools/list" and _no_params(params):
            return {"result": self._tools_result}
        if method == "ping" and _no_params(params):
            return {"result": {}}
        return None

    def _send(self, request_id: Any, answer: dict[str, Any]) -> None:
        if not self._can_write:
            return
        data = json.dumps(
            {"jsonrpc": "2.0", "id": request_id, **answer},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        view = memoryview(data + b"\n")
        try:
            while view:
                view = view[os.write(self._fd_out, view) :]
        except OSError:  # the client is gone: reading goes on to its EOF
            self._can_write = False
            return
        self._handover.answered[request_id] = answer


def _is_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _no_params(params: Any) -> bool:
    """No params, or only `_meta` (a progress token): a cursor or anything else is the SDK's."""
    return params is None or (isinstance(params, dict) and set(params) <= {"_meta"})
