"""The sandbox's HTTP surface: the Agents API routes, auth, faults and the `/_sandbox/` admin.

Errors keep the real API's shapes: `{"detail": {"status", "message"}}` for most, FastAPI's list
form for 422, and `{"detail": "Not Found"}` for unknown routes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Match, Route
from starlette.types import Message, Receive, Scope, Send

from agents_mcp.api import models
from agents_mcp.sandbox import engine, testing_routes
from agents_mcp.sandbox.errors import (
    error,
    fastapi_errors,
    json_body,
    not_found,
    unprocessable,
    validate_lenient,
)
from agents_mcp.sandbox.faults import HEADER, Fault, FaultError, parse_header, parse_spec
from agents_mcp.sandbox.state import (
    DEFAULT_API_KEY,
    DEFAULT_MAX_CONCURRENT,
    DEFAULT_RUN_DELAY,
    SandboxState,
    demo_agent_files,
    load_demo_agents,
    resolve_api_key,
)
from agents_mcp.sandbox.store import AgentStore, summary

_DROP = "sandbox-dropped-connection"  # returned to uvicorn: it closes the socket, sends nothing
logger = logging.getLogger("agents_mcp.sandbox")
__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_MAX_CONCURRENT",
    "SandboxApp",
    "create_app",
    "demo_agent_files",
]


class _Drop(Exception):
    """Raised inside a response to cut the connection where it stands."""


class _QuietDrops(logging.Filter):
    """Keeps uvicorn from reporting the connections the sandbox drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], _Drop):
            return False
        return not (record.args and _DROP in str(record.args))


class _ListQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    page_size: Annotated[int, Field(ge=1, le=100)] = 30
    search: str | None = None
    cursor: str | None = None
    sort_direction: Literal["asc", "desc"] = "desc"
    sort_by: Literal["name", "created_at"] = "created_at"
    archived: bool | None = None
    show_only_owned_agents: bool = False
    created_by_user_id: str | None = None


class _DeleteQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    force: bool = False


class _CreateBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    conversation_config: dict[str, Any]
    platform_settings: dict[str, Any] | None = None
    workflow: dict[str, Any] | None = None
    name: str | None = None
    tags: list[str] | None = None


# --- routes --------------------------------------------------------------------------------


def _state(request: Request) -> SandboxState:
    return request.app.state.sandbox


def _fault(request: Request) -> Fault | None:
    return request.scope.get("sandbox.fault")


