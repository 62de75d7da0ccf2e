"""simulate_conversation on the agent-testing API: one ephemeral `type: "simulation"` test per call.

The mapping from the simulate body (built by request.py) to a test body is pure and checked
before anything is sent: a field with no equivalent, or a mocked tool whose name is no tool of
the workspace, is a RequestBuildError naming it, and nothing is created. A job then creates the
test, runs it, polls the invocation every `poll_seconds` (one progress event per poll), and
fills the record with the transcript and an analysis in the stream's shape (so the summary,
transcript and full views work unchanged). Whatever ends the job (done, failure, timeout,
cancellation) the test is deleted, and an unfinished invocation is cancelled upstream first.

Criterion verdicts: the API gives one merged verdict and an unkeyed list of rationale messages
(reported one per condition, order undocumented). They are matched to our criteria in order; a
verdict that had to be read from a message's wording is marked `guessed`, and the record's
notes say so.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from agents_mcp.api.errors import APIError, FieldError, RequestValidationError, UpstreamError
from agents_mcp.simulations.record import SimulationRecord
from agents_mcp.simulations.request import RequestBuildError

if TYPE_CHECKING:
    from agents_mcp.api import AgentsAPI
    from agents_mcp.api.testing_models import SimulationTestBody, TestInvocation, TestRun

logger = logging.getLogger("agents_mcp.simulations.tests")

DEFAULT_CRITERION = {
    "id": "caller_goal_met",
    "name": "Caller's goal met",
    "conversation_goal_prompt": (
        "The agent handled the caller's request correctly and the caller's goal was met."
    ),
}
CLEANUP_SECONDS = 10.0  # cancelling and deleting upstream, even while being cancelled
_SPEC = "simulation_specification"
_USER = "simulated_user_config"

PollCallback = Callable[[str], Awaitable[Any]]


@dataclass(frozen=True)
class PreparedTest:
    """The test body to create, and our criteria (id, name) in the order of its conditions."""

    body: SimulationTestBody
    criteria: list[dict[str, str]]


# --- the mapping (pure) --------------------------------------------------------------------------


def mocked_tool_names(request: Mapping[str, Any]) -> list[str]:
    """The tool names the simulate body mocks (tool_mock_config is keyed by name)."""
    mocks = request.get(_SPEC, {}).get("tool_mock_config") or {}
    return list(mocks)


def build_test_body(
    request: Mapping[str, Any], *, name: str, tool_ids: Mapping[str, str]
) -> PreparedTest:
    """The simulation test equivalent to a simulate body (a dict of models.SimulateRequest)."""
    from pydantic import ValidationError

    from agents_mcp.api.testing_models import SimulationTestBody

    problems: list[str] = []
    body: dict[str, Any] = {"type": "simulation", "name": name}
    rest = dict(request)
    spec = dict(rest.pop(_SPEC, {}) or {})
    user = dict(spec.pop(_USER, {}) or {})
    prompt = dict(user.pop("prompt", {}) or {})

    scenario = str(prompt.pop("prompt", "") or "")
    language = user.pop("language", None)
    if language:  # no field for it: the scenario's own words are the closest
        scenario += f"\n\nSpeak {language} throughout the conversation."
    body["simulation_scenario"] = scenario
    if prompt.get("llm"):
        body["simulated_user_model"] = prompt.pop("llm")
    history = list(spec.pop("partial_conversation_history", None) or [])
    first = user.pop("first_message", None)
    if first:
        start = history[-1].get("time_in_call_secs", 0) if history else 0
        history.append({"role": "user", "message": first, "time_in_call_secs": start})
    if history:
        body["chat_history"] = history
    variables = spec.pop("dynamic_variables", None)
    if variables:
        body["dynamic_variables"] = variables
    mocks = spec.pop("tool_mock_config", None) or {}
    if mocks:
        ids: list[str] = []
        overrides: dict[str, list[dict[str, Any]]] = {}
        for tool, mock in mocks.items():
            tool_id = tool_ids.get(tool)
            if tool_id is None:
                known = ", ".join(sorted(tool_ids)[:20]) or "none"
                problems.append(
                    f"tool_mocks.{_clip(tool, 60)}: the agent has no tool of this name "
                    f"(the agent-testing API mocks tools by id; its tools: {_clip(known, 300)})"
                )
                continue
            ids.append(tool_id)
            override: dict[str, Any] = {
                "parameter_conditions": [],
                "mock_result": str(mock.get("default_return_value") or ""),
            }
            if mock.get("default_is_error") is not None:
                override["is_error"] = bool(mock["default_is_error"])
            overrides[tool_id] = [override]
        body["tool_mock_config"] = {
            "mocking_strategy": "selected",
            "fallback_strategy": "call_real_tool",
            "mocked_tool_ids": ids,
        }
        body["tool_mock_overrides"] = overrides
    turns = rest.pop("new_turns_limit", None)
    if turns is not None:
        body["simulation_max_turns"] = turns
    criteria = list(rest.pop("extra_evaluation_criteria", None) or []) or [DEFAULT_CRITERION]
    body["success_conditions"] = [c["conversation_goal_prompt"] for c in criteria]
    ours = [{"id": str(c["id"]), "name": str(c.get("name") or c["id"])} for c in criteria]

    unmapped = [*rest, *(f"{_SPEC}.{k}" for k in spec), *(f"{_USER}.{k}" for k in user)]
    unmapped += [f"{_USER}.prompt.{k}" for k in prompt]
    for field in unmapped:
        problems.append(f"advanced.{field}: the agent-testing API has no equivalent field")
    try:
        checked = SimulationTestBody.model_validate(body)
    except ValidationError as exc:
        problems += [
            f"{'.'.join(str(p) for p in e['loc'])}: {_clip(e['msg'], 200)}" for e in exc.errors()
        ]
    if problems:
        raise RequestBuildError(problems)
    return PreparedTest(checked, ours)


async def prepare(api: AgentsAPI, agent_id: str, request: Mapping[str, Any]) -> PreparedTest:
    """The test body for a simulate body, mocked tool names resolved to the ids of the agent's
    tools (list_tools, only when tools are mocked). Raises RequestBuildError (nothing created)
    or an APIError."""
    tool_ids: dict[str, str] = {}
    if mocked_tool_names(request):
        ids_by_name: dict[str, set[str]] = {}
        for tool in await api.list_tools(used_by_agent_id=agent_id):
            ids_by_name.setdefault(tool.name, set()).add(tool.id)
        ambiguous = [
            f"tool_mocks.{_clip(name, 60)}: {len(ids_by_name[name])} tools of agent "
            f"{agent_id} have this name; the agent-testing API needs exactly one"
            for name in mocked_tool_names(request)
            if len(ids_by_name.get(name, ())) > 1
        ]
        if ambiguous:
            raise RequestBuildError(ambiguous)
        tool_ids = {name: next(iter(ids)) for name, ids in ids_by_name.items()}
    return build_test_body(request, name=f"agents-mcp {agent_id} (temporary)", tool_ids=tool_ids)


# test-body fields -> the simulate_conversation arguments they come from
_ARGUMENTS = {
    "simulation_scenario": "user_prompt",
    "simulated_user_model": "user_llm",
    "success_conditions": "criteria",
    "simulation_max_turns": "max_turns",
    "dynamic_variables": "dynamic_variables",
    "chat_history": "first_message / advanced.partial_conversation_history",
    "tool_mock_config": "tool_mocks",
    "tool_mock_overrides": "tool_mocks",
}


def argument_of(location: str) -> str:
    """A test-body field as the caller knows it: "max_turns (simulation_max_turns)"."""
    argument = _ARGUMENTS.get(location.split(".")[0])
    return f"{argument} ({location})" if argument else location


# --- criteria verdicts from the rationale ---------------------------------------------------------

_NEGATIVE = re.compile(
    r"\b(not|never|fail\w*|unmet|unsatisf\w*|missing|lack\w*|violat\w*)\b|n't\b", re.IGNORECASE
)
_POSITIVE = re.compile(r"\b(met|satisf\w*|succe\w*|pass\w*|correctly|did)\b", re.IGNORECASE)


def guess_verdict(message: str) -> str | None:
    """success / failure as a message's wording suggests, or None when it says neither."""
    if _NEGATIVE.search(message):
        return "failure"
    if _POSITIVE.search(message):
        return "success"
    return None


