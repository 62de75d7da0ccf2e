"""The shared httpx2 client of the Agents API, and its TLS context prepared early.

`create_http_client` builds the one httpx2.AsyncClient a process shares (short connect timeout,
pool limits sized for long-running simulations, the agents-mcp User-Agent, redirects never
followed: the key must not reach another host). `prepare_tls_context` starts building httpx2's
default TLS context in a thread at start-up; the next client created without a ``verify=`` of
its own takes it, once.
"""

from __future__ import annotations

import ssl
import threading
from typing import TYPE_CHECKING, Any

import httpx2

from agents_mcp import __version__

if TYPE_CHECKING:
    from agents_mcp.settings import Settings

__all__ = ["USER_AGENT", "create_http_client", "prepare_tls_context"]

USER_AGENT = f"agents-mcp/{__version__}"


class _PreparedTLS:
    """httpx2's default TLS context, built in a thread while the server starts.

    Loading the CA bundle takes 30-40 ms, and OpenSSL releases the GIL while it reads it: started
    early, it overlaps the rest of start-up instead of delaying the first answer. The context is
    exactly the one httpx2 would build itself (``httpx2.create_ssl_context()``), and it is used
    once, by the next client created without a ``verify=`` of its own.
    """

    def __init__(self) -> None:
        self._done = threading.Event()
        self._context: ssl.SSLContext | None = None
        threading.Thread(target=self._build, name="agents-mcp-tls", daemon=True).start()

    def _build(self) -> None:
        try:
            self._context = httpx2.create_ssl_context()
        except Exception:  # the client builds its own and reports the problem then
            self._context = None
        finally:
            self._done.set()

    def take(self) -> ssl.SSLContext | None:
        self._done.wait()
        return self._context


_prepared_tls: _PreparedTLS | None = None


def prepare_tls_context() -> None:
    """Start building the next client's TLS context in the background (see _PreparedTLS)."""
    global _prepared_tls
    if _prepared_tls is None:
        _prepared_tls = _PreparedTLS()


def create_http_client(settings: Settings | None = None, **overrides: Any) -> httpx2.AsyncClient:
    """The shared httpx2 client: short connect timeout, pool limits, agents-mcp User-Agent.

    ``settings`` is an agents_mcp.settings.Settings (or None for the defaults); ``overrides`` go
    to httpx2.AsyncClient (e.g. ``transport=`` or ``event_hooks=`` in tests).
    """
    global _prepared_tls
    connect = getattr(settings, "connect_timeout", 5.0)
    request = getattr(settings, "request_timeout", 30.0)
    simulations = getattr(settings, "max_concurrent_simulations", 4)
    options: dict[str, Any] = {
        "timeout": httpx2.Timeout(request, connect=connect),
        # each running simulation holds a connection for minutes: leave room for the rest
        "limits": httpx2.Limits(
            max_connections=max(20, simulations + 10),
            max_keepalive_connections=10,
            keepalive_expiry=30.0,
        ),
        "headers": {"User-Agent": USER_AGENT},
        "follow_redirects": False,
    }
    prepared, _prepared_tls = _prepared_tls, None
    if prepared is not None and "verify" not in overrides:
        context = prepared.take()
        if context is not None:
            options["verify"] = context
    options.update(overrides)
    return httpx2.AsyncClient(**options)
