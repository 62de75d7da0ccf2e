"""The legacy simulate-conversation routes (plain and streamed), deprecated upstream.

Each holds one of `max_concurrent` slots while it runs (429 past the limit, as the live API);
the streamed form sends one JSON-string line per turn. Content faults (no_analysis,
huge_response, malformed_frame) change what they send.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from agents_mcp.api import models
from agents_mcp.jsontypes import JSONObject
from agents_mcp.sandbox import engine
from agents_mcp.sandbox.errors import error, json_body, not_found, validate_lenient
from agents_mcp.sandbox.faults import FaultName
from agents_mcp.sandbox.respond import fault_of as _fault
from agents_mcp.sandbox.respond import respond as _respond
from agents_mcp.sandbox.respond import state_of as _state


async def _prepare_simulation(request: Request) -> engine.Simulation | Response:
    """Body check (422), agent (404), concurrency (429); holds a slot when it returns a result."""
    body = await json_body(request, required=True)
    if isinstance(body, Response):
        return body
    parsed = validate_lenient(models.SimulateRequest, body)
    if isinstance(parsed, Response):
        return parsed
    agent_id = request.path_params["agent_id"]
    state = _state(request)
    doc = state.store.get(agent_id)
    if doc is None:
        return not_found(agent_id)
    if state.running >= state.max_concurrent:
        return error(
            429,
            "too_many_concurrent_requests",
            f"You have too many concurrent requests: your plan allows {state.max_concurrent} at "
            "a time. Wait for a running simulation to finish, or upgrade your plan.",
            headers={
                "current-concurrent-requests": str(state.running),
                "maximum-concurrent-requests": str(state.max_concurrent),
            },
        )
    state.running += 1
    try:
        seed = engine.seed_for(agent_id, parsed.model_dump(mode="json", exclude_none=True))
        return engine.simulate(doc, parsed, seed)
    except BaseException:
        state.running -= 1
        raise


async def simulate(request: Request) -> Response:
    sim = await _prepare_simulation(request)
    if isinstance(sim, Response):
        return sim
    state = _state(request)
    try:
        if state.turn_delay > 0:
            await asyncio.sleep(state.turn_delay * len(sim.frames))
        body = sim.response()
        fault = _fault(request)
        if fault is not None and fault.name is FaultName.NO_ANALYSIS:
            body.pop("analysis")
        if fault is not None and fault.name is FaultName.HUGE_RESPONSE:
            # Huge and still valid: one more agent turn with a very long message.
            size = int(fault.param("bytes", 8 << 20))
            body["simulated_conversation"].append(_huge_turn(sim, size))
            return _respond(request, body, padding=False)
        return _respond(request, body)
    finally:
        state.running -= 1


def _huge_turn(sim: engine.Simulation, size: int) -> JSONObject:
    template = dict(sim.turns[-1]) if sim.turns else {"role": "agent", "time_in_call_secs": 0}
    template["role"] = "agent"
    template["message"] = ("Lorem ipsum dolor sit amet. " * (size // 28 + 1))[:size]
    template["tool_calls"], template["tool_results"] = [], []
    return template


def _frame_line(frame: JSONObject) -> bytes:
    # The live API's wire format: each line is a JSON string whose content is the frame's JSON.
    return (json.dumps(json.dumps(frame, ensure_ascii=False)) + "\n").encode()


async def simulate_stream(request: Request) -> Response:
    sim = await _prepare_simulation(request)
    if isinstance(sim, Response):
        return sim
    state = _state(request)
    fault = _fault(request)

    async def frames() -> AsyncIterator[bytes]:
        lines: list[JSONObject] = [
            {"simulated_conversation": turns, "analysis": None} for turns in sim.frames
        ]
        lines.append({"simulated_conversation": [], "analysis": sim.analysis})
        if fault is not None and fault.name is FaultName.NO_ANALYSIS:
            lines.pop()
        if fault is not None and fault.name is FaultName.HUGE_RESPONSE:
            at = min(1, len(lines))
            lines.insert(
                at,
                {
                    "simulated_conversation": [_huge_turn(sim, int(fault.param("bytes", 8 << 20)))],
                    "analysis": None,
                },
            )
        bad_at = (
            int(fault.param("after_frames", 1))
            if fault and fault.name is FaultName.MALFORMED_FRAME
            else -1
        )
        for index, line in enumerate(lines):
            if index > 0 and state.turn_delay > 0:
                await asyncio.sleep(state.turn_delay)
            if index == bad_at:
                yield b'"{\\"simulated_conversation\\": [{\\"role\\": \\"agent\\", \\"mess\n'
                continue
            yield _frame_line(line)

    return _ReleasingStream(
        frames(),
        media_type="application/json",
        release=lambda: setattr(state, "running", state.running - 1),
    )


class _ReleasingStream(StreamingResponse):
    """A streamed response that frees its simulation slot however the stream ends."""

    def __init__(
        self, content: AsyncIterator[bytes], *, media_type: str, release: Callable[[], None]
    ) -> None:
        super().__init__(content, media_type=media_type)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


AGENT = "/v1/convai/agents/{agent_id}"
ROUTES = [
    Route(AGENT + "/simulate-conversation", simulate, methods=["POST"]),
    Route(AGENT + "/simulate-conversation/stream", simulate_stream, methods=["POST"]),
]
