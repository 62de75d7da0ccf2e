"""Running the sandbox: in a background thread, as a task in the running loop, or in the foreground.

Nothing is ever written to stdout (stdout is the MCP stdio channel when the server embeds the
sandbox); uvicorn's own logging is left unconfigured, so it follows the host's logging setup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import uvicorn

from agents_mcp.sandbox.app import DEFAULT_API_KEY, DEFAULT_MAX_CONCURRENT, SandboxApp, create_app
from agents_mcp.sandbox.state import DEFAULT_RUN_DELAY

CLI_RUN_DELAY = (
    1.5  # `agents-mcp sandbox`: test runs stay pending about as long as a short real run
)


class _Server(uvicorn.Server):
    """uvicorn without signal handling: the embedding program owns its signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _ForegroundServer(uvicorn.Server):
    """uvicorn with its Ctrl+C handling, announcing itself only once it is up.

    The line is printed after start-up, inside uvicorn's signal capture: a Ctrl+C sent as soon as
    the line appears then always stops the server cleanly (printed earlier, it could land in the
    window before uvicorn installs its handlers, and be lost or end the process silently).
    """

    def __init__(self, config: uvicorn.Config, ready_message: str) -> None:
        super().__init__(config)
        self.ready_message = ready_message

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:
            print(self.ready_message, file=sys.stderr, flush=True)


def _config(app: SandboxApp) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="off",
        http="h11",
        ws="none",
        timeout_graceful_shutdown=2,
        timeout_keep_alive=30,
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets of that protocol;
    # without it every small response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class SandboxServer:
    """The sandbox on 127.0.0.1 and an ephemeral port.

    `with SandboxServer() as sb:` runs it in a background thread; `async with` runs it as a task
    of the current event loop. `sb.base_url` and `sb.api_key` say how to reach it.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: Path | str | None = None,
        turn_delay: float = 0.0,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT,
        load_demo: bool = True,
        run_delay: float = DEFAULT_RUN_DELAY,
        legacy_simulate: bool = True,
    ) -> None:
        self.app = create_app(
            api_key=api_key,
            data_dir=data_dir,
            turn_delay=turn_delay,
            max_concurrent=max_concurrent,
            load_demo=load_demo,
            run_delay=run_delay,
            legacy_simulate=legacy_simulate,
        )
        self.api_key: str = self.app.state.sandbox.api_key
        self._store = self.app.state.sandbox.store  # (tests may wrap self.app before start)
        self._host, self._port = host, port
        self._sock: socket.socket | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:  # never the key
        return f"SandboxServer(base_url={self.base_url if self._sock else None!r})"

    @property
    def port(self) -> int:
        if self._sock is None:
            raise RuntimeError("the sandbox is not running")
        port: int = self._sock.getsockname()[1]
        return port

    @property
    def base_url(self) -> str:
        host = self._host if ":" not in self._host else f"[{self._host}]"
        return f"http://{host}:{self.port}"

    def _start(self) -> _Server:
        self._sock = _bind(self._host, self._port)
        self._server = _Server(_config(self.app))
        return self._server

    # --- thread ---------------------------------------------------------------------------

    def __enter__(self) -> SandboxServer:
        server = self._start()
        sock = self._sock
        assert sock is not None
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])),
            name="agents-mcp-sandbox",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.005)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._close()

    # --- task in the running loop ---------------------------------------------------------

    async def __aenter__(self) -> SandboxServer:
        server = self._start()
        sock = self._sock
        assert sock is not None
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name="sandbox")
        while not server.started:
            if self._task.done():
                self._task.result()  # raises the start-up error
                raise RuntimeError("the sandbox did not start")
            await asyncio.sleep(0.005)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._close()

    def _close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._store.close()


def run_sandbox(
    host: str = "127.0.0.1",
    port: int = 8787,
    data_dir: Path | str | None = None,
    turn_delay: float = 0.0,
    max_concurrent: int = DEFAULT_MAX_CONCURRENT,
    run_delay: float = CLI_RUN_DELAY,
    legacy_simulate: bool = True,
) -> None:
    """`agents-mcp sandbox`: serve in the foreground until Ctrl+C. Messages go to stderr."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    app = create_app(
        data_dir=data_dir,
        turn_delay=turn_delay,
        max_concurrent=max_concurrent,
        run_delay=run_delay,
        legacy_simulate=legacy_simulate,
    )
    try:
        sock = _bind(host, port)
    except OSError as exc:
        print(
            f"agents-mcp sandbox: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr
        )
        raise SystemExit(2) from None
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    key_note = (
        f"xi-api-key: {DEFAULT_API_KEY}"
        if app.state.sandbox.api_key == DEFAULT_API_KEY
        else "xi-api-key: the value of ELEVENLABS_API_KEY"
    )
    where = f"agents stored in {data_dir}" if data_dir else "agents kept in memory"
    ready = (
        f"agents-mcp sandbox listening on http://{shown}:{bound} ({key_note}; {where}; "
        f"turn delay {turn_delay:g}s; test runs take {run_delay:g}s"
        f"{'' if legacy_simulate else '; simulate-conversation removed'}). Ctrl+C to stop."
    )
    server = _ForegroundServer(_config(app), ready)
    try:
        # uvicorn re-raises the Ctrl+C it handled, unless asyncio's runner saw its main task end
        # first: either way the server has stopped cleanly, and no traceback is due.
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
    finally:
        app.state.sandbox.store.close()
    print("agents-mcp sandbox stopped.", file=sys.stderr)
