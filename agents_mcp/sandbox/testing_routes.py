"""The agent-testing API of the sandbox: tests (CRUD, listing), run-tests, test invocations.

Every run starts `pending` and stays so for the state's `run_delay` seconds (runs of one
invocation finish a little apart); it is played (engine.agent_tests.play) the first time
someone reads the invocation after that. Unknown ids answer 404
`{"detail": {"status", "message"}}`; bad bodies FastAPI's 422 list, as upstream.
"""

from __future__ import annotations

import copy
import time

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agents_mcp.jsontypes import JSONObject
from agents_mcp.sandbox.engine.agent_tests import play, run_test_info
from agents_mcp.sandbox.errors import (
    error,
    fastapi_errors,
    json_body,
    not_found,
    unprocessable,
    validate_lenient,
)
from agents_mcp.sandbox.paging import page_of
from agents_mcp.sandbox.respond import respond
from agents_mcp.sandbox.state import SandboxState
from agents_mcp.sandbox.testing_models import (
    ConfigOverride,
    InvocationListQuery,
    ResubmitBody,
    RunTestsBody,
    TestBody,
    TestListQuery,
)
from agents_mcp.sandbox.testing_store import Invocation, Run, new_id

WORKSPACE = "sandbox_workspace"
RAN_BY = "sandbox@localhost"


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def _test_not_found(test_id: str) -> JSONResponse:
    return error(404, "test_not_found", f"Test with id {test_id} not found.")


def _invocation_not_found(invocation_id: str) -> JSONResponse:
    return error(404, "test_invocation_not_found", f"Test invocation {invocation_id} not found.")


def _missing(field: str, message: str) -> JSONResponse:
    return unprocessable(
        [{"type": "value_error", "loc": ["body", field], "msg": message, "input": None}]
    )


async def _test_body(request: Request) -> JSONObject | Response:
    body = await json_body(request, required=True)
    if isinstance(body, Response):
        return body
    parsed = validate_lenient(TestBody, body)
    if isinstance(parsed, Response):
        return parsed
    assert isinstance(parsed, TestBody)
    if parsed.type == "simulation":
        if not (parsed.simulation_scenario or "").strip():
            return _missing(
                "simulation_scenario", "Value error, a simulation test needs a scenario"
            )
        if not parsed.success_conditions and not (parsed.success_condition or "").strip():
            return _missing(
                "success_conditions",
                "Value error, a simulation test needs at least one success condition",
            )
    return parsed.model_dump(mode="json", exclude_none=True)


# --- tests -----------------------------------------------------------------------------------


async def create_test(request: Request) -> Response:
    body = await _test_body(request)
    if isinstance(body, Response):
        return body
    return respond(request, {"id": _state(request).tests.create_test(body)})


async def get_test(request: Request) -> Response:
    test_id = request.path_params["test_id"]
    test = _state(request).tests.get_test(test_id)
    return respond(request, test) if test is not None else _test_not_found(test_id)


async def update_test(request: Request) -> Response:
    test_id = request.path_params["test_id"]
    book = _state(request).tests
    if book.get_test(test_id) is None:
        return _test_not_found(test_id)
    body = await _test_body(request)
    if isinstance(body, Response):
        return body
    book.replace_test(test_id, body)
    return respond(request, book.get_test(test_id))


async def delete_test(request: Request) -> Response:
    test_id = request.path_params["test_id"]
    if not _state(request).tests.delete_test(test_id):
        return _test_not_found(test_id)
    return Response(status_code=200)


async def list_tests(request: Request) -> Response:
    query: dict[str, str | list[str]] = {
        k: v for k, v in request.query_params.items() if k != "types"
    }
    query["types"] = request.query_params.getlist("types")
    try:
        parsed = TestListQuery.model_validate(query)
    except ValidationError as exc:
        return unprocessable(fastapi_errors(exc, "query"))
    page = _state(request).tests.page_tests(
        page_size=parsed.page_size,
        cursor=parsed.cursor,
        search=parsed.search,
        types=list(parsed.types),
        parent_folder_id=parsed.parent_folder_id,
    )
    return respond(
        request, {"tests": page.items, "has_more": page.has_more, "next_cursor": page.next_cursor}
    )


