"""The streamed simulation, read raw, decodes into exactly what the non-streamed endpoint returns
for the same request; frames are paced by the turn delay."""

from __future__ import annotations

import json
import time

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BODIES = [
    {
        "simulation_specification": {
            "simulated_user_config": {"prompt": {"prompt": "You want a refund."}}
        }
    },
    {
        "simulation_specification": {
            "simulated_user_config": {
                "first_message": "Hello?",
                "prompt": {"prompt": "angry [turns=25]"},
            },
            "tool_mock_config": {
                "create_refund": {"default_is_error": True, "default_return_value": "card declined"}
            },
            "dynamic_variables": {"customer_name": "Ola"},
        },
        "extra_evaluation_criteria": [
            {"id": "x", "name": "x", "conversation_goal_prompt": "refund"}
        ],
    },
    {
        "simulation_specification": {
            "simulated_user_config": {},
            "partial_conversation_history": [
                {"role": "agent", "message": "Hi!", "time_in_call_secs": 0},
                {"role": "user", "message": "My order is late.", "time_in_call_secs": 2},
            ],
        },
        "new_turns_limit": 5,
    },
]


def decode(raw: str) -> tuple[list[dict], dict | None, int]:
    """Each line is a JSON string holding a frame's JSON: concatenate turns, keep the analysis."""
    turns: list[dict] = []
    analysis = None
    lines = raw.splitlines()
    for line in lines:
        encoded = json.loads(line)
        assert isinstance(encoded, str), "frames are double-encoded JSON strings"
        frame = json.loads(encoded)
        assert set(frame) == {"simulated_conversation", "analysis"}
        assert analysis is None, "nothing may follow the analysis frame"
        turns.extend(frame["simulated_conversation"])
        analysis = frame["analysis"]
    return turns, analysis, len(lines)


_clients: dict[str, httpx2.Client] = {}


def both(sandbox, agent_id: str, body: dict) -> tuple[dict, str]:
    if sandbox.base_url not in _clients:
        _clients[sandbox.base_url] = httpx2.Client(headers=sandbox.headers(), timeout=30)
    http = _clients[sandbox.base_url]
    base = f"{sandbox.base_url}/v1/convai/agents/{agent_id}/simulate-conversation"
    whole = http.post(base, json=body)
    streamed = http.post(base + "/stream", json=body)
    assert whole.status_code == streamed.status_code == 200
    return whole.json(), streamed.text


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("agent_id", ["agent_demo_support", "agent_demo_booking", "agent_demo_faq"])
def test_stream_decodes_to_the_non_streamed_result(sandbox, agent_id, body):
    whole, raw = both(sandbox, agent_id, body)
    turns, analysis, frames = decode(raw)
    assert turns == whole["simulated_conversation"]
    assert analysis == whole["analysis"]
    assert frames >= 3 and raw.endswith("\n")


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prompt=st.text(max_size=80), limit=st.one_of(st.none(), st.integers(0, 25)))
def test_stream_equals_whole_for_generated_requests(sandbox, prompt, limit):
    body: dict = {
        "simulation_specification": {"simulated_user_config": {"prompt": {"prompt": prompt}}}
    }
    if limit is not None:
        body["new_turns_limit"] = limit
    whole, raw = both(sandbox, "agent_demo_support", body)
    turns, analysis, _ = decode(raw)
    assert (turns, analysis) == (whole["simulated_conversation"], whole["analysis"])


def test_same_request_same_conversation_and_different_request_differs(sandbox):
    first, _ = both(sandbox, "agent_demo_support", BODIES[0])
    again, _ = both(sandbox, "agent_demo_support", BODIES[0])
    assert first == again
    other = json.loads(json.dumps(BODIES[0]))
    other["simulation_specification"]["simulated_user_config"]["prompt"]["prompt"] += " Please."
    changed, _ = both(sandbox, "agent_demo_support", other)
    assert changed["simulated_conversation"] != first["simulated_conversation"]


def test_frames_arrive_one_turn_at_a_time_paced_by_the_delay(fresh_sandbox):
    fresh_sandbox.configure(turn_delay=0.05)
    url = (
        f"{fresh_sandbox.base_url}/v1/convai/agents/agent_demo_support/simulate-conversation/stream"
    )
    body = {
        "simulation_specification": {"simulated_user_config": {"prompt": {"prompt": "[turns=6]"}}}
    }
    arrivals = []
    with httpx2.stream("POST", url, json=body, headers=fresh_sandbox.headers(), timeout=30) as r:
        assert r.headers["content-type"].startswith("application/json")
        for line in r.iter_lines():
            frame = json.loads(json.loads(line))
            arrivals.append((time.monotonic(), frame))
    # first message + 6 turns + the analysis frame
    assert len(arrivals) == 8
    assert [f["analysis"] is None for _, f in arrivals] == [True] * 7 + [False]
    assert all(len(f["simulated_conversation"]) >= 1 for _, f in arrivals[:-1])
    assert arrivals[-1][0] - arrivals[0][0] >= 7 * 0.05 * 0.9
