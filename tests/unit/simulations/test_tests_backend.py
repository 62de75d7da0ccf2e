"""Pure parts of the agent-testing backend: simulate arguments -> test body, rationale ->
criterion verdicts, and the compact summary of a tests-backend record."""

from __future__ import annotations

import pytest

from agents_mcp.api.testing_models import TestInvocation, TestRun
from agents_mcp.simulations.record import SimulationRecord
from agents_mcp.simulations.request import RequestBuildError, build_request
from agents_mcp.simulations.summary import TESTS_SUMMARY_BUDGET
from agents_mcp.simulations.tests_backend import (
    DEFAULT_CRITERION,
    analysis_of,
    build_test_body,
    fill_record,
    guess_verdict,
)
from agents_mcp.simulations.views import render

TOOLS = {"lookup_order": "tool_111", "book_slot": "tool_222"}


def body_of(**args):
    request = build_request(args.pop("user_prompt", "You want a refund."), **args)
    return request.model_dump(mode="json", exclude_none=True)


def test_every_argument_maps_to_its_test_field() -> None:
    request = body_of(
        first_message="Hi, my parcel is broken",
        user_llm="gpt-4o-mini",
        criteria=[
            "The agent apologises",
            {"id": "cb", "name": "Callback", "goal": "Offers a call"},
        ],
        tool_mocks={"lookup_order": {"return": {"status": "late"}, "is_error": False}},
        dynamic_variables={"customer": "Ada", "tier": 2},
        max_turns=12,
    )
    prepared = build_test_body(request, name="tmp", tool_ids=TOOLS)
    body = prepared.body.model_dump(mode="json", exclude_none=True)
    assert body["type"] == "simulation" and body["name"] == "tmp"
    assert body["simulation_scenario"] == "You want a refund."
    assert body["simulated_user_model"] == "gpt-4o-mini"
    assert body["success_conditions"] == ["The agent apologises", "Offers a call"]
    assert body["simulation_max_turns"] == 12
    assert body["dynamic_variables"] == {"customer": "Ada", "tier": 2}
    assert body["chat_history"] == [
        {"role": "user", "message": "Hi, my parcel is broken", "time_in_call_secs": 0}
    ]
    assert body["tool_mock_config"] == {
        "mocking_strategy": "selected",
        "fallback_strategy": "call_real_tool",
        "mocked_tool_ids": ["tool_111"],
    }
    assert body["tool_mock_overrides"] == {
        "tool_111": [
            {"parameter_conditions": [], "mock_result": '{"status": "late"}', "is_error": False}
        ]
    }
    # our criterion ids and names, in the order of the conditions
    assert prepared.criteria == [
        {"id": "agent_apologises", "name": "The agent apologises"},
        {"id": "cb", "name": "Callback"},
    ]


def test_no_criteria_gets_the_default_condition() -> None:
    prepared = build_test_body(body_of(), name="tmp", tool_ids={})
    assert prepared.body.success_conditions == [DEFAULT_CRITERION["conversation_goal_prompt"]]
    assert prepared.criteria == [{"id": "caller_goal_met", "name": "Caller's goal met"}]


def test_language_goes_into_the_scenario_and_history_comes_first() -> None:
    history = [{"role": "agent", "message": "Hello!", "time_in_call_secs": 3}]
    request = body_of(
        language="de", first_message="Hallo", advanced={"partial_conversation_history": history}
    )
    body = build_test_body(request, name="tmp", tool_ids={}).body
    assert body.simulation_scenario.endswith("Speak de throughout the conversation.")
    history = body.model_dump(mode="json", exclude_none=True)["chat_history"]
    assert [(t["role"], t["message"]) for t in history] == [
        ("agent", "Hello!"),
        ("user", "Hallo"),
    ]


def test_an_unknown_tool_name_is_named_and_nothing_is_built() -> None:
    request = body_of(tool_mocks={"lookup_ordr": {"return": "x"}})
    with pytest.raises(RequestBuildError) as info:
        build_test_body(request, name="tmp", tool_ids=TOOLS)
    text = str(info.value)
    assert "tool_mocks.lookup_ordr" in text and "the agent has no tool of this name" in text
    assert "lookup_order" in text  # the names that do exist


def test_fields_without_an_equivalent_are_refused() -> None:
    request = body_of(advanced={"disable_first_message_interruptions": True})
    expected = r"simulated_user_config\.disable_first_message_interruptions: the agent-testing"
    with pytest.raises(RequestBuildError, match=expected):
        build_test_body(request, name="tmp", tool_ids={})


@pytest.mark.parametrize(
    ("message", "verdict"),
    [
        ("The agent did not offer a callback.", "failure"),
        ("The agent didn't apologise", "failure"),
        ("Condition failed: no refund offered", "failure"),
        ("The agent apologised correctly.", "success"),
        ("Criterion met: the callback was offered", "success"),
        ("Unclear from the transcript", None),
    ],
)
def test_guess_verdict(message: str, verdict: str | None) -> None:
    assert guess_verdict(message) == verdict


CRITERIA = [{"id": "apology", "name": "Apology"}, {"id": "callback", "name": "Callback"}]


