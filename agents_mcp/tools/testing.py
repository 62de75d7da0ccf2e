"""The test-suite tools: run_tests, get_test_results, and the test-run:// resource.

run_tests checks everything and counts the runs it would start (tests x repeat, a live baseline
included) before anything is created; past AGENTS_MCP_MAX_RUNS the user confirms (a dialog when
the client has one, else confirm=true after asking). It then starts the run, waits up to
`wait_seconds` with one progress notification per poll, and answers with the compact summary
(or its progress and `run_id`); get_test_results keeps waiting and shows runs and transcripts.
Abandoning either call does not stop the run: it is paid for upstream, and its results are kept.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    DeclinedElicitation,
    Elicit,
    ElicitationResult,
    MCPServer,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from agents_mcp.api.errors import APIError
from agents_mcp.logs import redact
from agents_mcp.report import VIEWER_META
from agents_mcp.simulations.summary import PageError, View
from agents_mcp.state import AppState, app_state
from agents_mcp.testing import views
from agents_mcp.testing.agent_config import OverrideError
from agents_mcp.testing.record import UnknownRunError, is_run_id
from agents_mcp.testing.runner import BaselineRequest, Plan, TestRunManager
from agents_mcp.testing.suite import SuiteError, plan_tests
from agents_mcp.tools.agents import _client_can_ask
from agents_mcp.tools.definition import ToolDefinition
from agents_mcp.tools.errors import outcome_of, tool_call, tool_error

logger = logging.getLogger("agents_mcp.tools.testing")

DEFAULT_WAIT_SECONDS = views.WAIT_HINT_SECONDS
MAX_START_WAIT_SECONDS = 55  # below the ~60 s after which desktop clients give up
MAX_WAIT_SECONDS = 300


_EMPTY: dict[str, Any] = {}  # an omitted object argument (a default, never mutated)


class ConfirmRun(BaseModel):
    """The form a client with elicitation shows the user."""

    confirm: bool = Field(description="Yes, start these runs (they cost credits)")


class _Ready:
    """No question needed (or none possible): the checked plan, and whether the client can ask."""

    def __init__(self, plan: Plan, can_ask: bool) -> None:
        self.plan = plan
        self.can_ask = can_ask


def _state(ctx: Context) -> AppState:
    return app_state(ctx)


def _manager(ctx: Context) -> TestRunManager:
    manager = _state(ctx).test_runs
    if manager is None:
        raise ToolError("Test runs are not available in this server (no result store).")
    return manager


def _result(view: View[Mapping[str, object]], *, is_error: bool = False) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=redact(view.text))],
        structured_content=dict(view.structured),
        is_error=is_error,
    )


def _baseline(value: dict[str, Any]) -> BaselineRequest:
    unknown = sorted(set(value) - {"agent_id", "branch_id", "agent_config_override"})
    if unknown:
        raise SuiteError(
            [f"baseline: unknown key(s) {unknown}; use agent_id, branch_id, agent_config_override"]
        )
    for key in ("agent_id", "branch_id"):
        if value.get(key) is not None and not isinstance(value[key], str):
            raise SuiteError([f"baseline.{key}: must be a string"])
    return BaselineRequest(
        agent_id=value.get("agent_id"),
        branch_id=value.get("branch_id"),
        agent_config_override=value.get("agent_config_override"),
    )


async def _plan(
    ctx: Context,
    agent_id: str,
    tests: list[Any],
    repeat: int,
    branch_id: str,
    agent_config_override: dict[str, Any],
    baseline: dict[str, Any] | None,
    baseline_run_id: str,
    attached: bool,
    keep_tests: bool,
) -> Plan:
    """Everything checked and counted (reads only); a ToolError for anything wrong. Empty
    strings and objects mean "not given"."""
    try:
        problems: list[str] = []
        planned = plan_tests(tests, problems)
        if problems:
            raise SuiteError(problems)
        if baseline_run_id and not is_run_id(baseline_run_id):
            raise SuiteError([f"baseline_run_id: {baseline_run_id[:40]!r} is not a run id"])
        return await _manager(ctx).prepare(
            agent_id,
            planned,
            repeat=repeat,
            branch_id=branch_id or None,
            agent_config_override=agent_config_override or None,
            baseline=_baseline(baseline) if baseline is not None else None,
            baseline_run_id=baseline_run_id or None,
            attached=attached,
            keep_tests=keep_tests,
        )
    except (SuiteError, OverrideError) as exc:
        raise ToolError(
            f"Invalid test run arguments: {_unsent(exc)} Fix them and call again."
        ) from None
    except APIError as exc:
        raise tool_error(exc, tool="run_tests", agent_id=agent_id) from None


def _unsent(exc: Exception) -> str:
    """The refusal as a sentence that says nothing was sent (every refusal here is before any)."""
    said = str(exc).strip().rstrip(".")
    return said + "." if "Nothing was sent" in said else f"{said}. Nothing was sent."


async def _ask_to_run(
    agent_id: str,
    tests: list[Any],
    ctx: Context,
    repeat: int = 1,
    branch_id: str = "",
    agent_config_override: dict[str, Any] = _EMPTY,
    baseline: dict[str, Any] | None = None,
    baseline_run_id: str = "",
    attached: bool = False,
    keep_tests: bool = False,
) -> Elicit[ConfirmRun] | _Ready:
    """Runs before the tool body: checks and counts (reads only), then asks the user when the
    count passes AGENTS_MCP_MAX_RUNS and the client can show a question."""
    try:
        plan = await _plan(
            ctx, agent_id, tests, repeat, branch_id, agent_config_override, baseline,
            baseline_run_id, attached, keep_tests,
        )  # fmt: skip
    except ToolError as exc:
        from agents_mcp.logs import log_tool_call

        cause = exc.__context__  # an API failure (dead upstream, bad key) is not bad arguments
        outcome = outcome_of(cause) if isinstance(cause, APIError) else "invalid_arguments"
        log_tool_call("run_tests", agent_id, outcome, 0.0)
        raise
    can_ask = _client_can_ask(ctx)
    if plan.run_count <= _state(ctx).settings.max_runs or not can_ask:
        return _Ready(plan, can_ask)
    return Elicit(
        f"Start {plan.run_count} test runs on agent {agent_id} "
        f"({len(plan.tests)} tests x {repeat} repeats"
        f"{', twice with the baseline' if plan.run_count > len(plan.tests) * repeat else ''})? "
        "Each run costs credits.",
        ConfirmRun,
    )


def _not_started(status: str, text: str, count: int) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content={"status": status, "runs_to_start": count},
    )


async def run_tests(
    agent_id: str,
    tests: Annotated[
        list[Any],
        Field(
            description="Test ids or scenarios {name,user_prompt,criteria,max_turns,tool_mocks,"
            "dynamic_variables,first_message}"
        ),
    ],
    repeat: Annotated[int, Field(ge=1, le=50)] = 1,
    branch_id: str = "",
    agent_config_override: Annotated[
        dict[str, Any], Field(description="Partial config to try")
    ] = _EMPTY,
    baseline: Annotated[
        dict[str, Any] | None,
        Field(description="Also run on {agent_id?,branch_id?,agent_config_override?}"),
    ] = None,
    baseline_run_id: Annotated[str, Field(description="Compare with a stored run")] = "",
    attached: Annotated[bool, Field(description="Add the agent's attached tests")] = False,
    keep_tests: bool = False,
    confirm: Annotated[bool, Field(description="true after the user agreed")] = False,
    wait_seconds: Annotated[float, Field(ge=0, le=MAX_START_WAIT_SECONDS)] = DEFAULT_WAIT_SECONDS,
    *,
    ctx: Context,
    approval: Annotated[ElicitationResult[ConfirmRun], Resolve(_ask_to_run)],
) -> CallToolResult:
    """Run tests on an agent, `repeat` times each; spends credits. Pass rates, flaky tests,
    failures, baseline deltas, triage hints, run_id."""
    async with tool_call("run_tests", agent_id) as call:
        if isinstance(approval, AcceptedElicitation) and isinstance(approval.data, _Ready):
            plan = approval.data.plan
            limit = _state(ctx).settings.max_runs
            if plan.run_count > limit and not confirm:
                call.outcome = "not_confirmed"
                return _not_started(
                    "needs_confirmation",
                    f"Not started: this would start {plan.run_count} runs (more than "
                    f"AGENTS_MCP_MAX_RUNS={limit}), each costing credits, and this client cannot "
                    "ask the user. Tell the user the count; if they agree, call run_tests again "
                    "with confirm=true.",
                    plan.run_count,
                )
        elif isinstance(approval, AcceptedElicitation) and approval.data.confirm:
            plan = await _plan(
                ctx, agent_id, tests, repeat, branch_id, agent_config_override, baseline,
                baseline_run_id, attached, keep_tests,
            )  # fmt: skip
        elif isinstance(approval, AcceptedElicitation | DeclinedElicitation):
            call.outcome = "declined"
            return _not_started(
                "declined",
                "Not started: the user declined the test runs. Do not retry unless they ask.",
                0,
            )
        else:
            call.outcome = "cancelled"
            return _not_started("cancelled", "Not started: the user dismissed the question.", 0)
        manager = _manager(ctx)
        try:
            record = await manager.launch(plan)
        except (SuiteError, OverrideError) as exc:
            call.outcome = "invalid_arguments"
            raise ToolError(f"Invalid test run arguments: {_unsent(exc)}") from None

        async def report(done: int, total: int, message: str) -> None:
            await ctx.report_progress(done, total, message)

        record = await manager.wait(record.run_id, wait_seconds, report)
        call.outcome = "ok" if record.status != "failed" else "run_failed"
        return _result(views.render(record), is_error=record.status == "failed")


async def get_test_results(
    run_id: Annotated[str, Field(description="From run_tests")],
    detail: Literal["summary", "runs", "transcript"] = "summary",
    test: Annotated[str, Field(description="Test name (transcript needs it)")] = "",
    wait_seconds: Annotated[float, Field(ge=0, le=MAX_WAIT_SECONDS)] = 0,
    page: Annotated[int, Field(ge=1)] = 1,
    *,
    ctx: Context,
) -> CallToolResult:
    """Show a test run's results or progress (summary, runs, a test's transcript), waiting if
    asked."""
    async with tool_call("get_test_results") as call:
        if not is_run_id(run_id):
            call.outcome = "unknown_run"
            raise ToolError(
                f"Unknown test run id {run_id[:40]!r}: ids look like run_0123456789abcdef and "
                "come from run_tests' result."
            )
        manager = _manager(ctx)
        try:

            async def report(done: int, total: int, message: str) -> None:
                await ctx.report_progress(done, total, message)

            record = await manager.wait(run_id, wait_seconds, report)
        except UnknownRunError as exc:
            call.outcome = "unknown_run"
            raise ToolError(str(exc)) from None
        try:
            view = views.render(record, detail, test or None, page)
        except PageError as exc:
            call.outcome = "bad_page"
            raise ToolError(f"{exc}.") from None
        return _result(view)


async def test_run_resource(run_id: str, ctx: Context) -> str:
    """The whole stored run: tests, every run's transcript and verdict, the baseline."""
    if not is_run_id(run_id):
        raise ResourceNotFoundError(f"Unknown test run id {run_id[:40]!r}")
    try:
        record = await _manager(ctx).get(run_id)
    except UnknownRunError as exc:
        raise ResourceNotFoundError(str(exc)) from None
    return record.full_json()


