"""The simulation tools: simulate_conversation, get_simulation, cancel_simulation, and the
simulation:// resource.

A simulation is a background job of the server (SimulationManager), run on the simulate stream
or on the agent-testing API (AGENTS_MCP_SIMULATION_BACKEND). simulate_conversation starts it and
waits up to `wait_seconds`, sending one MCP progress notification per streamed frame (or per poll
of the test run); if
it is not done by then, it answers with the id and the progress so far, and get_simulation
continues the wait. Cancelling simulate_conversation (MCP cancellation) stops the simulation: the
caller asked for it and is leaving. Abandoning a get_simulation wait does not: that call only
reads (get_simulation is read-only), and another caller may still want the result;
cancel_simulation stops a simulation explicitly.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from agents_mcp.api import errors as api_errors
from agents_mcp.api import validate_agent_id
from agents_mcp.errors_text import error_text
from agents_mcp.logs import redact
from agents_mcp.report import VIEWER_META
from agents_mcp.simulations import (
    Progress,
    SimulationBusyError,
    SimulationManager,
    SimulationRecord,
    UnknownSimulationError,
)
from agents_mcp.simulations.record import Status, is_simulation_id
from agents_mcp.simulations.request import RequestBuildError, build_request
from agents_mcp.simulations.summary import WAIT_HINT_SECONDS, PageError, View
from agents_mcp.simulations.views import render
from agents_mcp.state import app_state
from agents_mcp.stores.base import StoreError
from agents_mcp.tools.definition import ToolDefinition
from agents_mcp.tools.errors import ToolCall, tool_call, tool_error

logger = logging.getLogger("agents_mcp.tools.simulations")

DEFAULT_WAIT_SECONDS = WAIT_HINT_SECONDS  # below the ~60 s after which desktop clients give up
# A client that gives up on simulate_conversation cancels it, and with it the simulation: keep
# its wait below the common 60 s client timeout. Abandoning a get_simulation wait is harmless.
MAX_START_WAIT_SECONDS = 55
MAX_WAIT_SECONDS = 300


class SimulationResult(BaseModel):
    # Output schema of both tools (no docstring: it would be sent in tools/list). The other
    # fields depend on the status and the detail level.
    model_config = ConfigDict(extra="allow")
    simulation_id: str
    status: Status


# --- helpers -------------------------------------------------------------------------------------


def _manager(ctx: Context) -> SimulationManager:
    state = app_state(ctx)
    if state.simulations is None:
        raise ToolError("Simulations are not available in this server (no simulation store).")
    return state.simulations


def _progress_reporter(ctx: Context) -> Callable[[Progress], Any]:
    async def report(event: Progress) -> None:
        try:
            await ctx.report_progress(event.frames, None, event.message)
        except Exception:  # the client went away: the simulation goes on regardless
            logger.debug("progress notification not sent", exc_info=True)

    return report


def explained(record: SimulationRecord, manager: SimulationManager, tool: str) -> SimulationRecord:
    """The record with its error rewritten as the tool error texts put it (what to do next)."""
    if record.error is None:
        return record
    exc = manager.exception(record.simulation_id)
    if not isinstance(exc, api_errors.APIError):
        cls = getattr(api_errors, record.error_type or "", None)
        is_api = isinstance(cls, type) and issubclass(cls, api_errors.APIError)
        exc = cls(record.error) if is_api and cls is not None else None
    if exc is None:
        return record
    text = error_text(exc, tool=tool, agent_id=record.agent_id)
    return dataclasses.replace(record, error=redact(text))


def _result(view: View[Mapping[str, object]], *, is_error: bool = False) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=redact(view.text))],
        structured_content=dict(view.structured),
        is_error=is_error,
    )


# --- simulate_conversation -----------------------------------------------------------------------


async def simulate_conversation(
    agent_id: Annotated[str, Field(description="Agent id (agent_...)")],
    user_prompt: Annotated[
        str, Field(description="Who the simulated caller is and what they want")
    ],
    first_message: Annotated[str | None, Field(description="Caller's first message")] = None,
    language: Annotated[str | None, Field(description="Caller's language, e.g. en")] = None,
    user_llm: Annotated[str | None, Field(description="Caller's LLM, e.g. gpt-4o")] = None,
    criteria: Annotated[
        list[str | dict[str, str]] | None,
        Field(description="Goals to judge: sentences or {id,name,goal}"),
    ] = None,
    tool_mocks: Annotated[
        dict[str, dict[str, Any]] | None,
        Field(description="Mocked tools: {tool: {return, is_error}}"),
    ] = None,
    dynamic_variables: Annotated[
        dict[str, str | int | float | bool] | None, Field(description="Dynamic variables")
    ] = None,
    max_turns: Annotated[int | None, Field(description="Max new turns", ge=1)] = None,
    wait_seconds: Annotated[
        float,
        Field(description="Wait this long, then return progress", ge=0, le=MAX_START_WAIT_SECONDS),
    ] = DEFAULT_WAIT_SECONDS,
    advanced: Annotated[
        dict[str, Any] | None,
        Field(description="Other simulate API body fields, e.g. partial_conversation_history"),
    ] = None,
    *,
    ctx: Context,
) -> Annotated[CallToolResult, SimulationResult]:
    """Run one simulated caller against an agent; spends credits. Returns outcome, failed
    criteria with reasons, tool errors and a simulation_id; if still running after wait_seconds,
    call get_simulation."""
    async with tool_call("simulate_conversation", agent_id) as call:
        validate_agent_id(agent_id)
        try:
            request = build_request(
                user_prompt,
                first_message=first_message,
                language=language,
                user_llm=user_llm,
                criteria=criteria,
                tool_mocks=tool_mocks,
                dynamic_variables=dynamic_variables,
                max_turns=max_turns,
                advanced=advanced,
            )
        except RequestBuildError as exc:
            call.outcome = "invalid_arguments"
            raise ToolError(str(exc)) from None
        manager = _manager(ctx)
        prepared = None
        if manager.current_backend == "tests":
            try:  # mocked tool names resolved, every field mapped: before anything is created
                prepared = await manager.prepare_tests(agent_id, request)
            except RequestBuildError as exc:
                call.outcome = "invalid_arguments"
                raise ToolError(str(exc)) from None
        try:
            record = await manager.start(agent_id, request, prepared)
        except SimulationBusyError as exc:
            call.outcome = "busy"
            raise tool_error(exc) from None
        except StoreError as exc:  # the shared store is down: nothing was started
            call.outcome = "store_unavailable"
            raise ToolError(str(exc)) from None
        sid = record.simulation_id
        try:
            record = await manager.wait(sid, wait_seconds, _progress_reporter(ctx))
        except anyio.get_cancelled_exc_class():
            # The caller gave up on this call: stop the simulation it started (and its stream).
            manager.cancel_nowait(sid, "Cancelled: the simulate_conversation call was cancelled.")
            raise
        failed = record.status == "failed"
        call.outcome = "simulation_failed" if failed else "ok"
        view = render(explained(record, manager, "simulate_conversation"))
        return _result(view, is_error=failed)


# --- get_simulation, cancel_simulation -----------------------------------------------------------


def _check_id(simulation_id: str, call: ToolCall) -> None:
    if not is_simulation_id(simulation_id):
        call.outcome = "unknown_simulation"
        raise ToolError(
            f"Unknown simulation id {simulation_id[:40]!r}: ids look like "
            "sim_0123456789abcdef and come from simulate_conversation's result."
        )


async def _known(
    manager: SimulationManager, simulation_id: str, call: ToolCall
) -> SimulationRecord:
    try:
        return await manager.get(simulation_id)
    except UnknownSimulationError as exc:
        call.outcome = "unknown_simulation"
        raise tool_error(exc) from None
    except StoreError as exc:  # the shared store is down
        call.outcome = "store_unavailable"
        raise ToolError(str(exc)) from None


async def get_simulation(
    simulation_id: Annotated[str, Field(description="From simulate_conversation")],
    detail: Annotated[
        Literal["summary", "transcript", "full"],
        Field(description="summary, transcript (turns, paged) or full (raw JSON, paged)"),
    ] = "summary",
    wait_seconds: Annotated[
        float, Field(description="Wait up to this long if still running", ge=0, le=MAX_WAIT_SECONDS)
    ] = 0,
    page: Annotated[int, Field(description="Page of transcript/full", ge=1)] = 1,
    *,
    ctx: Context,
) -> Annotated[CallToolResult, SimulationResult]:
    """Show a simulation's result (or progress), waiting for it if asked."""
    async with tool_call("get_simulation") as call:
        _check_id(simulation_id, call)
        manager = _manager(ctx)
        record = await _known(manager, simulation_id, call)
        if wait_seconds > 0 and not record.finished:
            # Abandoning this wait (cancellation) ends the wait only; the simulation goes on.
            try:
                record = await manager.wait(simulation_id, wait_seconds, _progress_reporter(ctx))
            except StoreError as exc:
                call.outcome = "store_unavailable"
                raise ToolError(str(exc)) from None
        try:
            view = render(explained(record, manager, "get_simulation"), detail, page)
        except PageError as exc:
            call.outcome = "bad_page"
            raise ToolError(f"{exc}. Ask for page=1 to start.") from None
        return _result(view)


