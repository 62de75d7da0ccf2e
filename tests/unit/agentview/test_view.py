"""The compact agent view, its pages, the old -> new rendering of a change, and the strict
validation of `changes` (pure: no I/O)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents_mcp.agentview import changes as diff
from agents_mcp.agentview import view
from agents_mcp.api.agent_config import validate_changes
from agents_mcp.api.errors import RequestValidationError
from tests.support.paths import REPO

LONG_PROMPT = "\n".join(
    f"Rule {i}: when the caller asks about topic {i}, answer briefly; greet {{{{customer_name}}}}."
    for i in range(160)
)  # ~13 KB


def big_agent() -> dict[str, Any]:
    tools = [{"type": "webhook", "name": f"tool_{i}", "id": f"tool_{i:028d}"} for i in range(6)]
    return {
        "agent_id": "agent_big",
        "name": "Big agent",
        "tags": ["demo", "long"],
        "conversation_config": {
            "tts": {"voice_id": "cjVigY5qzO86Huf0OWal", "model_id": "eleven_flash_v2"},
            "agent": {
                "first_message": "Hi {{customer_name}}, calling about {{ order_id }}?",
                "language": "en",
                "prompt": {
                    "prompt": LONG_PROMPT,
                    "llm": "gemini-2.0-flash",
                    "temperature": 0.3,
                    "tool_ids": [t["id"] for t in tools],
                    "tools": tools,  # also inline: named once
                    "built_in_tools": {"end_call": {"name": "end_call"}, "skip_turn": None},
                    "knowledge_base": [
                        {"type": "file", "name": "Returns policy", "id": "doc_1"},
                        {"type": "url", "name": "Shipping FAQ", "id": "doc_2"},
                    ],
                },
            },
        },
        "platform_settings": {"testing": {"attached_tests": [{"test_id": "test_a"}]}},
    }


def workspace_tools() -> list[dict[str, Any]]:
    return [
        {"id": f"tool_{i:028d}", "tool_config": {"name": f"tool_{i}", "type": "webhook"}}
        for i in range(6)
    ]


def size_of(o: view.AgentOverview) -> int:
    text = view.overview_text(o)
    structured = json.dumps(o.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False)
    return len(text.encode()) + len(structured.encode())


def test_overview_of_a_13_kb_prompt_stays_small_and_names_the_rest() -> None:
    doc = big_agent()
    assert len(LONG_PROMPT) > 12_000
    o = view.overview("agent_big", doc, view.workspace_tool_names(workspace_tools()))
    assert size_of(o) <= 2_500, size_of(o)
    assert LONG_PROMPT.startswith(o.prompt_excerpt.rstrip("…"))
    assert o.prompt_chars == len(LONG_PROMPT)
    assert o.more == 'get_agent(agent_id="agent_big", section="prompt", page=1)'
    assert [t.name for t in o.tools] == [f"tool_{i}" for i in range(6)] + ["end_call"]
    assert o.tools[0].id == "tool_" + "0" * 28
    assert [d.name for d in o.knowledge_base] == ["Returns policy", "Shipping FAQ"]
    assert o.dynamic_variables == ["customer_name", "order_id"]
    assert o.tests == ["test_a"]
    assert (o.llm, o.temperature, o.language) == ("gemini-2.0-flash", 0.3, "en")
    text = view.overview_text(o)
    assert "Tools: tool_0 (tool_" in text and o.more in text and "Variables used" in text


def test_an_unknown_tool_id_is_shown_as_unknown_with_its_id() -> None:
    doc = big_agent()
    o = view.overview("agent_big", doc, {})  # the workspace has none of them
    assert o.tools[0].id == "tool_" + "0" * 28
    assert "unknown" in o.tools[0].name


def test_prompt_pages_rebuild_the_prompt_and_name_the_next_call() -> None:
    pages = []
    page = 1
    while True:
        part = view.section_page("agent_big", "prompt", LONG_PROMPT, page, view.PROMPT_PAGE)
        pages.append(part.text)
        if part.next is None:
            break
        assert part.next == f'get_agent(agent_id="agent_big", section="prompt", page={page + 1})'
        page += 1
    assert "".join(pages) == LONG_PROMPT and len(pages) == part.pages == 4
    with pytest.raises(ValueError, match="has 4 page"):
        view.section_page("agent_big", "prompt", LONG_PROMPT, 5, view.PROMPT_PAGE)


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"conversation_config": None, "tags": "x", "name": 3},
        {"conversation_config": {"agent": {"prompt": {"tools": [1, None, {"name": 2}]}}}},
        {"conversation_config": {"agent": {"prompt": {"temperature": True, "tool_ids": "x"}}}},
    ],
)
def test_overview_tolerates_any_shape(doc: dict[str, Any]) -> None:
    o = view.overview("agent_x", doc)
    assert o.prompt_chars == 0 and o.more is None and o.tools == []
    assert view.overview_text(o).startswith("Agent agent_x")


def test_placeholders_in_order_without_duplicates() -> None:
    assert view.placeholders("{{a}} {{ b }} {a} {{a}}", None, "{{c.d}}") == ["a", "b", "c.d"]


# --- changes -----------------------------------------------------------------------------------


def test_field_changes_show_old_and_new_and_a_prompt_diff() -> None:
    doc = big_agent()
    new_prompt = LONG_PROMPT.replace("Rule 7:", "Rule seven:")
    body = {
        "name": "Big agent",  # unchanged: left out
        "conversation_config": {
            "agent": {"prompt": {"prompt": new_prompt, "temperature": 0.7, "llm": "gpt-4o"}}
        },
        "tags": ["x"],
    }
    found = diff.field_changes(body, doc)
    assert [c.path for c in found] == [
        "conversation_config.agent.prompt.prompt",
        "conversation_config.agent.prompt.temperature",
        "conversation_config.agent.prompt.llm",
        "tags",
    ]
    shown = diff.render(found)
    assert "conversation_config.agent.prompt.temperature: 0.3 -> 0.7" in shown
    assert 'conversation_config.agent.prompt.llm: "gemini-2.0-flash" -> "gpt-4o"' in shown
    assert 'tags: ["demo","long"] -> ["x"]' in shown
    assert "-Rule 7: when" in shown and "+Rule seven: when" in shown
    assert len(shown) < 1_500  # the 13 KB prompt is not repeated


def test_a_long_text_diff_is_clipped_but_shows_the_new_text() -> None:
    shown = diff.text_diff("\n".join(map(str, range(300))), "x", name="prompt", max_lines=10)
    lines = shown.splitlines()
    assert lines[:3] == ["--- prompt (now)", "+++ prompt (new)", "@@ -1,300 +1 @@"]
    assert lines[3:8] == ["-0", "-1", "-2", "-3", "-4"]
    assert lines[8:] == ["… 295 more lines", "+x"]


def test_a_field_the_agent_lacks_is_shown_as_not_set() -> None:
    found = diff.field_changes({"conversation_config": {"agent": {"language": "de"}}}, {})
    assert diff.render(found) == 'conversation_config.agent.language: (not set) -> "de"'


def test_mismatches_accept_defaults_the_api_fills_in() -> None:
    body = {"conversation_config": {"agent": {"prompt": {"tools": [{"name": "a"}]}}}}
    stored = {"conversation_config": {"agent": {"prompt": {"tools": [{"name": "a", "x": 1}]}}}}
    assert diff.mismatches(body, stored) == []
    assert diff.mismatches({"name": "n"}, {"name": "m"}) == ["name"]
    assert diff.mismatches({"conversation_config": {"agent": {"language": "de"}}}, {}) == [
        "conversation_config.agent.language"
    ]


# --- strict validation -------------------------------------------------------------------------


def test_changes_are_validated_strictly_naming_the_field() -> None:
    with pytest.raises(RequestValidationError) as caught:
        validate_changes({"conversation_config": {"agent": {"prompt": {"temprature": 0.2}}}})
    (error,) = caught.value.errors
    assert error.location == "changes.conversation_config.agent.prompt.temprature"
    assert "did you mean temperature" in error.reason

    with pytest.raises(RequestValidationError) as caught:
        validate_changes({"conversation_config": {"agent": {"prompt": {"temperature": "hot"}}}})
    assert caught.value.errors[0].location == "changes.conversation_config.agent.prompt.temperature"

    with pytest.raises(RequestValidationError, match="changes is empty"):
        validate_changes({})


def test_valid_changes_keep_only_the_fields_given() -> None:
    body = validate_changes(
        {"name": "New", "conversation_config": {"agent": {"prompt": {"temperature": 0.2}}}}
    )
    assert body == {
        "name": "New",
        "conversation_config": {"agent": {"prompt": {"temperature": 0.2}}},
    }


def test_every_demo_agent_config_but_legacy_fields_validates() -> None:
    """The generated models accept what the demo agents hold (the SDK shapes are complete)."""

    for path in sorted((REPO / "config" / "agents").glob("*.json")):
        doc = json.loads(path.read_text())
        config = doc["conversation_config"]
        config.get("turn", {}).pop("mode", None)  # an older field the API no longer takes
        validate_changes({"conversation_config": config, "name": doc["name"]})


# --- any input ---------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=25,
)
_keys = st.sampled_from(
    ["conversation_config", "platform_settings", "name", "tags", "agent", "prompt", "tts", "x"]
)
_config = st.recursive(
    _json, lambda inner: st.dictionaries(_keys, inner, max_size=4), max_leaves=30
)


@settings(max_examples=50, deadline=None)
@given(changes=st.dictionaries(_keys, _config, max_size=4), doc=st.dictionaries(_keys, _config))
def test_any_changes_validate_or_name_fields_and_any_doc_renders(changes, doc) -> None:
    try:
        body = validate_changes(changes)
    except RequestValidationError as exc:
        assert exc.errors or "empty" in exc.message
        assert all(e.location.startswith("changes") for e in exc.errors)
    else:
        diff.render(diff.field_changes(body, doc))
        diff.mismatches(body, doc)
    o = view.overview("agent_x", doc)
    assert size_of(o) < 4_000
    view.section_page("agent_x", "full", view.full_text(doc), 1, view.FULL_PAGE)
