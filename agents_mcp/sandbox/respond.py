"""What every route shares: the sandbox state, the fault armed for this request, and the JSON
success body (which a content fault may alter: huge_response pads it, malformed_frame cuts it).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from agents_mcp.sandbox.faults import Fault, FaultName
from agents_mcp.sandbox.state import SandboxState


def state_of(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def fault_of(request: Request) -> Fault | None:
    return request.scope.get("sandbox.fault")


def respond(request: Request, body: Any, status: int = 200, *, padding: bool = True) -> Response:
    """A JSON success body, altered by a content fault if one is armed for this request."""
    fault = fault_of(request)
    if (
        padding
        and fault is not None
        and fault.name is FaultName.HUGE_RESPONSE
        and isinstance(body, dict)
    ):
        body = {**body, "sandbox_padding": "x" * int(fault.param("bytes", 8 * 1024 * 1024))}
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    if fault is not None and fault.name is FaultName.MALFORMED_FRAME:
        raw = raw[: max(1, len(raw) // 2)]
    return Response(raw, status, media_type="application/json")