def _respond(request: Request, body: Any, status: int = 200, *, padding: bool = True) -> Response:
    """A JSON success body, altered by a content fault if one is armed for this request."""
    fault = _fault(request)
    if padding and fault is not None and fault.name == "huge_response" and isinstance(body, dict):
        body = {**body, "sandbox_padding": "x" * int(fault.param("bytes", 8 * 1024 * 1024))}
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    if fault is not None and fault.name == "malformed_frame":
        raw = raw[: max(1, len(raw) // 2)]
    return Response(raw, status, media_type="application/json")


async def create_agent(request: Request) -> Response:
    body = await json_body(request, required=True)
    if isinstance(body, Response):
        return body
    parsed = validate_lenient(_CreateBody, body)
    if isinstance(parsed, Response):
        return parsed
    agent_id = _state(request).store.create(
        name=parsed.name,
        conversation_config=parsed.conversation_config,
        platform_settings=parsed.platform_settings,
        workflow=parsed.workflow,
        tags=parsed.tags,
    )
    return _respond(request, models.CreateAgentResponse(agent_id=agent_id).model_dump())


async def list_agents(request: Request) -> Response:
    try:
        query = _ListQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:
        return unprocessable(fastapi_errors(exc, "query"))
    page = _state(request).store.page(
        page_size=query.page_size,
        cursor=query.cursor,
        search=query.search,
        sort_by=query.sort_by,
        descending=query.sort_direction == "desc",
    )
    agents = [summary(doc) for doc in page.agents]
    if query.archived is not None:
        agents = [a for a in agents if a["archived"] == query.archived]
    return _respond(
        request, {"agents": agents, "next_cursor": page.next_cursor, "has_more": page.has_more}
    )


async def get_agent(request: Request) -> Response:
    agent_id = request.path_params["agent_id"]
    doc = _state(request).store.get(agent_id)
    if doc is None:
        return not_found(agent_id)
    doc.setdefault("version_id", None)
    doc.setdefault("branch_id", None)
    return _respond(request, doc)


async def delete_agent(request: Request) -> Response:
    try:
        _DeleteQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:
        return unprocessable(fastapi_errors(exc, "query"))
    agent_id = request.path_params["agent_id"]
    if not _state(request).store.delete(agent_id):
        return not_found(agent_id)
    return _respond(request, models.DeleteAgentResponse().model_dump())


async def duplicate_agent(request: Request) -> Response:
    body = await json_body(request, required=False)
    if isinstance(body, Response):
        return body
    parsed = validate_lenient(models.DuplicateRequest, body)
    if isinstance(parsed, Response):
        return parsed
    agent_id = request.path_params["agent_id"]
    new_id = _state(request).store.duplicate(agent_id, parsed.name)
    if new_id is None:
        return not_found(agent_id)
    return _respond(request, models.CreateAgentResponse(agent_id=new_id).model_dump())


async def agent_link(request: Request) -> Response:
    agent_id = request.path_params["agent_id"]
    store = _state(request).store
    doc = store.get(agent_id)
    if doc is None:
        return not_found(agent_id)
    settings = doc.get("platform_settings")
    auth = settings.get("auth") if isinstance(settings, dict) else None
    token = None
    if isinstance(auth, dict) and auth.get("enable_auth") is True:
        shareable = auth.get("shareable_token")
        if not isinstance(shareable, str) or not shareable:  # minted once, then kept
            shareable = "cnv_tkn_" + secrets.token_urlsafe(24)
            auth["shareable_token"] = shareable
            store.put(doc)
        token = models.ConversationToken(
            agent_id=agent_id,
            conversation_token=shareable,
            expiration_time_unix_secs=None,
            conversation_id=None,
            purpose="shareable_link",
            token_requester_user_id=None,
        )
    return _respond(request, models.AgentLink(agent_id=agent_id, token=token).model_dump())


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
        if fault is not None and fault.name == "no_analysis":
            body.pop("analysis")
        if fault is not None and fault.name == "huge_response":
            # Huge and still valid: one more agent turn with a very long message.
            size = int(fault.param("bytes", 8 << 20))
            body["simulated_conversation"].append(_huge_turn(sim, size))
            return _respond(request, body, padding=False)
        return _respond(request, body)
    finally:
        state.running -= 1


def _huge_turn(sim: engine.Simulation, size: int) -> dict[str, Any]:
    template = dict(sim.turns[-1]) if sim.turns else {"role": "agent", "time_in_call_secs": 0}
    template["role"] = "agent"
    template["message"] = ("Lorem ipsum dolor sit amet. " * (size // 28 + 1))[:size]
    template["tool_calls"], template["tool_results"] = [], []
    return template


def _frame_line(frame: dict[str, Any]) -> bytes:
    # The live API's wire format: each line is a JSON string whose content is the frame's JSON.
    return (json.dumps(json.dumps(frame, ensure_ascii=False)) + "\n").encode()


async def simulate_stream(request: Request) -> Response:
    sim = await _prepare_simulation(request)
    if isinstance(sim, Response):
        return sim
    state = _state(request)
    fault = _fault(request)

    async def frames() -> AsyncIterator[bytes]:
        lines = [{"simulated_conversation": turns, "analysis": None} for turns in sim.frames]
        lines.append({"simulated_conversation": [], "analysis": sim.analysis})
        if fault is not None and fault.name == "no_analysis":
            lines.pop()
        if fault is not None and fault.name == "huge_response":
            at = min(1, len(lines))
            lines.insert(
                at,
                {
                    "simulated_conversation": [_huge_turn(sim, int(fault.param("bytes", 8 << 20)))],
                    "analysis": None,
                },
            )
        bad_at = (
            int(fault.param("after_frames", 1)) if fault and fault.name == "malformed_frame" else -1
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


# --- admin ---------------------------------------------------------------------------------


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


AGENT = "/v1/convai/agents/{agent_id}"
ROUTES = [
    Route("/v1/convai/agents/create", create_agent, methods=["POST"]),
    Route("/v1/convai/agents", list_agents, methods=["GET"]),
    Route(AGENT, get_agent, methods=["GET"]),
    Route(AGENT, delete_agent, methods=["DELETE"]),
    Route(AGENT + "/duplicate", duplicate_agent, methods=["POST"]),
    Route(AGENT + "/link", agent_link, methods=["GET"]),
    Route(AGENT + "/simulate-conversation", simulate, methods=["POST"]),
    Route(AGENT + "/simulate-conversation/stream", simulate_stream, methods=["POST"]),
    Route("/_sandbox/faults", admin_faults, methods=["GET", "POST", "DELETE"]),
    Route("/_sandbox/requests", admin_requests, methods=["GET", "DELETE"]),
    Route("/_sandbox/reset", admin_reset, methods=["POST"]),
    Route("/_sandbox/config", admin_config, methods=["GET", "POST"]),
    *testing_routes.ROUTES,
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:  # type: ignore[override]
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
        entry: dict[str, Any] = {"method": method, "path": path, "status": None, "fault": None}
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
        name = fault.name
        if name in ("http_500", "http_502", "http_503", "http_422", "rate_limit"):
            await _status_fault(fault)(scope, receive, send)
            return None
        if name == "drop_connection":
            if fault.param("after_processing", False):
                await super().__call__(scope, receive, _swallow)
            return _DROP
        if name == "stall" and "after_frames" not in fault.params:
            await asyncio.sleep(float(fault.param("seconds", 30)))
            try:
                return await super().__call__(scope, receive, send)
            except ClientDisconnect:  # the client gave up during the stall: that was the point
                return None
        scope["sandbox.fault"] = fault
        if name in ("drop_mid_stream", "stall"):
            send = _cutting(send, fault)
        try:
            await super().__call__(scope, receive, send)
        except _Drop:
            return _DROP
        except BaseExceptionGroup as group:
            if group.subgroup(_Drop) is not None:
                return _DROP
            raise
        return None


def _check_key(given: str | None, expected: str) -> Response | None:
    if not given:
        return error(
            401, "missing_api_key", "Missing API key. Pass your API key in the 'xi-api-key' header."
        )
    if not secrets.compare_digest(given.encode(), expected.encode()):
        return error(401, "invalid_api_key", "Invalid API key")
    return None


def _status_fault(fault: Fault) -> Response:
    if fault.name == "http_500":
        return error(
            500,
            "something_went_wrong",
            "An unexpected error occurred. You are not charged for this request.",
        )
    if fault.name == "http_502":  # gateways answer in HTML, not JSON
        html = (
            "<html><head><title>502 Bad Gateway</title></head>"
            "<body><h1>502 Bad Gateway</h1></body></html>"
        )
        return Response(html, 502, media_type="text/html")
    if fault.name == "http_422":
        field = str(fault.param("field", "name"))
        return unprocessable(
            [
                {
                    "type": "value_error",
                    "loc": ["body", field],
                    "msg": "Value error, refused by the sandbox's http_422 fault",
                    "input": None,
                }
            ]
        )
    if fault.name == "http_503":
        return error(
            503,
            "service_unavailable",
            "The service is temporarily unavailable. Please try again shortly.",
        )
    headers = {}
    if fault.param("retry_after") is not None:
        value = fault.param("retry_after")
        headers["retry-after"] = (
            str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        )
    code = fault.param("code", "too_many_concurrent_requests")
    return error(
        429,
        code,
        "You have too many concurrent requests or are over your rate limit. "
        "Please try again later.",
        headers=headers,
    )


def _recording(send: Send, entry: dict[str, Any]) -> Send:
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


async def _swallow(message: Message) -> None:
    return None


def _cutting(send: Send, fault: Fault) -> Send:
    """Passes `after_frames` body chunks, then drops (half of the next chunk) or stalls."""
    after = int(fault.param("after_frames", 0 if fault.name == "drop_mid_stream" else 1))
    sent = 0

    async def wrapped(message: Message) -> None:
        nonlocal sent
        if message["type"] != "http.response.body" or not message.get("body"):
            await send(message)
            return
        if sent == after:
            if fault.name == "drop_mid_stream":
                body = message["body"]
                await send(
                    {
                        "type": "http.response.body",
                        "body": body[: len(body) // 2],
                        "more_body": True,
                    }
                )
                raise _Drop()
            await asyncio.sleep(float(fault.param("seconds", 30)))
        sent += 1
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
        },
        run_delay=float(run_delay),
        legacy_simulate=bool(legacy_simulate),
    )
    _install_log_filter()
    return app


def _install_log_filter() -> None:
    uvicorn_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in uvicorn_log.filters):
        uvicorn_log.addFilter(_QuietDrops())
