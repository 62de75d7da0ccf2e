"""Flat simulate_conversation arguments -> the strict API body (pure; no I/O)."""

from __future__ import annotations

import pytest

from agents_mcp.simulations.request import RequestBuildError, build_request, slug


def body(**kw) -> dict:
    return build_request(kw.pop("user_prompt", "An impatient caller"), **kw).model_dump(
        mode="json", exclude_none=True
    )


def test_user_prompt_and_flat_fields_land_where_the_api_wants_them() -> None:
    b = body(
        first_message="Hi!",
        language="de",
        user_llm="gpt-4o",
        max_turns=6,
        dynamic_variables={"customer": "Ana", "vip": True},
    )
    user = b["simulation_specification"]["simulated_user_config"]
    assert user == {
        "prompt": {"prompt": "An impatient caller", "llm": "gpt-4o"},
        "first_message": "Hi!",
        "language": "de",
    }
    assert b["simulation_specification"]["dynamic_variables"] == {"customer": "Ana", "vip": True}
    assert b["new_turns_limit"] == 6


def test_criteria_from_sentences_and_objects() -> None:
    b = body(
        criteria=[
            "Agent confirms the order number",
            "Agent confirms the order number",
            {"id": "polite", "goal": "Stays polite"},
        ]
    )
    crits = b["extra_evaluation_criteria"]
    assert [c["id"] for c in crits] == [
        "agent_confirms_order_number",
        "agent_confirms_order_number_2",
        "polite",
    ]
    assert crits[2] == {
        "id": "polite",
        "name": "Stays polite",
        "type": "prompt",
        "conversation_goal_prompt": "Stays polite",
    }


def test_tool_mocks_become_tool_mock_config() -> None:
    b = body(
        tool_mocks={
            "lookup_order": {"return": {"status": "shipped"}, "is_error": False},
            "refund": {"return": "Refund failed", "is_error": True},
        }
    )
    assert b["simulation_specification"]["tool_mock_config"] == {
        "lookup_order": {
            "default_return_value": '{"status": "shipped"}',
            "default_is_error": False,
        },
        "refund": {"default_return_value": "Refund failed", "default_is_error": True},
    }


def test_advanced_keys_are_routed_to_their_level_and_merged() -> None:
    history = [{"role": "user", "message": "Hello?", "time_in_call_secs": 0}]
    b = body(
        user_llm="gpt-4o",
        criteria=["Be kind"],
        advanced={
            "partial_conversation_history": history,  # specification level
            "prompt": {"temperature": 0.2, "llm": "gpt-4"},  # simulated user level
            "extra_evaluation_criteria": [
                {"id": "x", "name": "x", "conversation_goal_prompt": "g"}
            ],
            "simulation_specification": {"tool_mock_config": {"t": {"default_is_error": True}}},
        },
    )
    spec = b["simulation_specification"]
    assert spec["partial_conversation_history"] == history
    assert spec["tool_mock_config"] == {"t": {"default_is_error": True}}
    # the flat argument wins over the same field in advanced; the rest of advanced is kept
    assert spec["simulated_user_config"]["prompt"] == {
        "prompt": "An impatient caller",
        "llm": "gpt-4o",
        "temperature": 0.2,
    }
    assert [c["id"] for c in b["extra_evaluation_criteria"]] == ["x", "be_kind"]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"user_llm": "gpt-99"},
            "user_llm (simulation_specification.simulated_user_config.prompt.llm)",
        ),
        ({"advanced": {"nonsense": 1}}, "advanced.nonsense: not a field of the simulate request"),
        (
            {"advanced": {"partial_conversation_history": [{"role": "user"}]}},
            "advanced.simulation_specification.partial_conversation_history.0."
            "time_in_call_secs: Field required",
        ),
        (
            {"advanced": {"prompt": {"temprature": 1}}},
            "advanced.simulation_specification.simulated_user_config.prompt.temprature",
        ),
        ({"tool_mocks": {"t": {"returns": "x"}}}, "tool_mocks.t: unknown key 'returns'"),
        ({"criteria": [{"goal": ""}]}, "criteria[0]: the goal is empty"),
        ({"criteria": [{"goal": "g", "weight": 2}]}, "criteria[0]: unknown key(s) ['weight']"),
        ({"user_prompt": "  "}, "user_prompt: describe the simulated caller"),
    ],
)
def test_bad_arguments_name_the_field(kwargs: dict, expected: str) -> None:
    with pytest.raises(RequestBuildError) as info:
        body(**kwargs)
    assert expected in str(info.value)
    assert str(info.value).startswith("Invalid simulation arguments, nothing was started:")


def test_slug() -> None:
    assert slug("Agent greets the caller by NAME!") == "agent_greets_caller_by_name"
    assert len(slug("word " * 50)) <= 40
    assert slug("¡¿?!") == "criterion"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tool_mocks": {"x" * 100_000: {"": None}}},
        {"tool_mocks": {"lookup": {"y" * 100_000: 1}}},
        {"criteria": [{"id": "a", "goal": "b", "z" * 100_000: 1}]},
        {"dynamic_variables": {"k" * 100_000: [1, 2]}},
    ],
)
def test_caller_supplied_names_are_clipped_in_errors(kwargs: dict) -> None:
    """Found by the fuzzer: a 100,000-character tool name came back whole in the error."""
    with pytest.raises(RequestBuildError) as err:
        build_request("An impatient caller", **kwargs)
    assert len(str(err.value)) < 1_000
    assert str(err.value).endswith("Fix these and call again.")