# --- running ---------------------------------------------------------------------------------


def _agent_doc(
    state: SandboxState,
    agent_id: str,
    branch_id: str | None,
    override: ConfigOverride | None,
) -> JSONObject | Response:
    """The document a run plays against: main or branch, with the override put in."""
    doc = state.store.get(agent_id)
    if doc is None:
        return not_found(agent_id)
    if branch_id:
        branch = state.store.get_branch(agent_id, branch_id)
        if branch is None:
            return error(
                404, "branch_not_found", f"Branch {branch_id} not found for agent {agent_id}."
            )
        doc = branch
    if override is not None:
        doc = copy.deepcopy(doc)
        doc["conversation_config"] = override.conversation_config
        doc["platform_settings"] = override.platform_settings
        if override.workflow is not None:
            doc["workflow"] = override.workflow
    return doc


def _ready_times(state: SandboxState, count: int) -> list[float]:
    start, delay = time.time(), state.run_delay
    return [start + delay * (1 + 0.5 * k / max(1, count - 1)) for k in range(count)]


async def run_tests(request: Request) -> Response:
    body = await json_body(request, required=True)
    if isinstance(body, Response):
        return body
    parsed = validate_lenient(RunTestsBody, body)
    if isinstance(parsed, Response):
        return parsed
    assert isinstance(parsed, RunTestsBody)
    state = _state(request)
    agent_id = request.path_params["agent_id"]
    doc = _agent_doc(state, agent_id, parsed.branch_id, parsed.agent_config_override)
    if isinstance(doc, Response):
        return doc
    tests = []
    for item in parsed.tests:
        test = state.tests.get_test(item.test_id)
        if test is None:
            return _test_not_found(item.test_id)
        tests.append(test)
    repeats = parsed.repeat_count or 1
    pairs = [(test, r) for r in range(repeats) for test in tests]
    runs = [
        Run(new_id("trun_"), test, doc, r, ready)
        for (test, r), ready in zip(pairs, _ready_times(state, len(pairs)), strict=True)
    ]
    invocation = Invocation(
        invocation_id=new_id("tinv_"),
        agent_id=agent_id,
        branch_id=parsed.branch_id,
        name=parsed.name,
        repeat_count=repeats,
        created_at=int(time.time()),
        runs=runs,
        overridden=parsed.agent_config_override is not None,
    )
    state.tests.add_invocation(invocation)
    return respond(request, _invocation_json(invocation, settle=False))


def _settle(invocation: Invocation) -> None:
    now = time.time()
    for run in invocation.runs:
        if run.status == "pending" and run.ready_at <= now:
            outcome = play(run.test, run.doc, run.repeat_index)
            run.status = outcome.pop("status")
            run.failed_conditions = outcome.pop("failed_conditions")
            run.result = outcome
            run.updated_at = int(now)


def _run_json(invocation: Invocation, run: Run) -> JSONObject:
    test = run.test
    out: JSONObject = {
        "test_run_id": run.run_id,
        "test_invocation_id": invocation.invocation_id,
        "agent_id": invocation.agent_id,
        "branch_id": invocation.branch_id,
        "ran_against_draft": invocation.overridden,
        "status": run.status,
        "test_id": test["id"],
        "test_name": test.get("name"),
        "test_info": run_test_info(test),
        "last_updated_at_unix": run.updated_at,
        "metadata": {
            "workspace_id": WORKSPACE,
            "test_name": test.get("name", ""),
            "ran_by_user_email": RAN_BY,
            "test_type": test.get("type", "llm"),
        },
    }
    if run.result is not None:
        out.update(run.result)
    return out


