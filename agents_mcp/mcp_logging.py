"""The server's log lines as MCP log notifications (`notifications/message`), at the level the
client asked for with `logging/setLevel`.

Rules:
- Only the server's own loggers (`agents_mcp.*`) are forwarded, and a line goes only to the client
  whose request produced it (tool call lines, API client lines, the simulation it started): a
  context variable set by a middleware for each request names the session and the request, and
  the line rides that request's stream, sent before the response; lines logged after it (a
  simulation it started) take the connection's stream. Nothing is sent to a connection that did
  not ask (no `logging/setLevel` yet); on 2026-07-28+ connections the request's `_meta` opt-in
  decides instead.
- Every line is redacted (`logs.redact`) before it leaves, like the stderr line; tracebacks are
  not sent (the stderr log has them).
- The level chosen with `logging/setLevel` lives as long as the connection (an MCP session on
  HTTP; with AGENTS_MCP_STATELESS_HTTP every request is its own connection, so only the 2026
  per-request opt-in can ask for lines there).
- Sending never blocks the code that logged: lines are queued per request (bounded; the oldest
  are dropped when a slow client lets the queue fill) and one task per queue sends them in order.
  A failed send (the client went away) is dropped silently.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import logging
import warnings
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp.server import MCPServer
from mcp.server.connection import allowed_log_levels
from mcp.server.context import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import EmptyResult, LoggingLevel, RequestId, SetLevelRequestParams

from agents_mcp.logs import redact, set_forwarding_level

# The SDK marks the logging capability deprecated for the 2026-07-28 protocol; the clients of
# today (and the conformance suite) still use it on 2025 connections.
warnings.filterwarnings("ignore", message="The logging capability", category=MCPDeprecationWarning)

FORWARDED_LOGGER = "agents_mcp"
QUEUE_LIMIT = 200  # lines waiting for one request's stream; older ones are dropped past this
MESSAGE_LIMIT = 2000  # characters of one line
FLUSH_SECONDS = 2.0  # at most this long to send a request's lines before its response

# MCP (syslog) levels in order, and the Python level each one starts at.
MCP_LEVELS: dict[LoggingLevel, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "notice": logging.INFO + 5,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "alert": logging.CRITICAL + 10,
    "emergency": logging.CRITICAL + 20,
}


def mcp_level(levelno: int) -> LoggingLevel:
    """The MCP level of a Python record level (the highest MCP level at or below it)."""
    chosen: LoggingLevel = "debug"
    for name, start in MCP_LEVELS.items():
        if levelno >= start:
            chosen = name
    return chosen


@dataclass(eq=False)
class _Target:
    """Where the lines logged during one request go: its session and request id."""

    session: ServerSession
    request_id: RequestId | None
    threshold: int  # the lowest Python level sent
    queue: collections.deque[tuple[LoggingLevel, str, str]] = field(
        default_factory=lambda: collections.deque(maxlen=QUEUE_LIMIT)
    )
    sending: bool = False
    answered: bool = False  # the request has its response: later lines take the connection's stream
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_current: contextvars.ContextVar[_Target | None] = contextvars.ContextVar(
    "agents_mcp_log_target", default=None
)
_tasks: set[asyncio.Task[None]] = set()


def _connection_of(session: ServerSession) -> object | None:
    """The connection a request came on: the level a client chose is kept per connection.

    The SDK's per-request ServerSession holds its Connection privately (the newer `Context`
    exposes it as `.connection`); None if that changes, and then nothing is forwarded.
    """
    return getattr(session, "_connection", None)


# The level each live connection chose (entries go with their connection).
_levels: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()


async def set_level(ctx: ServerRequestContext[Any], params: SetLevelRequestParams) -> EmptyResult:
    """`logging/setLevel`: remember the level for this connection; lines at or above it go."""
    connection = _connection_of(ctx.session)
    if connection is not None:
        _levels[connection] = MCP_LEVELS[params.level]
        _refresh_forwarding()
    return EmptyResult()


_opt_in_floor: int | None = None  # the lowest level a 2026-07-28+ request opted in to


def _refresh_forwarding() -> None:
    """The forwarded logger lets records at the lowest level any client wants through."""
    wanted = [*_levels.values(), *([_opt_in_floor] if _opt_in_floor is not None else [])]
    set_forwarding_level(min(wanted) if wanted else None)


def _threshold(ctx: ServerRequestContext[Any]) -> int | None:
    """The lowest level to send for this request; None: send nothing.

    Handshake connections: the level the connection chose with logging/setLevel. 2026-07-28+
    connections: the request's own `_meta` opt-in (the SDK's rule, which for a request without
    one allows every level on a handshake connection and none on a 2026 one).
    """
    if allowed_log_levels(ctx.protocol_version, None):  # only a handshake-era connection
        connection = _connection_of(ctx.session)
        return _levels.get(connection) if connection is not None else None
    global _opt_in_floor
    opted_in = allowed_log_levels(ctx.protocol_version, ctx.meta)
    threshold = min((MCP_LEVELS[level] for level in opted_in), default=None)
    if threshold is not None and (_opt_in_floor is None or threshold < _opt_in_floor):
        _opt_in_floor = threshold
        _refresh_forwarding()
    return threshold


async def route_logs(
    ctx: ServerRequestContext[Any], call_next: Callable[[ServerRequestContext[Any]], Awaitable[Any]]
) -> Any:
    """Middleware: lines logged while this request is handled go to its client, if it asked."""
    threshold = _threshold(ctx) if ctx.request_id is not None else None  # notifications: none
    if threshold is None:
        return await call_next(ctx)
    target = _Target(ctx.session, ctx.request_id, threshold)
    token = _current.set(target)
    try:
        result = await call_next(ctx)
    finally:
        _current.reset(token)
    # the lines of this request reach the client before its response (they ride its stream)
    with anyio.move_on_after(FLUSH_SECONDS):
        await _drain(target)
    target.answered = True
    return result


class MCPLogHandler(logging.Handler):
    """Queues each record for the client of the request that logged it (see module rules)."""

    def emit(self, record: logging.LogRecord) -> None:
        target = _current.get()
        if target is None:
            return
        if record.levelno < target.threshold:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # logged from a worker thread: no stream to write to from here
            return
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        text = redact(message)
        if len(text) > MESSAGE_LIMIT:
            text = text[:MESSAGE_LIMIT] + "…"
        target.queue.append((mcp_level(record.levelno), record.name, text))
        if not target.sending:
            target.sending = True
            task = loop.create_task(_drain(target))
            _tasks.add(task)
            task.add_done_callback(_tasks.discard)


async def _drain(target: _Target) -> None:
    """Send the queued lines in order (one sender at a time per request)."""
    token = _current.set(None)  # the send path must not feed itself
    try:
        async with target.lock:
            while target.queue:
                level, name, text = target.queue.popleft()
                request_id = None if target.answered else target.request_id
                try:
                    await target.session.send_log_message(
                        level, text, logger=name, related_request_id=request_id
                    )
                except Exception:  # the client or its stream is gone: drop the rest
                    target.queue.clear()
    finally:
        target.sending = False
        _current.reset(token)


_handler: MCPLogHandler | None = None


def install(mcp: MCPServer[Any]) -> None:
    """Declare the logging capability on `mcp`, honour `logging/setLevel`, forward the lines."""
    global _handler
    mcp._lowlevel_server.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
    mcp.middleware.append(route_logs)
    if _handler is None:
        _handler = MCPLogHandler(logging.DEBUG)
        logging.getLogger(FORWARDED_LOGGER).addHandler(_handler)
