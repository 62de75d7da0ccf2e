"""Assemble the sidecar ASGI app around the MCP server's streamable HTTP app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import SecretStr
from starlette.types import ASGIApp

from agents_mcp.errors import ConfigError
from agents_mcp.settings import Settings
from agents_mcp.sidecar.middleware import (
    BearerAuthMiddleware,
    Drain,
    DrainMiddleware,
    RequestLogMiddleware,
)
from agents_mcp.sidecar.probes import PROBE_PATHS, ProbesMiddleware, Upstream
from agents_mcp.sidecar.security import transport_security
from agents_mcp.sidecar.shutdown import interrupt_simulations

if TYPE_CHECKING:
    from mcp.server import MCPServer
    from mcp.server.request_state import RequestStateSecurity

MCP_PATH = "/mcp"
MAX_BODY_BYTES = 1024 * 1024  # MCP requests are small JSON; 1 MiB leaves room for tool mocks
MIN_REQUEST_STATE_KEY_LEN = 32


class HTTPSettingsError(ConfigError):
    """A setting makes the HTTP transport unsafe or impossible; the message says which."""


def request_state_security(settings: Settings) -> RequestStateSecurity | None:
    """Shared keys that seal `requestState` (multi-round-trip tool calls, protocol 2026-07-28).

    By default MCPServer seals it with a key born in this process, so state minted by one replica
    is rejected by another. With the same keys (and the same server name, the audience claim) on
    every replica, any of them can continue a round another one started.
    """
    if not settings.request_state_keys:
        return None
    from mcp.server.request_state import RequestStateSecurity

    keys = [k.get_secret_value() for k in settings.request_state_keys]
    for i, key in enumerate(keys):
        if len(key.encode()) < MIN_REQUEST_STATE_KEY_LEN:
            raise HTTPSettingsError(
                f"AGENTS_MCP_REQUEST_STATE_KEYS: key {i + 1} is shorter than "
                f"{MIN_REQUEST_STATE_KEY_LEN} bytes; generate one with "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`",
                setting="AGENTS_MCP_REQUEST_STATE_KEYS",
            )
    return RequestStateSecurity(keys=keys)


def build_http_app(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    api_base_url: str | None = None,
    api_key: str | None = None,
    sandbox: bool = False,
    mcp: MCPServer | None = None,
    drain: Drain | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> ASGIApp:
    """The sidecar as one ASGI app (its lifespan runs the MCP server's lifespan).

    `api_base_url`/`api_key` override the settings (the embedded sandbox uses them). `host` is the
    bind address: it decides which Host headers are accepted besides the loopback names and
    `settings.allowed_hosts`.
    """
    if mcp is None:
        from agents_mcp.server import build_server

        mcp = build_server(
            settings,
            api_base_url=api_base_url,
            api_key=api_key,
            request_state_security=request_state_security(settings),
        )
    drain = drain or Drain()
    server = mcp
    drain.on_start(lambda: interrupt_simulations(server))
    mcp_app: ASGIApp = mcp.streamable_http_app(
        streamable_http_path=MCP_PATH,
        json_response=False,  # SSE: progress notifications reach the client
        stateless_http=settings.stateless_http,
        max_request_body_size=max_body_bytes,
        transport_security=transport_security(host, settings.allowed_hosts),
        host=host,
    )
    token = settings.auth_token.get_secret_value() if settings.auth_token else None
    key = api_key if api_key is not None else settings.api_key
    key_set = bool(key.get_secret_value() if isinstance(key, SecretStr) else key)
    upstream = Upstream(
        base_url=api_base_url or settings.api_base_url,
        api_key_set=key_set,
        sandbox=sandbox,
    )
    app: ASGIApp = BearerAuthMiddleware(mcp_app, token)
    app = ProbesMiddleware(app, lambda: upstream, drain)
    app = DrainMiddleware(app, drain, exempt=PROBE_PATHS)
    return RequestLogMiddleware(app)