def _groups(invocation: Invocation) -> list[JSONObject]:
    groups: dict[str, JSONObject] = {}
    for run in invocation.runs:
        test = run.test
        group = groups.setdefault(
            test["id"],
            {"test_id": test["id"], "test_name": test.get("name", ""), "buckets": []},
        )
        title, reason = _bucket_of(run)
        bucket = next((b for b in group["buckets"] if b["title"] == title), None)
        if bucket is None:
            bucket = {"test_run_ids": [], "title": title, "reason": reason, "status": run.status}
            group["buckets"].append(bucket)
        bucket["test_run_ids"].append(run.run_id)
    return list(groups.values())


def _bucket_of(run: Run) -> tuple[str, str]:
    if run.status == "cancelled":
        return "Cancelled", "The run was cancelled before it finished."
    rationale = ((run.result or {}).get("condition_result") or {}).get("rationale") or {}
    if run.status == "passed":
        return "Passed", str(rationale.get("summary", "All success conditions were met."))
    messages = rationale.get("messages") or []
    summary = str(rationale.get("summary", ""))
    if "turn limit" in summary:
        return "Failed: turn limit reached", summary
    failed = run.failed_conditions
    if not failed:
        return "Failed", summary
    word = "condition" if len(failed) == 1 else "conditions"
    reason = " ".join(str(messages[i - 1]) for i in failed if i - 1 < len(messages))
    return f"Failed: {word} {', '.join(map(str, failed))}", reason or summary


def _invocation_json(invocation: Invocation, *, settle: bool = True) -> JSONObject:
    if settle:
        _settle(invocation)
    out: JSONObject = {
        "id": invocation.invocation_id,
        "name": invocation.name,
        "agent_id": invocation.agent_id,
        "branch_id": invocation.branch_id,
        "ran_against_draft": invocation.overridden,
        "created_at": invocation.created_at,
        "repeat_count": invocation.repeat_count,
        "cancelled": invocation.cancelled,
        "test_runs": [_run_json(invocation, run) for run in invocation.runs],
    }
    if invocation.repeat_count > 1:
        pending = any(run.status == "pending" for run in invocation.runs)
        out["bucketing_status"] = "pending" if pending else "completed"
        out["result_groups"] = None if pending else _groups(invocation)
    return out


async def get_invocation(request: Request) -> Response:
    invocation_id = request.path_params["invocation_id"]
    invocation = _state(request).tests.invocation(invocation_id)
    if invocation is None:
        return _invocation_not_found(invocation_id)
    return respond(request, _invocation_json(invocation))


def _summary(invocation: Invocation) -> JSONObject:
    _settle(invocation)
    counts = {s: 0 for s in ("passed", "failed", "pending", "cancelled")}
    credits = 0
    for run in invocation.runs:
        counts[run.status] = counts.get(run.status, 0) + 1
        credits += int((run.result or {}).get("credits_used") or 0)
    names = {run.test.get("name", "") for run in invocation.runs}
    distinct = {run.test["id"] for run in invocation.runs}
    title = invocation.name or (
        next(iter(names)) if len(distinct) == 1 else f"{len(distinct)} tests"
    )
    return {
        "id": invocation.invocation_id,
        "name": invocation.name,
        "agent_id": invocation.agent_id,
        "branch_id": invocation.branch_id,
        "ran_against_draft": invocation.overridden,
        "created_at_unix_secs": invocation.created_at,
        "test_run_count": len(invocation.runs),
        "passed_count": counts["passed"],
        "failed_count": counts["failed"],
        "pending_count": counts["pending"],
        "cancelled_count": counts["cancelled"],
        "title": title,
        "repeat_count": invocation.repeat_count,
        "cancelled": invocation.cancelled,
        "credits_used": credits or None,
    }


