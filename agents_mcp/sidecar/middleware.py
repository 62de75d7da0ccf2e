"""Pure-ASGI middleware for the sidecar: request ids and one log line per request, bearer auth,
and the drain gate used on SIGTERM. No Starlette request objects: each layer looks at the scope and
the messages it forwards, so streaming (SSE) responses pass through untouched."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Header = tuple[bytes, bytes]  # an ASGI header: name, value

access_logger = logging.getLogger("agents_mcp.http")

REQUEST_ID_HEADER = b"x-request-id"
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_RPC_PEEK_LIMIT = 64 * 1024  # bytes of a request body looked at for the JSON-RPC method


async def send_json(
    send: Send, status: int, body: Mapping[str, object], headers: Iterable[Header] = ()
) -> None:
    """Answer a request with a small JSON body (for responses made by the middleware itself)."""
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def _header(scope: Scope, name: bytes) -> str | None:
    headers: Iterable[Header] = scope.get("headers", ())
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def request_id_for(scope: Scope) -> str:
    """The caller's X-Request-Id when it is a sane token, else a fresh one."""
    given = _header(scope, REQUEST_ID_HEADER)
    if given is not None and _REQUEST_ID_OK.match(given):
        return given
    return uuid.uuid4().hex


def _rpc_summary(body: bytes) -> dict[str, str]:
    """The JSON-RPC method (and tool name) of a request body, never its arguments."""
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    if isinstance(message, list):  # a batch: name the first, count the rest
        if not message or not isinstance(message[0], dict):
            return {}
        first = _rpc_summary(json.dumps(message[0]).encode())
        return {**first, "rpc": f"{first.get('rpc', '?')}+{len(message) - 1}"}
    if not isinstance(message, dict) or not isinstance(message.get("method"), str):
        return {}
    summary = {"rpc": message["method"][:64]}
    params = message.get("params")
    if message["method"] == "tools/call" and isinstance(params, dict):
        name = params.get("name")
        if isinstance(name, str):
            summary["tool"] = name[:64]
    return summary


class RequestLogMiddleware:
    """Give every request an id (echoed as X-Request-Id) and log one line when it ends.

    The line carries method, path, status, duration, client and, for MCP posts, the JSON-RPC method
    and tool name, but never headers or arguments (they can hold the token or user data).
    """

    def __init__(self, app: ASGIApp, logger: logging.Logger = access_logger) -> None:
        self.app = app
        self.logger = logger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 0
        peeked = bytearray()

        async def receive_peeking() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(peeked) < _RPC_PEEK_LIMIT:
                peeked.extend(message.get("body", b"")[: _RPC_PEEK_LIMIT - len(peeked)])
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k != REQUEST_ID_HEADER]
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive_peeking, send_with_id)
        finally:
            fields: dict[str, Any] = {
                "request_id": request_id,
                "method": scope.get("method", ""),
                "path": scope.get("path", ""),
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "client": (scope.get("client") or ("-",))[0],
            }
            if peeked and scope.get("method") == "POST":
                fields.update(_rpc_summary(bytes(peeked)))
            denied = scope.get("state", {}).get("auth_denied")
            if denied:
                fields["auth"] = denied
            level = logging.WARNING if status >= 500 or status == 0 else logging.INFO
            text = " ".join(f"{k}={v}" for k, v in fields.items())
            self.logger.log(level, "http %s", text, extra={"http": fields})