def analysis_of(run: TestRun, criteria: list[dict[str, str]]) -> tuple[dict[str, Any], list[str]]:
    """An analysis in the stream's shape for a finished run, and notes on what is uncertain."""
    condition = run.condition_result
    if condition is not None:
        overall = condition.result
    else:
        overall = {"passed": "success", "failed": "failure"}.get(run.status, "unknown")
    rationale = condition.rationale if condition is not None else None
    messages = list(rationale.messages or []) if rationale is not None else []
    notes: list[str] = []
    results: dict[str, dict[str, Any]] = {}
    if messages and len(messages) != len(criteria):
        notes.append(
            f"{len(messages)} rationale messages for {len(criteria)} criteria, matched in order."
        )
    guessed = 0
    wording = [guess_verdict(m) for m in messages]
    # in a merged failure, a message that does not read as a failure most likely passed when
    # another message does read as one
    some_failed = "failure" in wording
    for index, criterion in enumerate(criteria):
        why = messages[index] if index < len(messages) else ""
        entry: dict[str, Any] = {"criteria_id": criterion["id"], "rationale": why}
        if overall == "success" or (overall == "failure" and len(criteria) == 1):
            entry["result"] = overall  # a merged pass means each passed
        elif overall == "failure":
            verdict = wording[index] if index < len(wording) else None
            if verdict is None and why and some_failed:
                verdict = "success"
            entry["result"] = verdict or "unknown"
            entry["guessed"] = True
            guessed += 1
        else:
            entry["result"] = "unknown"
        results[criterion["id"]] = entry
    if guessed:
        notes.append("Guessed verdicts: read from the rationale wording (one merged verdict).")
    analysis = {
        "call_successful": overall,
        "transcript_summary": (rationale.summary or "") if rationale is not None else "",
        "evaluation_criteria_results": results,
    }
    return analysis, notes