async def list_invocations(request: Request) -> Response:
    try:
        query = InvocationListQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:
        return unprocessable(fastapi_errors(exc, "query"))
    found = []
    for inv in _state(request).tests.invocations():
        if query.agent_id and inv.agent_id != query.agent_id:
            continue
        if query.branch_id and inv.branch_id != query.branch_id:
            continue
        if query.test_id and all(run.test["id"] != query.test_id for run in inv.runs):
            continue
        if query.start_time is not None and inv.created_at < query.start_time:
            continue
        if query.end_time is not None and inv.created_at > query.end_time:
            continue
        found.append(inv)
    summaries = [_summary(inv) for inv in found]
    if query.search:
        summaries = [s for s in summaries if query.search.lower() in s["title"].lower()]
    page, next_cursor = page_of(summaries, query.cursor, query.page_size)
    return respond(
        request,
        {"results": page, "has_more": next_cursor is not None, "next_cursor": next_cursor},
    )


async def cancel_invocation(request: Request) -> Response:
    invocation_id = request.path_params["invocation_id"]
    invocation = _state(request).tests.invocation(invocation_id)
    if invocation is None:
        return _invocation_not_found(invocation_id)
    _settle(invocation)  # runs already due finish first
    now = int(time.time())
    for run in invocation.runs:
        if run.status == "pending":
            run.status, run.updated_at = "cancelled", now
    invocation.cancelled = True
    return respond(request, {})


async def resubmit_invocation(request: Request) -> Response:
    invocation_id = request.path_params["invocation_id"]
    state = _state(request)
    invocation = state.tests.invocation(invocation_id)
    if invocation is None:
        return _invocation_not_found(invocation_id)
    body = await json_body(request, required=True)
    if isinstance(body, Response):
        return body
    parsed = validate_lenient(ResubmitBody, body)
    if isinstance(parsed, Response):
        return parsed
    assert isinstance(parsed, ResubmitBody)
    runs = {run.run_id: run for run in invocation.runs}
    unknown = [rid for rid in parsed.test_run_ids if rid not in runs]
    if unknown:
        return error(404, "test_run_not_found", f"Test run {unknown[0]} not found.")
    doc = _agent_doc(state, parsed.agent_id, parsed.branch_id, parsed.agent_config_override)
    if isinstance(doc, Response):
        return doc
    _settle(invocation)
    chosen = [runs[rid] for rid in dict.fromkeys(parsed.test_run_ids)]
    for run, ready in zip(chosen, _ready_times(state, len(chosen)), strict=True):
        run.test = state.tests.get_test(run.test["id"]) or run.test
        run.doc, run.ready_at = doc, ready
        run.status, run.result, run.updated_at = "pending", None, int(time.time())
        run.failed_conditions = []
    invocation.cancelled = False
    invocation.overridden = invocation.overridden or parsed.agent_config_override is not None
    return respond(request, _invocation_json(invocation, settle=False))


TESTS = "/v1/convai/agent-testing"
INVOCATIONS = "/v1/convai/test-invocations"
ROUTES = [
    Route(TESTS + "/create", create_test, methods=["POST"]),
    Route(TESTS, list_tests, methods=["GET"]),
    Route(TESTS + "/{test_id}", get_test, methods=["GET"]),
    Route(TESTS + "/{test_id}", update_test, methods=["PUT"]),
    Route(TESTS + "/{test_id}", delete_test, methods=["DELETE"]),
    Route("/v1/convai/agents/{agent_id}/run-tests", run_tests, methods=["POST"]),
    Route(INVOCATIONS, list_invocations, methods=["GET"]),
    Route(INVOCATIONS + "/{invocation_id}", get_invocation, methods=["GET"]),
    Route(INVOCATIONS + "/{invocation_id}/cancel", cancel_invocation, methods=["POST"]),
    Route(INVOCATIONS + "/{invocation_id}/resubmit", resubmit_invocation, methods=["POST"]),
]
