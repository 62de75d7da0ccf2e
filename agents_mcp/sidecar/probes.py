"""/healthz (liveness) and /readyz (readiness): unauthenticated, tiny, never show a secret."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from agents_mcp import __version__
from agents_mcp.sidecar.middleware import Drain, send_json

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
PROBE_PATHS = frozenset({HEALTH_PATH, READY_PATH})


@dataclass(frozen=True)
class Upstream:
    """What readiness reports about the upstream API: whether it is configured, not the key."""

    base_url: str
    api_key_set: bool
    sandbox: bool = False

    def problems(self) -> list[str]:
        found = []
        if not self.api_key_set:
            found.append("ELEVENLABS_API_KEY is not set")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            found.append("the API base URL is not a valid http(s) URL")
        return found


def _public_url(url: str) -> str:
    """The base URL without any userinfo, query or fragment (a URL can carry credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class ProbesMiddleware:
    """Answers GET/HEAD on the probe paths itself; everything else goes to the wrapped app."""

    def __init__(self, app: ASGIApp, upstream: Callable[[], Upstream], drain: Drain) -> None:
        self.app = app
        self.upstream = upstream
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or path not in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        if scope.get("method") not in ("GET", "HEAD"):
            await send_json(send, 405, {"error": "method_not_allowed"}, [(b"allow", b"GET, HEAD")])
            return
        if path == HEALTH_PATH:
            await send_json(send, 200, {"status": "ok", "version": __version__})
            return
        upstream = self.upstream()
        problems = upstream.problems()
        if self.drain.draining:
            problems.append("the server is shutting down")
        body: dict[str, object] = {
            "status": "ready" if not problems else "not_ready",
            "version": __version__,
            "upstream": {
                "base_url": _public_url(upstream.base_url),
                "api_key_set": upstream.api_key_set,
                "sandbox": upstream.sandbox,
            },
        }
        if problems:
            body["problems"] = problems
        await send_json(send, 200 if not problems else 503, body)