async def cancel_simulation(
    simulation_id: Annotated[str, Field(description="From simulate_conversation")],
    *,
    ctx: Context,
) -> Annotated[CallToolResult, SimulationResult]:
    """Stop a running simulation; its partial transcript is kept."""
    async with tool_call("cancel_simulation") as call:
        _check_id(simulation_id, call)
        manager = _manager(ctx)
        record = await _known(manager, simulation_id, call)
        if not record.finished:
            record = await manager.cancel(simulation_id, "Cancelled on request.")
            return _result(render(explained(record, manager, "cancel_simulation")))
        view = render(explained(record, manager, "cancel_simulation"))
        said = f"Nothing to cancel: the simulation had already ended ({record.status})."
        return _result(View(view.structured, f"{view.text}\n{said}"))


# --- resource ------------------------------------------------------------------------------------


async def simulation_resource(simulation_id: str, ctx: Context) -> str:
    """The whole stored simulation: request, every turn, the analysis, status and error."""
    # ResourceNotFoundError: the client gets the message (invalid params), and the SDK does not
    # log it as an unexpected exception with a traceback.
    if not is_simulation_id(simulation_id):
        raise ResourceNotFoundError(f"Unknown simulation id {simulation_id[:40]!r}")
    try:
        record = await _manager(ctx).get(simulation_id)
    except UnknownSimulationError as exc:
        raise ResourceNotFoundError(error_text(exc)) from None
    except StoreError as exc:
        raise ResourceNotFoundError(str(exc)) from None
    return json.dumps(record.document(), ensure_ascii=False, separators=(",", ":"))