def run(result: str | None, messages: list[str], status: str = "failed", **extra) -> TestRun:
    condition = None
    if result is not None:
        condition = {"result": result, "rationale": {"messages": messages, "summary": "sum"}}
    return TestRun.model_validate(
        {"test_run_id": "r", "status": status, "condition_result": condition, **extra}
    )


def test_a_merged_pass_passes_every_criterion_with_its_reason() -> None:
    analysis, notes = analysis_of(
        run("success", ["sorry said", "callback offered"], "passed"), CRITERIA
    )
    results = analysis["evaluation_criteria_results"]
    assert [r["result"] for r in results.values()] == ["success", "success"]
    assert results["callback"]["rationale"] == "callback offered"
    assert analysis["transcript_summary"] == "sum" and notes == []


def test_a_merged_failure_is_split_by_wording_and_marked_guessed() -> None:
    messages = ["The agent apologised.", "The agent did not offer a callback."]
    analysis, notes = analysis_of(run("failure", messages), CRITERIA)
    results = analysis["evaluation_criteria_results"]
    assert results["apology"]["result"] == "success" and results["apology"]["guessed"]
    assert results["callback"]["result"] == "failure"
    assert any("Guessed" in n for n in notes)


def test_a_single_criterion_failure_is_certain() -> None:
    analysis, notes = analysis_of(run("failure", ["nope"]), CRITERIA[:1])
    assert analysis["evaluation_criteria_results"]["apology"] == {
        "criteria_id": "apology",
        "rationale": "nope",
        "result": "failure",
    }
    assert notes == []


def test_fewer_messages_than_criteria_keeps_every_criterion() -> None:
    analysis, notes = analysis_of(run("failure", ["The agent did not apologise"]), CRITERIA)
    results = analysis["evaluation_criteria_results"]
    assert list(results) == ["apology", "callback"]
    assert results["callback"]["result"] == "unknown"
    assert "1 rationale messages for 2 criteria" in notes[0]


def turns(n: int) -> list[dict]:
    out = []
    for i in range(n):
        role = "agent" if i % 2 == 0 else "user"
        out.append({"role": role, "message": f"turn {i} " + "words " * 30, "time_in_call_secs": i})
    out[5]["tool_results"] = [
        {
            "request_id": "q",
            "tool_name": "lookup_order",
            "result_value": "timeout",
            "is_error": True,
        }
    ]
    return out


def test_a_20_turn_tests_record_summarises_within_budget() -> None:
    record = SimulationRecord(
        simulation_id="sim_0123456789abcdef",
        agent_id="agent_x",
        request={},
        created_at=0.0,
        status="done",
        backend="tests",
        upstream={"criteria": CRITERIA, "test_id": "t", "invocation_id": "i"},
    )
    messages = ["The agent apologised. " * 10, "The agent did not offer a callback. " * 10]
    invocation = TestInvocation.model_validate(
        {
            "id": "i",
            "test_runs": [
                {
                    "test_run_id": "r",
                    "status": "failed",
                    "credits_used": 42,
                    "agent_responses": turns(20),
                    "condition_result": {"result": "failure", "rationale": {"messages": messages}},
                }
            ],
        }
    )
    fill_record(record, invocation)
    view = render(record)
    assert view.size() <= TESTS_SUMMARY_BUDGET
    s = view.structured
    assert s["backend"] == "tests" and s["credits_used"] == 42 and s["outcome"] == "failure"
    assert {c["id"]: c["result"] for c in s["criteria"]} == {
        "apology": "success",
        "callback": "failure",
    }
    assert s["tools"]["errors"][0]["tool"] == "lookup_order"
    assert s["turns"]["total"] == 20
    assert "agent-testing API" in view.text and "FAILURE (guessed)" in view.text


@pytest.mark.anyio
async def test_a_store_of_the_first_schema_gains_the_new_columns(tmp_path) -> None:
    import sqlite3

    from agents_mcp.simulations.store import FILENAME, SimulationStore

    old = sqlite3.connect(tmp_path / FILENAME)
    old.executescript(
        """CREATE TABLE simulations (simulation_id TEXT PRIMARY KEY, agent_id TEXT NOT NULL,
        status TEXT NOT NULL, created_at REAL NOT NULL, started_at REAL, finished_at REAL,
        request TEXT NOT NULL, turns TEXT NOT NULL, analysis TEXT, error TEXT, error_type TEXT,
        frames INTEGER NOT NULL DEFAULT 0, owner TEXT NOT NULL);
        INSERT INTO simulations VALUES ('sim_00000000000000aa', 'agent_x', 'done', 1.0, NULL,
        NULL, '{}', '[]', NULL, NULL, NULL, 0, 'elsewhere:1');"""
    )
    old.close()
    store = await SimulationStore(tmp_path).open()
    try:
        assert (await store.get("sim_00000000000000aa")).backend == "stream"  # the old rows
        record = SimulationRecord(
            simulation_id="sim_00000000000000bb",
            agent_id="agent_x",
            request={},
            created_at=2.0,
            backend="tests",
            upstream={"test_id": "t1", "invocation_id": "i1"},
        )
        await store.save(record)
        again = await store.get("sim_00000000000000bb")
        assert again.backend == "tests" and again.upstream == record.upstream
    finally:
        await store.close()
