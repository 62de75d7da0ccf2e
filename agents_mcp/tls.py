"""httpx's default TLS context, built in a thread from the first moment of start-up.

Loading the CA bundle takes 30-40 ms, and OpenSSL releases the GIL while it reads it: started
before the MCP SDK is imported (`agents-mcp serve` starts it first thing, in cli.py), it overlaps
the imports instead of delaying the first answer. The context is exactly the one httpx builds
itself (`httpx.create_ssl_context()`; httpx is imported in that thread), and it is used once, by
the next client created without a `verify=` of its own (agents_mcp.api.client).

This module imports nothing heavy: the command line imports it before anything else.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl


class PreparedTLS:
    """One TLS context under construction in a daemon thread; `take()` waits for it."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._context: ssl.SSLContext | None = None
        threading.Thread(target=self._build, name="agents-mcp-tls", daemon=True).start()

    def _build(self) -> None:
        try:
            import httpx

            self._context = httpx.create_ssl_context()
        except Exception:  # the client builds its own and reports the problem then
            self._context = None
        finally:
            self._done.set()

    def take(self) -> ssl.SSLContext | None:
        self._done.wait()
        return self._context


_early: PreparedTLS | None = None


def prepare_early() -> None:
    """Start building the context now (once); the next `prepare_tls_context` takes it."""
    global _early
    if _early is None:
        _early = PreparedTLS()


def take_early() -> PreparedTLS | None:
    """The context started by `prepare_early`, handed over once (None if it was not started)."""
    global _early
    early, _early = _early, None
    return early
