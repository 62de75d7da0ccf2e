"""A small scriptable HTTP server on loopback for testing the API client against real HTTP.

``APITestServer`` runs a Starlette app under uvicorn in a background thread on an ephemeral port.
Each test scripts the answers per route (``srv.script("GET", path, Reply(...), ...)``: answers are
used in order, the last one repeats) and reads back every request received (``srv.requests``).
Routes not scripted answer like FastAPI: 404 ``{"detail": "Not Found"}``.

``DroppingServer`` is a bare TCP server that reads a request and closes the connection without
answering: a connection that breaks after the request was sent.
"""

from __future__ import annotations

import asyncio
import json
import socket
import socketserver
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

_UNSET: Any = object()


@dataclass
class Recorded:
    method: str
    path: str  # the raw path as received, still percent-encoded
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    """A whole answer: JSON (``json=``) or raw bytes (``body=``), after an optional delay."""

    status: int = 200
    json: Any = _UNSET
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    delay: float = 0.0

    async def respond(self, request: Request, server: APITestServer) -> Response:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.json is not _UNSET:
            content = json.dumps(self.json).encode()
            media = self.content_type or "application/json"
        else:
            content, media = self.body, self.content_type or "text/plain"
        return Response(content, status_code=self.status, headers=self.headers, media_type=media)


@dataclass
class StreamReply:
    """A streamed answer: ``chunks`` sent one by one with ``gap`` seconds between them; then
    optionally ``stall`` seconds of silence before the end; ``abort`` breaks the connection
    after the chunks instead of ending the body cleanly."""

    chunks: list[bytes]
    gap: float = 0.0
    stall: float = 0.0
    abort: bool = False
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    async def respond(self, request: Request, server: APITestServer) -> Response:
        async def body():
            server.streams_open += 1
            try:
                for i, chunk in enumerate(self.chunks):
                    if i and self.gap:
                        await asyncio.sleep(self.gap)
                    yield chunk
                if self.stall:
                    await asyncio.sleep(self.stall)
                if self.abort:
                    raise ConnectionAbortedError("scripted abort mid-stream")
            finally:
                server.streams_open -= 1
                server.stream_ended_at = time.monotonic()

        return StreamingResponse(
            body(), status_code=self.status, headers=self.headers, media_type="text/plain"
        )


Handler = Reply | StreamReply | Callable[[Request], Awaitable[Response]]


class APITestServer:
    """uvicorn + Starlette on 127.0.0.1:<ephemeral> in a thread. Use as a context manager."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._routes: dict[tuple[str, str], list[Handler]] = {}
        self._lock = threading.Lock()
        self.streams_open = 0
        self.stream_ended_at: float | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- scripting ---------------------------------------------------------------------------

    def script(self, method: str, path: str, *answers: Handler) -> None:
        """Answers for METHOD PATH (raw path), in order; the last one repeats."""
        with self._lock:
            self._routes[(method.upper(), path)] = list(answers)

    def reset(self) -> None:
        with self._lock:
            self._routes.clear()
            self.requests.clear()
            self.stream_ended_at = None

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method) and (path is None or r.path == path)
        )

    # --- the app -----------------------------------------------------------------------------

    async def _app(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        raw_path = scope.get("raw_path") or scope["path"].encode()
        record = Recorded(
            method=request.method,
            path=raw_path.decode("latin-1"),
            query=scope.get("query_string", b"").decode("latin-1"),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        with self._lock:
            self.requests.append(record)
            answers = self._routes.get((record.method, record.path))
            handler = (answers.pop(0) if len(answers) > 1 else answers[0]) if answers else None
        if handler is None:
            response: Response = Response(
                b'{"detail":"Not Found"}', status_code=404, media_type="application/json"
            )
        elif isinstance(handler, Reply | StreamReply):
            response = await handler.respond(request, self)
        else:
            response = await handler(request)
        await response(scope, receive, send)

    # --- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> APITestServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            interface="asgi3",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test API server did not start")
            time.sleep(0.01)
        self._sock = sock
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


class DroppingServer:
    """Reads each request fully, counts it, and closes the connection without an answer."""

    def __init__(self) -> None:
        self.received: list[str] = []  # request lines
        outer = self

        class _Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data = b""
                self.request.settimeout(5)
                while b"\r\n\r\n" not in data:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(rest) < length:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        break
                    rest += chunk
                outer.received.append(head.split(b"\r\n")[0].decode("latin-1"))
                self.request.shutdown(socket.SHUT_RDWR)
                self.request.close()

        self._tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self._tcp.daemon_threads = True
        self.port = self._tcp.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> DroppingServer:
        threading.Thread(target=self._tcp.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._tcp.shutdown()
        self._tcp.server_close()


def closed_port() -> int:
    """A loopback port with nothing listening (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- helpers for building a client against a test server ---------------------------------------

TEST_KEY = "sk_test_DO-NOT-LEAK_5f3a9c2e8b7d41"


class Sleeps:
    """A stand-in for anyio.sleep that records the delays and returns at once (fast tests)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


def make_api(base_url: str, *, api_key: str | None = TEST_KEY, http=None, **kw: Any):
    """An AgentsAPI on its own httpx2 client (closed by ``await api.aclose()``); backoff sleeps
    are recorded in ``api.sleeps`` and take no time unless ``sleep=`` is given."""
    from agents_mcp.api import AgentsAPI, create_http_client

    sleeps = Sleeps()
    kw.setdefault("sleep", sleeps)
    api = AgentsAPI(
        http if http is not None else create_http_client(None),
        api_key=api_key,
        base_url=base_url,
        owns_http=http is None,
        **kw,
    )
    api.sleeps = sleeps  # type: ignore[attr-defined]
    return api