def register_resources(mcp: MCPServer, enabled: frozenset[str]) -> None:
    if enabled & {"simulate_conversation", "get_simulation", "cancel_simulation"}:
        mcp.resource(
            "simulation://{simulation_id}",
            name="simulation",
            description="A stored simulation as JSON (request, turns, analysis)",
            mime_type="application/json",
        )(simulation_resource)


# --- definitions ---------------------------------------------------------------------------------

TOOLS: tuple[ToolDefinition, ...] = (
    ToolDefinition(
        name="simulate_conversation",
        handler=simulate_conversation,
        title="Simulate conversation",
        # costs credits and runs a conversation, but changes no agent
        annotations=ToolAnnotations(
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=True,
        ),
        output=SimulationResult,
        meta=VIEWER_META,
        instructions=(
            "simulate_conversation runs a simulated caller against an agent and returns a compact "
            "summary (outcome, failed criteria with reasons, tool errors) and a simulation_id."
        ),
        signature=(
            "simulate_conversation(agent_id, user_prompt, first_message, language, user_llm, "
            "criteria, tool_mocks, dynamic_variables, max_turns, wait_seconds, advanced)"
        ),
        summary=(
            "Runs a simulated caller against the agent: on the streamed endpoint while it exists "
            "(one progress notification per frame), else as a temporary test on the agent-testing "
            "API (one per poll; `AGENTS_MCP_SIMULATION_BACKEND`). Returns outcome, failed criteria "
            "with reasons, tool errors, numbers, credits and a `simulation_id`. Spends credits. "
            "`advanced` takes any other part of the API body, validated field by field."
        ),
    ),
    ToolDefinition(
        name="get_simulation",
        handler=get_simulation,
        title="Get simulation",
        # reads this server's store (and waits): no side effect, no request to the API
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
        output=SimulationResult,
        meta=VIEWER_META,
        instructions=(
            "get_simulation(simulation_id) keeps waiting for a running simulation or shows more: "
            "detail='summary' (default), 'transcript' or 'full', paged."
        ),
        signature=(
            'get_simulation(simulation_id, detail="summary"|"transcript"|"full", '
            "wait_seconds=0, page=1)"
        ),
        summary=(
            "Keeps waiting for a long simulation, or shows a finished one at the detail asked for, "
            "paged; every page names the call for the next one."
        ),
    ),
    ToolDefinition(
        name="cancel_simulation",
        handler=cancel_simulation,
        title="Cancel simulation",
        # stops a job of this server (its upstream stream closes); what was received is kept,
        # and cancelling a finished simulation changes nothing
        annotations=ToolAnnotations(
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=True,
            open_world_hint=False,
        ),
        output=SimulationResult,
        instructions="cancel_simulation(simulation_id) stops a running simulation.",
        signature="cancel_simulation(simulation_id)",
        summary=(
            "Stops a running simulation and shows what it got so far (the partial transcript is "
            "kept); a finished one is shown unchanged."
        ),
    ),
)