def register_resources(mcp: MCPServer, enabled: frozenset[str]) -> None:
    if enabled & {"run_tests", "get_test_results"}:
        mcp.resource(
            "test-run://{run_id}",
            name="test-run",
            description="A stored test run as JSON (tests, runs, transcripts, baseline)",
            mime_type="application/json",
        )(test_run_resource)


TOOLS: tuple[ToolDefinition, ...] = (
    ToolDefinition(
        name="run_tests",
        handler=run_tests,
        title="Run tests",
        # spends credits and creates (then deletes) tests, but changes no agent
        # (idempotent false and open world true are the spec's defaults: not sent)
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False),
        meta=VIEWER_META,  # shown in the MCP Apps viewer
        instructions=(
            "run_tests runs scenarios or test ids on an agent several times (repeat), optionally "
            "against a baseline, and returns pass rates, flaky tests, deltas and triage hints; it "
            "spends credits, and asks the user first past a run count."
        ),
        signature=(
            "run_tests(agent_id, tests, repeat=1, branch_id=None, agent_config_override=None, "
            "baseline=None, baseline_run_id=None, attached=false, keep_tests=false, "
            "confirm=false, wait_seconds=45)"
        ),
        summary=(
            "Runs each test `repeat` times in one run-tests call (scenarios become temporary "
            "tests); per test: pass rate, flaky flag, failing conditions with reasons, delta vs a "
            "live or stored baseline, first divergence of a flaky test, triage hints. Spends "
            "credits; returns a `run_id`."
        ),
    ),
    ToolDefinition(
        name="get_test_results",
        handler=get_test_results,
        title="Get test results",
        # reads the stored run (polling it upstream, a read): no side effect
        annotations=ToolAnnotations(read_only_hint=True),
        meta=VIEWER_META,
        instructions=(
            "get_test_results(run_id) keeps waiting for a test run or shows more: "
            "detail='summary' (default), 'runs' or 'transcript' (with test=NAME), paged."
        ),
        signature=(
            'get_test_results(run_id, detail="summary"|"runs"|"transcript", test=None, '
            "wait_seconds=0, page=1)"
        ),
        summary=(
            "Keeps waiting for a test run, or shows its summary, every run's verdicts, or one "
            "test's transcripts, paged."
        ),
    ),
)
