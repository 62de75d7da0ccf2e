"""Run the sidecar: checks that refuse unsafe start-ups, uvicorn on uvloop, graceful SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn

from agents_mcp.settings import Settings
from agents_mcp.sidecar.app import MCP_PATH, HTTPSettingsError, build_http_app
from agents_mcp.sidecar.middleware import Drain
from agents_mcp.sidecar.security import bind_refusal, is_loopback

logger = logging.getLogger("agents_mcp.http")

DRAIN_GRACE_SECONDS = 3.0  # requests in flight at SIGTERM get this long before they are cut
# uvicorn's own backstop after the drain; the total stays well inside Docker's 10 s stop timeout.
GRACEFUL_SHUTDOWN_SECONDS = int(DRAIN_GRACE_SECONDS) + 2  # uvicorn takes whole seconds
MIN_TOKEN_LENGTH = 16


class SidecarServer(uvicorn.Server):
    """uvicorn.Server that starts the drain on the first SIGTERM/SIGINT, announces the real port
    (port 0 picks a free one), and exits with 0 after a graceful stop instead of re-raising."""

    def __init__(self, config: uvicorn.Config, drain: Drain, on_listening: Callable[[str], None]):
        super().__init__(config)
        self.drain = drain
        self.on_listening = on_listening
        self._loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)
        if self.started and self.servers:
            address = self.servers[0].sockets[0].getsockname()
            host = address[0] if ":" not in address[0] else f"[{address[0]}]"
            self.on_listening(f"http://{host}:{address[1]}{MCP_PATH}")

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        # uvicorn re-raises captured signals after shutdown; a drained stop is a normal exit.
        captured = getattr(self, "_captured_signals", None)
        if isinstance(captured, list):
            captured.clear()
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.drain.start)


class _HTTPJSONFormatter(logging.Formatter):
    """Adds the request-log fields (record.http) to the JSON line of the base formatter."""

    def __init__(self, base: logging.Formatter) -> None:
        super().__init__()
        self.base = base

    def format(self, record: logging.LogRecord) -> str:
        line = self.base.format(record)
        fields = getattr(record, "http", None)
        if not isinstance(fields, dict):
            return line
        entry = json.loads(line)
        entry.update({k: v for k, v in fields.items() if k not in entry})
        return json.dumps(entry, ensure_ascii=False, default=str)


def _setup_logging(settings: Settings) -> None:
    from agents_mcp.logs import setup_logging

    secrets = [
        settings.api_key.get_secret_value() if settings.api_key else None,
        settings.auth_token.get_secret_value() if settings.auth_token else None,
        *(k.get_secret_value() for k in settings.request_state_keys),
    ]
    handler = setup_logging(settings.log_level, json=settings.log_json, secrets=secrets)
    if settings.log_json and handler.formatter is not None:
        handler.setFormatter(_HTTPJSONFormatter(handler.formatter))


def _new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # Windows, or uvloop missing: the stdlib loop works, only slower
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def serve(
    settings: Settings,
    host: str,
    port: int,
    *,
    sandbox: bool = False,
    drain: Drain | None = None,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT (or `drain`'s server is told to exit)."""
    drain = drain or Drain(grace=DRAIN_GRACE_SECONDS)
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]  # uvloop or asyncio
    announce = on_listening or (lambda url: logger.info("listening on %s (%s)", url, loop))
    async with contextlib.AsyncExitStack() as stack:
        base_url = key = None
        if sandbox:
            from agents_mcp.sandbox import SandboxServer

            sb = await stack.enter_async_context(SandboxServer(**_sandbox_options(settings)))
            base_url, key = sb.base_url, sb.api_key
            logger.info("sandbox API on %s (offline; no real agents are touched)", base_url)
        app = build_http_app(
            settings, host=host, api_base_url=base_url, api_key=key, sandbox=sandbox, drain=drain
        )
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            lifespan="on",
            log_config=None,  # our stderr handler (setup_logging) formats everything
            access_log=False,  # RequestLogMiddleware writes one line per request instead
            server_header=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
        await SidecarServer(config, drain, announce).serve()


def _sandbox_options(settings: Settings) -> dict[str, Any]:
    from agents_mcp.sandbox import DEFAULT_API_KEY, DEFAULT_MAX_CONCURRENT

    key = settings.api_key.get_secret_value() if settings.api_key else DEFAULT_API_KEY
    # The embedded sandbox must accept every simulation the server lets run at once.
    limit = max(DEFAULT_MAX_CONCURRENT, settings.max_concurrent_simulations)
    return {"api_key": key, "max_concurrent": limit}


def run_http(settings: Settings, host: str, port: int, sandbox: bool = False) -> int:
    """`agents-mcp serve --transport http`: blocks until stopped; returns the exit code."""
    token = settings.auth_token.get_secret_value() if settings.auth_token else ""
    refusal = bind_refusal(host, token_set=bool(token))
    if refusal is not None:
        print(f"agents-mcp: {refusal}", file=sys.stderr)
        return 2
    _setup_logging(settings)
    from agents_mcp.errors import ConfigError
    from agents_mcp.tools.enabled import enabled_tools

    try:
        enabled_tools(settings)  # a bad AGENTS_MCP_TOOLS fails before anything listens
    except ConfigError as exc:
        print(f"agents-mcp: {exc}", file=sys.stderr)
        return 2
    if token and len(token) < MIN_TOKEN_LENGTH:
        logger.warning(
            "AGENTS_MCP_AUTH_TOKEN is shorter than %d characters; use a long random value",
            MIN_TOKEN_LENGTH,
        )
    if not token:
        logger.warning("no AGENTS_MCP_AUTH_TOKEN: any local process can call the tools")
    if not is_loopback(host) and not settings.allowed_hosts:
        logger.warning(
            "Host header check allows only loopback names and %s; set AGENTS_MCP_ALLOWED_HOSTS "
            "to the names clients use to reach this server",
            host,
        )
    try:
        with asyncio.Runner(loop_factory=_new_event_loop) as runner:
            runner.run(serve(settings, host, port, sandbox=sandbox))
    except HTTPSettingsError as exc:
        print(f"agents-mcp: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # uvicorn exits this way when it cannot bind or start
        return exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        return 130
    return 0


__all__ = ["SidecarServer", "run_http", "serve"]