def fill_record(record: SimulationRecord, invocation: TestInvocation) -> None:
    """The transcript, analysis and credits of the (single) run, into the record."""
    if not invocation.test_runs:
        return
    run = invocation.test_runs[0]
    record.turns = list(run.agent_responses or [])
    if run.credits_used is not None:
        record.upstream["credits_used"] = run.credits_used
    record.upstream["run_status"] = run.status
    if run.done and run.status != "cancelled":
        criteria = record.upstream.get("criteria") or []
        record.analysis, notes = analysis_of(run, criteria)
        if notes:
            record.upstream["notes"] = notes


# --- the job --------------------------------------------------------------------------------------


async def run_tests_job(
    api: AgentsAPI,
    record: SimulationRecord,
    prepared: PreparedTest,
    *,
    poll_seconds: float,
    max_seconds: float,
    on_poll: PollCallback,
    save: Callable[[SimulationRecord], Awaitable[Any]],
) -> None:
    """Create the test, run it, poll it to the end, fill the record; always clean up."""
    record.upstream["criteria"] = prepared.criteria
    try:
        record.upstream["test_id"] = await api.create_test(prepared.body)
    except RequestValidationError as exc:  # name the fields as the caller wrote them
        exc.errors = [FieldError(argument_of(e.location), e.reason) for e in exc.errors]
        raise
    await save(record)  # a replica (or a crash report) knows which test to clean up
    await resume_tests_job(
        api, record, poll_seconds=poll_seconds, max_seconds=max_seconds, on_poll=on_poll, save=save
    )


async def resume_tests_job(
    api: AgentsAPI,
    record: SimulationRecord,
    *,
    poll_seconds: float,
    max_seconds: float,
    on_poll: PollCallback,
    save: Callable[[SimulationRecord], Awaitable[Any]],
) -> None:
    """Run (when no invocation is recorded yet) and poll the record's test to the end, then
    delete it. A replica can call this for a record another process started."""
    upstream = record.upstream
    test_id = str(upstream["test_id"])
    invocation: TestInvocation | None = None
    started = time.monotonic()
    try:
        if not upstream.get("invocation_id"):
            invocation = await api.run_tests(
                record.agent_id, tests=[test_id], name=f"agents-mcp {record.simulation_id}"
            )
            upstream["invocation_id"] = invocation.id
            await save(record)
        else:
            invocation = await api.get_invocation(str(upstream["invocation_id"]))
        while not invocation.done:
            elapsed = time.monotonic() - started
            if elapsed >= max_seconds:
                raise UpstreamError(
                    f"The test run took longer than {max_seconds:g} s "
                    "(AGENTS_MCP_SIMULATION_TIMEOUT); it was cancelled upstream."
                )
            await anyio.sleep(min(poll_seconds, max(0.0, max_seconds - elapsed)))
            invocation = await api.get_invocation(invocation.id)
            fill_record(record, invocation)
            counts = ", ".join(f"{n} {s}" for s, n in invocation.counts().items()) or "no runs"
            await on_poll(f"test run {counts}, {time.monotonic() - started:.1f} s elapsed")
        fill_record(record, invocation)
    finally:
        with anyio.move_on_after(CLEANUP_SECONDS, shield=True):
            await _clean_up(api, record, invocation)


async def _clean_up(
    api: AgentsAPI, record: SimulationRecord, invocation: TestInvocation | None
) -> None:
    """Cancel an unfinished invocation, then delete the test; failures are noted, not raised."""
    upstream = record.upstream
    if upstream.get("handed_over"):  # another replica polls it on and cleans up: leave it
        return
    invocation_id = upstream.get("invocation_id")
    if invocation_id and (invocation is None or not invocation.done):
        try:
            await api.cancel_invocation(str(invocation_id))
            upstream["invocation_cancelled"] = True
        except APIError as exc:
            logger.warning("could not cancel test invocation %s: %s", invocation_id, exc)
    try:
        await api.delete_test(str(upstream["test_id"]))
        upstream["test_deleted"] = True
    except APIError as exc:
        logger.warning("could not delete test %s: %s", upstream["test_id"], exc)
        upstream["test_deleted"] = False


def _clip(text: object, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
