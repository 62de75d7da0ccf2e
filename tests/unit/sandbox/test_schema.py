"""The sandbox's responses validate against the OpenAPI file for the five endpoints, over many
generated requests (hypothesis builds the simulate bodies; jsonschema checks both ways)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.support.paths import REPO

SPEC_PATH = REPO / "agents_mcp" / "data" / "agents-api.openapi.json"
AGENTS = ("agent_demo_support", "agent_demo_booking", "agent_demo_faq")
TOOLS = (
    "lookup_order",
    "create_refund",
    "show_order_summary",
    "check_availability",
    "create_booking",
    "not_a_tool",
)
HYPOTHESIS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@cache
def _spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())


@cache
def _validator(pointer: str) -> Draft202012Validator:
    """A validator for one schema of the OpenAPI file, its $refs resolved in the file."""
    resource = Resource.from_contents(_spec(), default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:openapi", resource)
    return Draft202012Validator({"$ref": f"urn:openapi#{pointer}"}, registry=registry)


def _response_schema(path: str, method: str) -> str:
    op = _spec()["paths"][path][method]
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    return ref.removeprefix("#")


def _request_schema(path: str) -> str:
    op = _spec()["paths"][path]["post"]
    return op["requestBody"]["content"]["application/json"]["schema"]["$ref"].removeprefix("#")


def _check(pointer: str, instance: Any) -> None:
    errors = sorted(_validator(pointer).iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:300]}" for e in errors[:5])


AGENT = "/v1/convai/agents/{agent_id}"
TURN = "/components/schemas/ConversationHistoryTranscriptCommonModel-Output"
ANALYSIS = "/components/schemas/ConversationHistoryAnalysisCommonModel"


WORDS = (
    "refund",
    "order",
    "damaged",
    "late",
    "table",
    "booking",
    "password",
    "cancel",
    "bill",
    "angry",
    "polite",
    "confused",
    "where",
    "warranty",
    "price",
    "hello",
    "thanks",
    "item",
    "boots",
)

# --- strategies ---------------------------------------------------------------------------

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
words = st.lists(
    st.sampled_from(WORDS),
    max_size=12,
).map(" ".join)
user_prompt = st.one_of(
    words,
    text,
    st.builds(lambda w, n: f"You are a customer. {w} [turns={n}]", words, st.integers(0, 40)),
)
# (The spec's oneOf [string, number, integer, boolean] rejects whole numbers: they match two.)
scalar = st.one_of(
    text, st.booleans(), st.floats(-1e6, 1e6, allow_nan=False).filter(lambda f: not f.is_integer())
)
history_turn = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "agent"]), "time_in_call_secs": st.integers(0, 500)},
    optional={"message": st.one_of(st.none(), words, text), "interrupted": st.booleans()},
)
mock = st.fixed_dictionaries(
    {},
    optional={
        "default_return_value": st.one_of(text, st.just('{"status": "ok", "n": 3}')),
        "default_is_error": st.booleans(),
    },
)
criterion = st.builds(
    lambda i, goal: {
        "id": f"c{i}",
        "name": f"criterion {i}",
        "conversation_goal_prompt": goal,
        "type": "prompt",
        "use_knowledge_base": False,
    },
    st.integers(0, 5),
    st.one_of(words, text, st.sampled_from(["[fail] x", "[unknown]"])),
)
user_config = st.fixed_dictionaries(
    {},
    optional={
        "first_message": words,
        "language": st.sampled_from(["en", "es", "de"]),
        "prompt": st.fixed_dictionaries(
            {},
            optional={
                "prompt": user_prompt,
                "llm": st.sampled_from(["gpt-4o-mini", "gemini-2.0-flash", "claude-3-5-sonnet"]),
                "temperature": st.floats(0, 1),
            },
        ),
    },
)
simulate_body = st.fixed_dictionaries(
    {
        "simulation_specification": st.fixed_dictionaries(
            {"simulated_user_config": user_config},
            optional={
                "tool_mock_config": st.dictionaries(st.sampled_from(TOOLS), mock, max_size=4),
                "partial_conversation_history": st.lists(history_turn, max_size=5),
                "dynamic_variables": st.dictionaries(
                    st.sampled_from(["customer_name", "order_id", "email", "x"]),
                    st.one_of(st.none(), scalar),
                    max_size=4,
                ),
            },
        )
    },
    optional={
        "extra_evaluation_criteria": st.lists(criterion, max_size=3, unique_by=lambda c: c["id"]),
        "new_turns_limit": st.integers(0, 30),
    },
)


# --- tests --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http(sandbox):
    with httpx2.Client(base_url=sandbox.base_url, headers=sandbox.headers(), timeout=30) as client:
        yield client


@HYPOTHESIS
@given(agent_id=st.sampled_from(AGENTS), body=simulate_body)
def test_simulate_responses_match_the_spec(http, agent_id, body):
    path = AGENT + "/simulate-conversation"
    _check(_request_schema(path), body)  # the generated request is itself valid
    response = http.post(f"/v1/convai/agents/{agent_id}/simulate-conversation", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    _check(_response_schema(path, "post"), result)
    ids = {c["id"] for c in body.get("extra_evaluation_criteria", [])}
    assert ids <= set(result["analysis"]["evaluation_criteria_results"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(agent_id=st.sampled_from(AGENTS), body=simulate_body)
def test_stream_frames_match_the_spec(http, agent_id, body):
    response = http.post(f"/v1/convai/agents/{agent_id}/simulate-conversation/stream", json=body)
    assert response.status_code == 200
    lines = response.text.splitlines()
    frames = [json.loads(json.loads(line)) for line in lines]
    assert all(f["analysis"] is None for f in frames[:-1])
    for frame in frames:
        for turn in frame["simulated_conversation"]:
            _check(TURN, turn)
    _check(ANALYSIS, frames[-1]["analysis"])


@HYPOTHESIS
@given(name=st.one_of(st.none(), text), agent_id=st.sampled_from(AGENTS))
def test_duplicate_link_delete_match_the_spec(http, name, agent_id):
    body = {} if name is None else {"name": name}
    _check(_request_schema(AGENT + "/duplicate"), body)
    dup = http.post(f"/v1/convai/agents/{agent_id}/duplicate", json=body)
    assert dup.status_code == 200
    _check(_response_schema(AGENT + "/duplicate", "post"), dup.json())
    new_id = dup.json()["agent_id"]
    for target in (agent_id, new_id):
        link = http.get(f"/v1/convai/agents/{target}/link")
        _check(_response_schema(AGENT + "/link", "get"), link.json())
    deleted = http.delete(f"/v1/convai/agents/{new_id}")
    assert deleted.status_code == 200
    _check(_response_schema(AGENT, "delete"), deleted.json())
    assert deleted.json() == {}


@pytest.mark.parametrize("agent_id", AGENTS)
def test_big_simulation_with_tools_matches_the_spec(http, agent_id):
    body = {
        "simulation_specification": {
            "simulated_user_config": {
                "prompt": {"prompt": "You are angry, want a refund. [turns=60]"}
            },
            "tool_mock_config": {"lookup_order": {"default_is_error": True}},
        }
    }
    result = http.post(f"/v1/convai/agents/{agent_id}/simulate-conversation", json=body).json()
    _check(_response_schema(AGENT + "/simulate-conversation", "post"), result)


json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), text),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=12,
)
odd_tool = st.fixed_dictionaries(
    {"name": st.one_of(text, st.integers())},
    optional={
        "type": st.sampled_from(["webhook", "client", "system", "mcp", 3]),
        "api_schema": json_value,
        "parameters": json_value,
        "description": json_value,
    },
)
odd_config = st.fixed_dictionaries(
    {},
    optional={
        "agent": st.one_of(
            json_value,
            st.fixed_dictionaries(
                {},
                optional={
                    "first_message": json_value,
                    "dynamic_variables": json_value,
                    "prompt": st.one_of(
                        json_value,
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "prompt": json_value,
                                "llm": json_value,
                                "tools": st.lists(odd_tool, max_size=3),
                            },
                        ),
                    ),
                },
            ),
        ),
    },
)
odd_settings = st.one_of(
    json_value,
    st.fixed_dictionaries(
        {},
        optional={
            "evaluation": st.one_of(json_value, st.fixed_dictionaries({"criteria": json_value})),
            "data_collection": st.one_of(json_value, st.dictionaries(text, json_value, max_size=3)),
            "auth": json_value,
        },
    ),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(config=odd_config, platform=odd_settings)
def test_any_created_agent_can_be_simulated(http, config, platform):
    """Agents are stored as created: whatever their shape, every endpoint still answers well."""
    body = {"name": "odd", "conversation_config": config}
    if isinstance(platform, dict):
        body["platform_settings"] = platform
    made = http.post("/v1/convai/agents/create", json=body)
    assert made.status_code == 200, made.text
    agent_id = made.json()["agent_id"]
    try:
        sim = http.post(
            f"/v1/convai/agents/{agent_id}/simulate-conversation",
            json={"simulation_specification": {"simulated_user_config": {}}},
        )
        assert sim.status_code == 200, sim.text
        _check(_response_schema(AGENT + "/simulate-conversation", "post"), sim.json())
        link = http.get(f"/v1/convai/agents/{agent_id}/link")
        assert link.status_code == 200, link.text
        _check(_response_schema(AGENT + "/link", "get"), link.json())
        assert http.get(f"/v1/convai/agents/{agent_id}").status_code == 200
    finally:
        http.delete(f"/v1/convai/agents/{agent_id}")
