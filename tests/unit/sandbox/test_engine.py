"""The conversation engine on its own: determinism, length control, tools and mocks, dynamic
variables, history, criteria and data collection, realistic sizes."""

from __future__ import annotations

import itertools
import json

import pytest

from agents_mcp.api import models
from agents_mcp.sandbox import engine
from tests.support.paths import REPO

AGENTS = REPO / "config" / "agents"


def agent(name: str = "agent_demo_support") -> dict:
    return json.loads((AGENTS / f"{name}.json").read_text())


def run(body: dict, doc: dict | None = None, seed: int | None = None) -> engine.Simulation:
    doc = doc or agent()
    request = models.SimulateRequest.model_validate(body)
    seed = engine.seed_for(doc["agent_id"], body) if seed is None else seed
    return engine.simulate(doc, request, seed)


def spec(prompt: str = "You want a refund for your damaged boots.", **more) -> dict:
    body: dict = {
        "simulation_specification": {"simulated_user_config": {"prompt": {"prompt": prompt}}}
    }
    body["simulation_specification"].update(more.pop("spec", {}))
    body.update(more)
    return body


def messages(sim: engine.Simulation) -> list[dict]:
    return [t for t in sim.turns if t["message"]]


def test_deterministic_for_a_seed_and_varied_across_seeds():
    assert run(spec(), seed=7).response() == run(spec(), seed=7).response()
    texts = {tuple(t["message"] for t in messages(run(spec(), seed=s))) for s in range(12)}
    assert len(texts) > 3


@pytest.mark.parametrize("n", [0, 1, 2, 20, 200])
def test_turn_directive_gives_exactly_n_new_turns(n):
    sim = run(spec(f"You want a refund. [turns={n}]"))
    said = messages(sim)
    assert said[0]["message"].startswith("Hi there")  # the first message is extra
    assert len(said) == n + 1
    roles = [t["role"] for t in said]
    assert all(a != b for a, b in itertools.pairwise(roles)), "user and agent alternate"


def test_new_turns_limit_caps_and_keeps_the_first_message():
    sim = run(spec(new_turns_limit=1))
    assert [(t["role"], bool(t["message"])) for t in sim.turns] == [("agent", True), ("user", True)]
    assert len(messages(run(spec("[turns=50]", new_turns_limit=9)))) == 10
    natural = len(messages(run(spec())))
    assert 10 <= natural - 1 <= 14


def test_tools_are_called_and_answered_from_the_mocks():
    mocks = {
        "lookup_order": {"default_return_value": '{"status": "delivered", "carrier": "DHL"}'},
        "create_refund": {
            "default_return_value": "payment processor down",
            "default_is_error": True,
        },
    }
    sim = run(
        spec(
            "You are furious. Your boots arrived damaged and you want a refund.",
            spec={"tool_mock_config": mocks},
        )
    )
    calls = {c["request_id"]: c for t in sim.turns for c in t["tool_calls"]}
    results = {r["request_id"]: r for t in sim.turns for r in t["tool_results"]}
    assert set(calls) == set(results), "every call is answered"
    by_tool = {r["tool_name"]: r for r in results.values()}
    assert by_tool["lookup_order"]["result_value"] == mocks["lookup_order"]["default_return_value"]
    assert by_tool["lookup_order"]["is_error"] is False
    assert by_tool["create_refund"] == {
        **by_tool["create_refund"],
        "is_error": True,
        "result_value": "payment processor down",
    }
    lookup_call = next(c for c in calls.values() if c["tool_name"] == "lookup_order")
    assert lookup_call["tool_details"]["type"] == "webhook"
    assert lookup_call["tool_details"]["method"] == "GET"
    order_id = json.loads(lookup_call["params_as_json"])["order_id"]
    assert lookup_call["tool_details"]["url"].endswith(f"/orders/{order_id}")
    text = " ".join(t["message"] for t in messages(sim))
    assert "DHL" in text and "didn't go through" in text
    analysis = sim.analysis
    assert analysis["call_successful"] == "failure"
    assert analysis["evaluation_criteria_results"]["issue_resolved"]["result"] == "failure"
    assert "create_refund" in analysis["evaluation_criteria_results"]["issue_resolved"]["rationale"]
    assert analysis["evaluation_criteria_results"]["polite_and_empathetic"]["result"] == "success"
    assert analysis["data_collection_results"]["refund_issued"]["value"] is False
    assert "returned an error" in analysis["transcript_summary"]


def test_unmocked_tools_get_plausible_defaults_and_success():
    sim = run(spec())
    results = [r for t in sim.turns for r in t["tool_results"]]
    by_tool = {r["tool_name"]: r for r in results}
    assert by_tool["show_order_summary"]["result_value"] == "Tool Called."
    assert json.loads(by_tool["lookup_order"]["result_value"])["status"] == "shipped"
    assert by_tool["end_call"]["type"] == "system"
    assert by_tool["end_call"]["result"]["result_type"] == "end_call_success"
    assert sim.analysis["call_successful"] == "success"
    assert set(sim.analysis["evaluation_criteria_results"]) == {
        "verified_order",
        "issue_resolved",
        "polite_and_empathetic",
    }
    collected = sim.analysis["data_collection_results"]
    assert collected["issue_type"]["value"] == "refund"
    assert collected["order_id"]["value"].startswith("NW-")
    assert collected["order_id"]["value"] in " ".join(t["message"] for t in messages(sim))


