"""The sandbox's HTTP surface: the Agents API routes, auth, faults and the `/_sandbox/` admin.

Errors keep the real API's shapes: `{"detail": {"status", "message"}}` for most, FastAPI's list
form for 422, and `{"detail": "Not Found"}` for unknown routes.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from starlette.types import Message, Receive, Scope, Send

from agents_mcp.jsontypes import JSONObject
from agents_mcp.sandbox import admin, fault_layer, routes, simulate_routes, testing_routes
from agents_mcp.sandbox.errors import (
    error,
)
from agents_mcp.sandbox.faults import HEADER, Fault, FaultError, parse_header
from agents_mcp.sandbox.state import (
    DEFAULT_API_KEY,
    DEFAULT_MAX_CONCURRENT,
    DEFAULT_RUN_DELAY,
    SandboxState,
    demo_agent_files,
    load_demo_agents,
    load_demo_tests,
    resolve_api_key,
)
from agents_mcp.sandbox.store import AgentStore

logger = logging.getLogger("agents_mcp.sandbox")
__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_MAX_CONCURRENT",
    "SandboxApp",
    "create_app",
    "demo_agent_files",
]


class _QuietDrops(logging.Filter):
    """Keeps uvicorn from reporting the connections the sandbox drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], fault_layer.Drop):
            return False
        return not (record.args and fault_layer.DROP in str(record.args))


ROUTES = [
    *routes.ROUTES,
    *simulate_routes.ROUTES,
    *testing_routes.ROUTES,
    *admin.ROUTES,
]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    # FastAPI's bodies for routing errors: {"detail": "Not Found"}, {"detail": "Method Not Allowed"}
    return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)


# --- the application: auth, request log and faults around the routes ------------------------


class SandboxApp(Starlette):
    """Starlette with the sandbox's outer layer. Faults act here, outside Starlette's own error
    handling, so a dropped connection is really dropped (uvicorn closes the socket when an ASGI
    app returns a value instead of None)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        state: SandboxState = self.state.sandbox
        path, method = scope["path"], scope["method"]
        if not state.legacy_simulate and "/simulate-conversation" in path:
            # After the removal (31 Oct 2026) the route is gone: FastAPI's bare 404.
            await JSONResponse({"detail": "Not Found"}, 404)(scope, receive, send)
            return None
        if not self._routed(scope):  # 404/405 come before auth, as in FastAPI
            return await super().__call__(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        admin = path.startswith("/_sandbox/")
        entry: JSONObject = {"method": method, "path": path, "status": None, "fault": None}
        if not admin:
            state.log.append(entry)
        send = _recording(send, entry)
        denied = _check_key(headers.get("xi-api-key"), state.api_key)
        if denied is not None:
            await denied(scope, receive, send)
            return None
        if admin:
            return await super().__call__(scope, receive, send)
        try:
            fault = (
                parse_header(headers[HEADER])
                if HEADER in headers
                else state.faults.take(method, path)
            )
        except FaultError as exc:
            await error(400, "invalid_fault", str(exc))(scope, receive, send)
            return None
        if fault is None:
            return await super().__call__(scope, receive, send)
        entry["fault"] = fault.name
        return await self._with_fault(fault, scope, receive, send)

    def _routed(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] == Match.FULL for route in self.router.routes)

    async def _with_fault(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> Any:
        return await fault_layer.apply(fault, super().__call__, scope, receive, send)


def _check_key(given: str | None, expected: str) -> Response | None:
    if not given:
        return error(
            401, "missing_api_key", "Missing API key. Pass your API key in the 'xi-api-key' header."
        )
    if not secrets.compare_digest(given.encode(), expected.encode()):
        return error(401, "invalid_api_key", "Invalid API key")
    return None


def _recording(send: Send, entry: JSONObject) -> Send:
    """Notes the status in the request log and adds the live API's request-id header."""
    request_id = secrets.token_hex(16)

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            entry["status"] = message["status"]
            headers = list(message.get("headers", []))
            headers.append((b"request-id", request_id.encode()))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


def create_app(
    *,
    api_key: str | None = None,
    data_dir: Path | str | None = None,
    turn_delay: float = 0.0,
    max_concurrent: int = DEFAULT_MAX_CONCURRENT,
    load_demo: bool = True,
    run_delay: float = DEFAULT_RUN_DELAY,
    legacy_simulate: bool = True,
) -> SandboxApp:
    """The sandbox as an ASGI app (Starlette). Agents load from the data dir and the demo set."""
    store = AgentStore(data_dir)
    if load_demo:
        load_demo_agents(store)
    app = SandboxApp(routes=ROUTES, exception_handlers={HTTPException: _http_error})
    app.state.sandbox = SandboxState(
        api_key=resolve_api_key(api_key),
        store=store,
        turn_delay=float(turn_delay),
        max_concurrent=int(max_concurrent),
        defaults={
            "turn_delay": float(turn_delay),
            "max_concurrent": int(max_concurrent),
            "run_delay": float(run_delay),
            "legacy_simulate": bool(legacy_simulate),
            "load_demo": load_demo,
        },
        run_delay=float(run_delay),
        legacy_simulate=bool(legacy_simulate),
    )
    if load_demo:
        load_demo_tests(app.state.sandbox.tests)
    _install_log_filter()
    return app


def _install_log_filter() -> None:
    uvicorn_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in uvicorn_log.filters):
        uvicorn_log.addFilter(_QuietDrops())
