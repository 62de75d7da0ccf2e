"""The official `elevenlabs` SDK (2.78) drives the sandbox's agent-testing API, agent PATCH and
the tools listing over real HTTP; answers are also validated strictly against the SDK's models.
The sandbox markers used here ([flaky=P], [requires: ...], [turns=N]) are in docs/sandbox.md."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from elevenlabs import ElevenLabs
from elevenlabs.core.api_error import ApiError
from elevenlabs.errors import UnprocessableEntityError
from elevenlabs.types import (
    GetAgentResponseModel,
    GetTestInvocationsPageResponseModel,
    GetTestsPageResponseModel,
    GetTestSuiteInvocationResponseModel,
    ToolsResponseModel,
)

SUPPORT = "agent_demo_support"
REFUND = "You bought a rain jacket, order NW-12345, and it arrived torn. You want a refund."


@pytest.fixture
def client(fresh_sandbox) -> Iterator[ElevenLabs]:
    yield ElevenLabs(base_url=fresh_sandbox.base_url, api_key=fresh_sandbox.api_key)
    fresh_sandbox.reset(agents=True)  # some tests patch the demo agents


def _raw(sandbox, method: str, path: str, **kw: Any) -> httpx2.Response:
    return httpx2.request(method, sandbox.base_url + path, headers=sandbox.headers(), **kw)


def _simulation(name: str, scenario: str, conditions: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "type": "simulation",
        "name": name,
        "simulation_scenario": scenario,
        "success_conditions": conditions,
        "simulation_max_turns": 12,
        **extra,
    }


def _wait(client: ElevenLabs, invocation_id: str, timeout: float = 10.0):
    """Poll (plain HTTP: cheap) until no run is pending, then read it through the SDK."""
    wrapper = client._client_wrapper
    url = f"{wrapper.get_base_url()}/v1/convai/test-invocations/{invocation_id}"
    deadline = time.monotonic() + timeout
    while any(
        r["status"] == "pending"
        for r in httpx2.get(url, headers=wrapper.get_headers()).json()["test_runs"]
    ):
        assert time.monotonic() < deadline, "runs stayed pending"
        time.sleep(0.02)
    return client.conversational_ai.tests.invocations.get(invocation_id)


def _own(tests: list[Any]) -> list[str]:
    """The ids of listed tests, without the demo tests the sandbox starts with."""
    return [t.id for t in tests if not t.id.startswith("test_demo_")]


def _tool_ids(client: ElevenLabs, agent_id: str = SUPPORT) -> dict[str, str]:
    agent = client.conversational_ai.agents.get(agent_id)
    names = [t.name for t in agent.conversation_config.agent.prompt.tools if t.type != "system"]
    return dict(zip(names, agent.conversation_config.agent.prompt.tool_ids, strict=True))


# --- tests: create, get, list, update, delete ------------------------------------------------


def test_test_crud_and_listing(client, fresh_sandbox):
    tests = client.conversational_ai.tests
    first = tests.create(request=_simulation("Refund happy path", REFUND, ["The agent refunds"]))
    second = tests.create(
        request={"type": "llm", "name": "Greets politely", "success_condition": "Is polite"}
    )
    got = tests.get(first.id)
    assert (got.id, got.name, got.type) == (first.id, "Refund happy path", "simulation")
    assert got.success_conditions == ["The agent refunds"] and got.simulation_max_turns == 12

    page = tests.list(page_size=1)
    assert isinstance(page, GetTestsPageResponseModel) and page.has_more and page.next_cursor
    rest = tests.list(page_size=100, cursor=page.next_cursor)
    ids = [t.id for t in page.tests + rest.tests]
    assert ids[:2] == [second.id, first.id]  # newest first, then the demo tests
    assert ids[2:] and all(i.startswith("test_demo_") for i in ids[2:])
    assert [t.id for t in tests.list(search="HAPPY path").tests] == [first.id]
    assert [t.id for t in tests.list(types=["llm"]).tests] == [second.id]
    GetTestsPageResponseModel.model_validate(
        _raw(fresh_sandbox, "GET", "/v1/convai/agent-testing").json()
    )

    updated = tests.update(
        first.id, request=_simulation("Refund, renamed", REFUND, ["A", "B"], simulation_max_turns=5)
    )
    assert updated.name == "Refund, renamed" and updated.success_conditions == ["A", "B"]
    assert tests.get(first.id).simulation_max_turns == 5

    tests.delete(second.id)
    with pytest.raises(ApiError) as missing:
        tests.get(second.id)
    assert missing.value.status_code == 404
    assert missing.value.body["detail"]["status"] == "test_not_found"
    assert _own(tests.list().tests) == [first.id]


def test_bad_test_bodies_are_422_naming_the_field(client, fresh_sandbox):
    with pytest.raises(UnprocessableEntityError) as no_scenario:
        client.conversational_ai.tests.create(
            request={"type": "simulation", "name": "x", "success_conditions": ["y"]}
        )
    assert no_scenario.value.body["detail"][0]["loc"] == ["body", "simulation_scenario"]
    bad = _raw(
        fresh_sandbox,
        "POST",
        "/v1/convai/agent-testing/create",
        json=_simulation("x", "y", ["z"], simulation_max_turns=500),
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == [
        "body",
        "simulation_max_turns",
    ]
    listing = _raw(fresh_sandbox, "GET", "/v1/convai/agent-testing?page_size=101")
    assert listing.status_code == 422 and listing.json()["detail"][0]["loc"] == [
        "query",
        "page_size",
    ]
    assert _own(client.conversational_ai.tests.list().tests) == []  # nothing was stored


# --- run-tests and invocations ---------------------------------------------------------------


def test_runs_start_pending_then_report_each_condition(client, fresh_sandbox):
    fresh_sandbox.configure(run_delay=0.3)
    test = client.conversational_ai.tests.create(
        request=_simulation(
            "Refund", REFUND, ["The agent resolves the refund", "[failure] Mentions a coupon"]
        )
    )
    inv = client.conversational_ai.agents.run_tests(SUPPORT, tests=[{"test_id": test.id}])
    assert [r.status for r in inv.test_runs] == ["pending"]
    assert client.conversational_ai.tests.invocations.get(inv.id).test_runs[0].status == "pending"
    done = _wait(client, inv.id)
    run = done.test_runs[0]
    assert run.status == "failed" and run.test_id == test.id and run.agent_id == SUPPORT
    assert run.condition_result.result == "failure"
    messages = run.condition_result.rationale.messages
    assert len(messages) == 2 and "refund" in messages[0].lower()
    assert "(2)" in run.condition_result.rationale.summary
    assert run.credits_used and run.credits_used > 0
    roles = {t.role for t in run.agent_responses}
    assert roles == {"user", "agent"} and any(t.tool_calls for t in run.agent_responses)
    raw = _raw(fresh_sandbox, "GET", f"/v1/convai/test-invocations/{inv.id}").json()
    GetTestSuiteInvocationResponseModel.model_validate(raw)  # strict, not only the SDK's parse
    assert "bucketing_status" not in raw  # only with repeats


def test_repeats_vary_deterministically_and_are_grouped(client, fresh_sandbox):
    test = client.conversational_ai.tests.create(
        request=_simulation("Flaky refund", REFUND + " [flaky=0.5]", ["The agent resolves it"])
    )
    runs = client.conversational_ai.agents.run_tests
    first = _wait(client, runs(SUPPORT, tests=[{"test_id": test.id}], repeat_count=8).id)
    second = _wait(client, runs(SUPPORT, tests=[{"test_id": test.id}], repeat_count=8).id)
    statuses = [r.status for r in first.test_runs]
    assert set(statuses) == {"passed", "failed"}  # P(all 8 equal) is tiny, and fixed by the id
    assert [r.status for r in second.test_runs] == statuses  # same test, same repeat, same draw
    failing = next(r for r in first.test_runs if r.status == "failed")
    assert "flaky" in failing.condition_result.rationale.messages[0]
    assert first.bucketing_status == "completed" and first.repeat_count == 8
    (group,) = first.result_groups
    assert group.test_id == test.id
    grouped = sorted(i for b in group.buckets for i in b.test_run_ids)
    assert grouped == sorted(r.test_run_id for r in first.test_runs)
    assert {b.status for b in group.buckets} == {"passed", "failed"}


def test_override_and_branch_fix_a_failing_condition(client, fresh_sandbox):
    phrase = "apologise for the inconvenience"
    test = client.conversational_ai.tests.create(
        request=_simulation("Apology", REFUND, [f"The agent must [requires: {phrase}]"])
    )
    runs = client.conversational_ai.agents.run_tests
    baseline = _wait(client, runs(SUPPORT, tests=[{"test_id": test.id}]).id)
    assert baseline.test_runs[0].status == "failed"
    assert phrase in baseline.test_runs[0].condition_result.rationale.messages[0]

    stored = _raw(fresh_sandbox, "GET", f"/v1/convai/agents/{SUPPORT}").json()
    config = stored["conversation_config"]
    config["agent"]["prompt"]["prompt"] += f" Always {phrase}."
    override = {"conversation_config": config, "platform_settings": stored["platform_settings"]}
    fixed = _wait(
        client, runs(SUPPORT, tests=[{"test_id": test.id}], agent_config_override=override).id
    )
    assert fixed.test_runs[0].status == "passed" and fixed.ran_against_draft is True

    half = _raw(
        fresh_sandbox,
        "POST",
        f"/v1/convai/agents/{SUPPORT}/run-tests",
        json={
            "tests": [{"test_id": test.id}],
            "agent_config_override": {"conversation_config": config},
        },
    )
    assert half.status_code == 422
    assert half.json()["detail"][0]["loc"] == ["body", "agent_config_override", "platform_settings"]

    # A branch with the fix: the branch passes, main still fails.
    patched = client.conversational_ai.agents.update(
        SUPPORT,
        branch_id="agtbrch_fix",
        conversation_config={"agent": {"prompt": {"prompt": config["agent"]["prompt"]["prompt"]}}},
    )
    assert patched.branch_id == "agtbrch_fix"
    on_branch = _wait(
        client, runs(SUPPORT, tests=[{"test_id": test.id}], branch_id="agtbrch_fix").id
    )
    assert on_branch.test_runs[0].status == "passed" and on_branch.branch_id == "agtbrch_fix"
    assert (
        phrase
        not in client.conversational_ai.agents.get(SUPPORT).conversation_config.agent.prompt.prompt
    )
    again = _wait(client, runs(SUPPORT, tests=[{"test_id": test.id}]).id)
    assert again.test_runs[0].status == "failed"


def test_tool_mocks_by_id_match_or_say_no_mock_matched(client, fresh_sandbox):
    ids = _tool_ids(client)
    lookup = ids["lookup_order"]
    listed = client.conversational_ai.tools.list()
    assert isinstance(listed, ToolsResponseModel)
    assert {t.id: t.tool_config.name for t in listed.tools}[lookup] == "lookup_order"

    def results(overrides: list[dict[str, Any]]) -> list[Any]:
        test = client.conversational_ai.tests.create(
            request=_simulation(
                "Mocked lookup",
                REFUND,
                ["The agent resolves the refund"],
                tool_mock_config={
                    "mocking_strategy": "selected",
                    "fallback_strategy": "raise_error",
                    "mocked_tool_ids": [lookup],
                },
                tool_mock_overrides={lookup: overrides},
            )
        )
        inv = client.conversational_ai.agents.run_tests(SUPPORT, tests=[{"test_id": test.id}])
        run = _wait(client, inv.id).test_runs[0]
        return [
            r
            for t in run.agent_responses
            for r in t.tool_results or []
            if r.tool_name == "lookup_order"
        ]

    exact = {"path": "order_id", "eval": {"type": "exact", "expected_value": "NW-12345"}}
    (hit,) = results([{"parameter_conditions": [exact], "mock_result": '{"status": "lost"}'}])
    assert hit.result_value == '{"status": "lost"}' and not hit.is_error
    other = {"path": "order_id", "eval": {"type": "exact", "expected_value": "NW-00000"}}
    (miss,) = results([{"parameter_conditions": [other], "mock_result": "never"}])
    assert miss.is_error and "no mock matched" in miss.result_value


def test_turn_limit_fails_the_run_with_a_reason(client, fresh_sandbox):
    test = client.conversational_ai.tests.create(
        request=_simulation(
            "Long talk", REFUND + " [turns=30]", ["Stays polite"], simulation_max_turns=4
        )
    )
    inv = client.conversational_ai.agents.run_tests(SUPPORT, tests=[{"test_id": test.id}])
    run = _wait(client, inv.id).test_runs[0]
    assert run.status == "failed"
    assert "turn limit" in run.condition_result.rationale.summary
    assert sum(1 for t in run.agent_responses if t.message) <= 5  # first message + 4 turns


def test_cancel_resubmit_and_list_invocations(client, fresh_sandbox):
    tests = client.conversational_ai.tests
    invocations = tests.invocations
    a = tests.create(request=_simulation("A", REFUND, ["Stays polite"]))
    b = tests.create(request=_simulation("B", REFUND, ["Stays polite"]))
    fresh_sandbox.configure(run_delay=60)
    slow = client.conversational_ai.agents.run_tests(
        SUPPORT, tests=[{"test_id": a.id}, {"test_id": b.id}], name="nightly"
    )
    invocations.cancel(slow.id)
    cancelled = invocations.get(slow.id)
    assert cancelled.cancelled and {r.status for r in cancelled.test_runs} == {"cancelled"}

    fresh_sandbox.configure(run_delay=0)
    run_ids = [r.test_run_id for r in cancelled.test_runs]
    invocations.resubmit(slow.id, test_run_ids=run_ids[:1], agent_id=SUPPORT)
    redone = _wait(client, slow.id)
    assert [r.status for r in redone.test_runs] == ["passed", "cancelled"]

    other = client.conversational_ai.agents.run_tests(
        "agent_demo_booking", tests=[{"test_id": b.id}]
    )
    _wait(client, other.id)
    page = invocations.list(agent_id=SUPPORT)
    (summary,) = page.results
    assert (summary.id, summary.title, summary.test_run_count) == (slow.id, "nightly", 2)
    assert (summary.passed_count, summary.cancelled_count, summary.pending_count) == (1, 1, 0)
    assert [r.id for r in invocations.list(test_id=a.id).results] == [slow.id]
    first = invocations.list(page_size=1)
    assert first.has_more and [r.id for r in first.results] == [other.id]
    assert [r.id for r in invocations.list(page_size=1, cursor=first.next_cursor).results] == [
        slow.id
    ]
    GetTestInvocationsPageResponseModel.model_validate(
        _raw(fresh_sandbox, "GET", "/v1/convai/test-invocations").json()
    )


def test_unknown_ids_give_upstream_errors(client, fresh_sandbox):
    test = client.conversational_ai.tests.create(request=_simulation("A", REFUND, ["Polite"]))
    with pytest.raises(ApiError) as agent:
        client.conversational_ai.agents.run_tests("agent_nope", tests=[{"test_id": test.id}])
    assert agent.value.status_code == 404
    assert agent.value.body["detail"]["status"] == "agent_not_found"
    with pytest.raises(ApiError) as missing_test:
        client.conversational_ai.agents.run_tests(SUPPORT, tests=[{"test_id": "test_nope"}])
    assert missing_test.value.status_code == 404
    with pytest.raises(ApiError) as invocation:
        client.conversational_ai.tests.invocations.get("tinv_nope")
    assert invocation.value.status_code == 404
    with pytest.raises(UnprocessableEntityError):
        client.conversational_ai.agents.run_tests(SUPPORT, tests=[])
    with pytest.raises(ApiError) as branch:
        client.conversational_ai.agents.run_tests(
            SUPPORT, tests=[{"test_id": test.id}], branch_id="agtbrch_none"
        )
    assert branch.value.status_code == 404


def test_demo_agents_carry_attached_tests_with_known_outcomes(client, fresh_sandbox):
    agent = client.conversational_ai.agents.get(SUPPORT)
    attached = [t.test_id for t in agent.platform_settings.testing.attached_tests]
    assert len(attached) == 5
    body = {"tests": [{"test_id": t} for t in attached], "repeat_count": 4}
    inv = _raw(fresh_sandbox, "POST", f"/v1/convai/agents/{SUPPORT}/run-tests", json=body).json()
    done = _wait(client, inv["id"])
    by_test: dict[str, list[str]] = {}
    for run in done.test_runs:
        by_test.setdefault(run.test_id, []).append(run.status)
    assert by_test["test_demo_refund_torn_jacket"] == ["passed"] * 4
    assert by_test["test_demo_late_parcel_discount"] == ["failed"] * 4  # [requires: ...]
    assert set(by_test["test_demo_delivery_date_flaky"]) == {"passed", "failed"}
    assert by_test["test_demo_lookup_mock_mismatch"] == ["failed"] * 4  # no mock matched
    assert by_test["test_demo_long_call_turn_limit"] == ["failed"] * 4
    titles = {g.test_id: [b.title for b in g.buckets] for g in done.result_groups}
    assert titles["test_demo_long_call_turn_limit"] == ["Failed: turn limit reached"]
    assert titles["test_demo_late_parcel_discount"] == ["Failed: condition 2"]


# --- PATCH, list, tools ----------------------------------------------------------------------


def test_update_deep_merges_objects_and_replaces_lists(client, fresh_sandbox):
    before = client.conversational_ai.agents.get(SUPPORT)
    after = client.conversational_ai.agents.update(
        SUPPORT,
        name="Northwind Support v2",
        tags=["v2"],
        conversation_config={"agent": {"prompt": {"prompt": "You are Ava. Be brief."}}},
    )
    assert isinstance(after, GetAgentResponseModel)
    prompt = after.conversation_config.agent.prompt
    assert prompt.prompt == "You are Ava. Be brief."
    assert [t.name for t in prompt.tools] == [
        t.name for t in before.conversation_config.agent.prompt.tools
    ]
    assert (
        after.conversation_config.agent.first_message
        == before.conversation_config.agent.first_message
    )
    assert after.conversation_config.tts.voice_id == before.conversation_config.tts.voice_id
    assert after.tags == ["v2"] and after.name == "Northwind Support v2"
    stored = client.conversational_ai.agents.get(SUPPORT)
    assert stored.conversation_config.agent.prompt.prompt == "You are Ava. Be brief."
    raw = _raw(fresh_sandbox, "GET", f"/v1/convai/agents/{SUPPORT}").json()
    GetAgentResponseModel.model_validate(raw)


def test_update_refuses_bad_shapes_and_unknown_agents(client, fresh_sandbox):
    bad = _raw(
        fresh_sandbox,
        "PATCH",
        f"/v1/convai/agents/{SUPPORT}",
        json={"conversation_config": {"agent": {"prompt": {"prompt": 42}}}},
    )
    assert bad.status_code == 422
    (err,) = bad.json()["detail"]
    assert err["loc"] == ["body", "conversation_config", "agent", "prompt", "prompt"]
    assert err["type"] == "string_type"
    bad_item = _raw(fresh_sandbox, "PATCH", f"/v1/convai/agents/{SUPPORT}", json={"tags": ["a", 1]})
    assert bad_item.json()["detail"][0]["loc"] == ["body", "tags", 1]
    assert client.conversational_ai.agents.get(SUPPORT).tags == ["demo", "support"]  # unchanged
    with pytest.raises(ApiError) as missing:
        client.conversational_ai.agents.update("agent_nope", name="x")
    assert missing.value.status_code == 404


def test_update_picks_tools_by_id(client, fresh_sandbox):
    ids = _tool_ids(client, "agent_demo_booking")
    faq = client.conversational_ai.agents.update(
        "agent_demo_faq",
        conversation_config={"agent": {"prompt": {"tool_ids": [ids["check_availability"]]}}},
    )
    assert [t.name for t in faq.conversation_config.agent.prompt.tools] == ["check_availability"]
    assert faq.conversation_config.agent.prompt.tool_ids == [ids["check_availability"]]
    used = client.conversational_ai.tools.list(used_by_agent_id="agent_demo_faq")
    assert [t.id for t in used.tools] == [ids["check_availability"]]
    unknown = _raw(
        fresh_sandbox,
        "PATCH",
        "/v1/convai/agents/agent_demo_faq",
        json={"conversation_config": {"agent": {"prompt": {"tool_ids": ["tool_nope"]}}}},
    )
    assert unknown.status_code == 422 and "tool_nope" in unknown.json()["detail"][0]["msg"]


def test_legacy_simulate_off_answers_bare_404(client, fresh_sandbox):
    body = {"simulation_specification": {"simulated_user_config": {"prompt": {"prompt": "hi"}}}}
    path = f"/v1/convai/agents/{SUPPORT}/simulate-conversation"
    assert _raw(fresh_sandbox, "POST", path, json=body).status_code == 200
    fresh_sandbox.configure(legacy_simulate=False)
    for suffix in ("", "/stream"):
        gone = _raw(fresh_sandbox, "POST", path + suffix, json=body)
        assert (gone.status_code, gone.json()) == (404, {"detail": "Not Found"})
    assert client.conversational_ai.agents.get(SUPPORT).agent_id == SUPPORT  # the rest works
    assert fresh_sandbox.status()["legacy_simulate"] is False