def test_dynamic_variables_are_substituted():
    body = spec(
        "You want to know where order NW-55555 is.",
        spec={"dynamic_variables": {"customer_name": "Zoe Park", "order_id": "NW-77777"}},
    )
    sim = run(body)
    assert sim.turns[0]["message"].startswith("Hi Zoe Park, thanks for calling")
    assert "{{" not in json.dumps(sim.response())
    assert "NW-77777" in " ".join(t["message"] for t in messages(sim))
    # Without a value, the agent's placeholder applies.
    assert run(spec()).turns[0]["message"].startswith("Hi there,")


def test_partial_history_is_continued():
    history = [
        {"role": "agent", "message": "Hi, Northwind here.", "time_in_call_secs": 0},
        {"role": "user", "message": "I need a refund for my order.", "time_in_call_secs": 3},
        {"role": "agent", "message": "Sure, what's the order number?", "time_in_call_secs": 6},
    ]
    sim = run(spec(spec={"partial_conversation_history": history}, new_turns_limit=4))
    assert [t["message"] for t in sim.turns[:3]] == [h["message"] for h in history]
    assert sim.turns[2]["agent_metadata"]["agent_id"] == "agent_demo_support"
    new = messages(sim)[3:]
    assert len(new) == 4 and new[0]["role"] == "user"
    assert new[0]["time_in_call_secs"] >= 6
    # History ending with the user: the agent answers next.
    sim = run(spec(spec={"partial_conversation_history": history[:2]}, new_turns_limit=2))
    assert messages(sim)[2]["role"] == "agent"


def test_extra_criteria_and_forced_results():
    body = spec(
        extra_evaluation_criteria=[
            {
                "id": "asks_order",
                "name": "Order",
                "conversation_goal_prompt": "The agent asks for the order number.",
            },
            {
                "id": "speaks_klingon",
                "name": "Klingon",
                "conversation_goal_prompt": "The agent speaks Klingon fluently.",
            },
            {"id": "forced", "name": "Forced", "conversation_goal_prompt": "anything [fail]"},
            {"id": "unsure", "name": "Unsure", "conversation_goal_prompt": "anything [unknown]"},
        ]
    )
    results = run(body).analysis["evaluation_criteria_results"]
    assert len(results) == 7
    assert results["asks_order"]["result"] == "success"
    assert results["speaks_klingon"]["result"] == "failure"
    assert "klingon" in results["speaks_klingon"]["rationale"].lower()
    assert results["forced"]["result"] == "failure"
    assert results["unsure"]["result"] == "unknown"


def test_truncated_conversation_is_not_a_success():
    sim = run(spec("You want a refund. [turns=3]"))
    assert sim.analysis["call_successful"] == "failure"
    assert "turn limit" in sim.analysis["transcript_summary"]


def test_twenty_turn_simulation_has_realistic_size_and_fields():
    sim = run(spec("You are angry and want a refund. [turns=20]"))
    size = len(json.dumps(sim.response()))
    assert 20_000 <= size <= 120_000, size
    agent_turns = [t for t in sim.turns if t["role"] == "agent" and t["message"]]
    for turn in agent_turns:
        usage = turn["llm_usage"]["model_usage"]["gemini-2.0-flash"]
        assert usage["input"]["tokens"] > 0 and usage["output_total"]["price"] > 0
        assert (
            turn["conversation_turn_metrics"]["metrics"]["convai_llm_service_ttfb"]["elapsed_time"]
            > 0
        )
    keys = {
        "role",
        "message",
        "tool_calls",
        "tool_results",
        "feedback",
        "llm_override",
        "time_in_call_secs",
        "conversation_turn_metrics",
        "rag_retrieval_info",
        "llm_usage",
        "interrupted",
        "original_message",
        "agent_metadata",
        "source_medium",
        "multivoice_message",
    }
    assert all(keys <= set(t) for t in sim.turns)
    times = [t["time_in_call_secs"] for t in sim.turns]
    assert times == sorted(times) and times[-1] > 30


def test_other_agents_and_topics():
    booking = run(spec("You want a table for four on Friday."), doc=agent("agent_demo_booking"))
    tools = [c["tool_name"] for t in booking.turns for c in t["tool_calls"]]
    assert tools == ["check_availability", "create_booking"]
    params = json.loads(next(c for t in booking.turns for c in t["tool_calls"])["params_as_json"])
    assert isinstance(params["party_size"], int)
    assert booking.analysis["call_summary_title"] == "Table reservation"
    faq = run(
        spec("You want to know about the warranty and shipping."), doc=agent("agent_demo_faq")
    )
    assert not any(t["tool_calls"] for t in faq.turns)
    assert faq.analysis["evaluation_criteria_results"]["answered_question"]["result"] == "success"


def test_agent_without_first_message_lets_the_user_open():
    doc = {"agent_id": "agent_x", "name": "X", "conversation_config": {"agent": {"prompt": {}}}}
    sim = run(spec(new_turns_limit=2), doc=doc)
    assert [t["role"] for t in sim.turns] == ["user", "agent"]
