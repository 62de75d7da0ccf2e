"""The sandbox's own controls under `/_sandbox/` (no counterpart upstream): faults, the request
log, reset, and settings (turn_delay, max_concurrent, run_delay, legacy_simulate).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agents_mcp.sandbox.errors import error, json_body
from agents_mcp.sandbox.faults import FaultError, parse_spec
from agents_mcp.sandbox.respond import state_of as _state


async def admin_faults(request: Request) -> Response:
    state = _state(request)
    if request.method == "GET":
        return JSONResponse({"faults": state.faults.armed()})
    if request.method == "DELETE":
        state.faults.clear()
        return JSONResponse({})
    body = await json_body(request, required=True)
    if isinstance(body, Response):
        return body
    try:
        fault = parse_spec(body)
    except FaultError as exc:
        return error(422, "invalid_fault", str(exc))
    state.faults.arm(fault)
    return JSONResponse({"armed": fault.public()})


async def admin_requests(request: Request) -> Response:
    state = _state(request)
    if request.method == "DELETE":
        state.log.clear()
        return JSONResponse({})
    return JSONResponse(list(state.log))


async def admin_reset(request: Request) -> Response:
    body = await json_body(request, required=False)
    if isinstance(body, Response):
        return body
    _state(request).reset(agents=bool(isinstance(body, dict) and body.get("agents")))
    return JSONResponse({})


_CONFIG_KEYS = ("turn_delay", "max_concurrent", "run_delay", "legacy_simulate")


async def admin_config(request: Request) -> Response:
    state = _state(request)
    if request.method == "POST":
        body = await json_body(request, required=True)
        if isinstance(body, Response):
            return body
        if not isinstance(body, dict) or set(body) - set(_CONFIG_KEYS):
            return error(422, "invalid_config", f"allowed keys: {', '.join(_CONFIG_KEYS)}")
        delay = body.get("turn_delay", state.turn_delay)
        limit = body.get("max_concurrent", state.max_concurrent)
        run_delay = body.get("run_delay", state.run_delay)
        legacy = body.get("legacy_simulate", state.legacy_simulate)
        if not _seconds(delay, 60):
            return error(422, "invalid_config", "turn_delay must be a number of seconds, 0 to 60")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100_000:
            return error(422, "invalid_config", "max_concurrent must be an integer >= 1")
        if not _seconds(run_delay, 600):
            return error(422, "invalid_config", "run_delay must be a number of seconds, 0 to 600")
        if not isinstance(legacy, bool):
            return error(422, "invalid_config", "legacy_simulate must be true or false")
        state.turn_delay, state.max_concurrent = float(delay), limit
        state.run_delay, state.legacy_simulate = float(run_delay), legacy
    return JSONResponse(
        {
            "turn_delay": state.turn_delay,
            "max_concurrent": state.max_concurrent,
            "run_delay": state.run_delay,
            "legacy_simulate": state.legacy_simulate,
            "running_simulations": state.running,
            "agents": len(state.store.ids()),
        }
    )


def _seconds(value: Any, most: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= most


ROUTES = [
    Route("/_sandbox/faults", admin_faults, methods=["GET", "POST", "DELETE"]),
    Route("/_sandbox/requests", admin_requests, methods=["GET", "DELETE"]),
    Route("/_sandbox/reset", admin_reset, methods=["POST"]),
    Route("/_sandbox/config", admin_config, methods=["GET", "POST"]),
]