class BearerAuthMiddleware:
    """Require `Authorization: Bearer <token>` on every request when a token is configured.

    The comparison is constant-time (hmac.compare_digest over bytes). A refusal is a 401 with
    `WWW-Authenticate: Bearer` and a short JSON body; the wrapped app never sees the request, so
    nothing changes.
    """

    def __init__(self, app: ASGIApp, token: str | None, realm: str = "agents-mcp") -> None:
        self.app = app
        self._token = token.encode() if token else None
        self._realm = realm

    def _check(self, scope: Scope) -> str | None:
        """None when the request may pass, else why not ('missing' or 'invalid')."""
        if self._token is None:
            return None
        value = _header(scope, b"authorization")
        if not value:
            return "missing"
        scheme, _, presented = value.strip().partition(" ")
        if scheme.lower() != "bearer":
            return "invalid"
        if not presented.strip():
            return "missing"
        # Encode first: compare_digest on str refuses non-ASCII, which would leak by exception.
        ok = hmac.compare_digest(presented.strip().encode("utf-8", "replace"), self._token)
        return None if ok else "invalid"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._check(scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["auth_denied"] = problem
        challenge = f'Bearer realm="{self._realm}"'
        if problem == "invalid":
            challenge += ', error="invalid_token"'
        message = (
            "missing bearer token: send 'Authorization: Bearer <AGENTS_MCP_AUTH_TOKEN>'"
            if problem == "missing"
            else "invalid bearer token"
        )
        await send_json(
            send,
            401,
            {"error": "unauthorized", "message": message},
            [(b"www-authenticate", challenge.encode())],
        )


class Drain:
    """Shutdown state shared by the drain gate, the readiness probe and the server.

    `start()` (called on SIGTERM) makes the gate refuse new requests with 503, cancels standalone
    SSE streams (GET, they never end by themselves) at once, and gives requests in flight `grace`
    seconds before cancelling them too, so no stream holds the process past its shutdown budget.
    """

    def __init__(self, grace: float = 3.0) -> None:
        self.grace = grace
        self.draining = False
        self._in_flight: dict[anyio.CancelScope, bool] = {}  # scope -> is a standalone stream
        self._callbacks: list[Callable[[], Any]] = []

    def on_start(self, callback: Callable[[], Any]) -> None:
        """Run `callback` (sync) when draining starts, e.g. to cancel running jobs early."""
        self._callbacks.append(callback)

    def start(self) -> None:
        if self.draining:
            return
        self.draining = True
        # The loop's clock (anyio's deadline clock on asyncio): start() runs as a plain loop
        # callback (signal handler), where anyio.current_time() finds no task and raises.
        deadline = asyncio.get_running_loop().time() + self.grace
        for scope, standalone in list(self._in_flight.items()):
            if standalone:
                scope.cancel()
            else:
                scope.deadline = min(scope.deadline, deadline)
        for callback in self._callbacks:
            try:
                callback()
            except Exception:  # one failing hook must not stop the others
                access_logger.exception("drain callback failed")

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def track(self, scope: anyio.CancelScope, standalone: bool) -> None:
        self._in_flight[scope] = standalone

    def untrack(self, scope: anyio.CancelScope) -> None:
        self._in_flight.pop(scope, None)


class DrainMiddleware:
    """Refuse new requests once draining; end the ones in flight cleanly when their time is up."""

    def __init__(self, app: ASGIApp, drain: Drain, exempt: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.drain = drain
        self.exempt = exempt  # paths that still answer while draining (the probes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exempt:
            await self.app(scope, receive, send)
            return
        if self.drain.draining:
            await send_json(
                send,
                503,
                {"error": "shutting_down", "message": "the server is shutting down; retry"},
                [(b"retry-after", b"1"), (b"connection", b"close")],
            )
            return
        started = completed = False

        async def tracking_send(message: Message) -> None:
            nonlocal started, completed
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                completed = True
            await send(message)

        standalone = scope.get("method") == "GET"
        with anyio.CancelScope() as cancel_scope:
            self.drain.track(cancel_scope, standalone)
            try:
                await self.app(scope, receive, tracking_send)
            finally:
                self.drain.untrack(cancel_scope)
        if not cancel_scope.cancelled_caught or completed:
            return
        # Cut short by the drain: finish the HTTP exchange properly instead of leaving it torn.
        try:
            if not started:
                await send_json(
                    send, 503, {"error": "shutting_down", "message": "the server is shutting down"}
                )
            else:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except (OSError, RuntimeError):  # the client went away meanwhile
            pass
