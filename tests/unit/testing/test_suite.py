"""Suite files, scenario -> test body, overrides merged onto the stored config, JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents_mcp.testing import agent_config
from agents_mcp.testing import payload as shapes
from agents_mcp.testing.junit import junit_xml, meets
from agents_mcp.testing.suite import SuiteError, load_suite, parse_suite, scenario_body
from tests.support.paths import REPO

SCENARIO = {
    "name": "refund",
    "user_prompt": "You want a refund for order 1234.",
    "criteria": ["The agent looks up the order", {"id": "polite", "goal": "The agent is polite"}],
    "max_turns": 8,
    "tool_mocks": {"lookup_order": {"return": {"status": "shipped"}, "is_error": False}},
    "dynamic_variables": {"customer_name": "Sam"},
    "first_message": "Hi, I need a refund.",
}


def problems(data: Any, source: str | None = "suite.yaml") -> str:
    with pytest.raises(SuiteError) as caught:
        parse_suite(data, source)
    return str(caught.value)


def test_the_example_suite_loads() -> None:
    suite = load_suite(REPO / "config/suites/example.yaml")
    assert suite.agent_id == "agent_demo_support" and suite.repeat == 3
    assert [t.name for t in suite.tests] == ["refund for a damaged order", "late delivery"]
    assert suite.tests[0].conditions[0] == "The agent looks up the order before discussing it"


def test_a_test_is_an_id_or_a_scenario(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps({"agent_id": "a", "tests": ["test_1", {"test_id": "test_2"}, SCENARIO]})
    )
    suite = load_suite(path)
    assert suite.repeat == 1
    assert [(t.name, t.test_id) for t in suite.tests] == [
        ("test_1", "test_1"),
        ("test_2", "test_2"),
        ("refund", None),
    ]
    assert suite.tests[2].conditions == ["The agent looks up the order", "The agent is polite"]


def test_errors_name_the_file_the_test_and_the_field() -> None:
    text = problems({"tests": [SCENARIO, {"name": "second", "user_prompt": "x", "max_turns": 0}]})
    assert text.startswith("suite.yaml: tests[1] 'second'.max_turns:")
    assert "Nothing was sent" in text
    text = problems({"tests": [{**SCENARIO, "criteria": [{"goal": ""}]}]})
    assert "tests[0] 'refund'.criteria[0]: the goal is empty" in text
    text = problems({"tests": [{**SCENARIO, "tool_mocks": {"t": {"returns": 1}}}]})
    assert "tests[0] 'refund'.tool_mocks.t: unknown key 'returns'" in text
    assert "tests[1] 'refund': the same name as tests[0]" in problems(
        {"tests": [SCENARIO, SCENARIO]}
    )
    assert "repeat" in problems({"repeat": 51, "tests": [SCENARIO]})
    assert "tests" in problems({"tests": []})
    assert "test_id" in problems({"tests": [{"test_id": "../x"}]})
    assert "an object" in problems([1, 2])


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="cannot read it"):
        load_suite(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(SuiteError, match=r"bad.json: line 1: not valid JSON"):
        load_suite(bad)


def test_scenario_body_maps_the_simulate_fields_and_resolves_tool_ids() -> None:
    suite = parse_suite({"tests": [SCENARIO]})
    body = scenario_body(suite.tests[0], "refund (run_x)", {"lookup_order": "tool_1"})
    assert body["type"] == "simulation" and body["name"] == "refund (run_x)"
    assert body["simulation_scenario"] == SCENARIO["user_prompt"]
    assert body["success_conditions"] == ["The agent looks up the order", "The agent is polite"]
    assert body["simulation_max_turns"] == 8
    assert body["dynamic_variables"] == {"customer_name": "Sam"}
    assert body["chat_history"][0]["message"] == "Hi, I need a refund."
    assert body["tool_mock_config"]["mocked_tool_ids"] == ["tool_1"]
    assert json.loads(body["tool_mock_overrides"]["tool_1"][0]["mock_result"]) == {
        "status": "shipped"
    }
    with pytest.raises(SuiteError, match=r"'refund'.tool_mocks.lookup_order: the agent has no"):
        scenario_body(suite.tests[0], "refund", {"other": "tool_2"})


def test_override_is_merged_onto_the_stored_config() -> None:
    stored = {
        "name": "A",
        "conversation_config": {
            "agent": {"prompt": {"prompt": "old", "llm": "gpt"}, "language": "en"}
        },
        "platform_settings": {
            "testing": {"attached_tests": [{"test_id": "t1"}, {"test_id": "t1"}]}
        },
    }
    partial = {"conversation_config": {"agent": {"prompt": {"prompt": "new"}}}}
    full = agent_config.override_config(stored, partial)
    assert full["conversation_config"]["agent"] == {
        "prompt": {"prompt": "new", "llm": "gpt"},
        "language": "en",
    }
    assert full["platform_settings"] == stored["platform_settings"]
    assert stored["conversation_config"]["agent"]["prompt"]["prompt"] == "old"  # not mutated
    assert agent_config.attached_test_ids(stored) == ["t1"]
    with pytest.raises(agent_config.OverrideError, match=r"unknown key\(s\) \['name'\]"):
        agent_config.check_override({"name": "x"})
    with pytest.raises(agent_config.OverrideError, match="platform_settings: must be an object"):
        agent_config.check_override({"platform_settings": []})


json_values = st.recursive(
    st.none() | st.integers() | st.text(max_size=5) | st.lists(st.integers(), max_size=2),
    lambda inner: st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=10,
)


@given(
    st.dictionaries(st.text(max_size=3), json_values, max_size=4),
    st.dictionaries(st.text(max_size=3), json_values, max_size=4),
)
def test_deep_merge_keeps_every_key_and_lets_the_override_win(
    base: dict[str, Any], extra: dict[str, Any]
) -> None:
    merged = agent_config.deep_merge(base, extra)
    assert set(merged) == set(base) | set(extra)
    for key, value in extra.items():
        if not isinstance(value, dict):
            assert merged[key] == value
    assert agent_config.deep_merge(merged, extra) == merged  # merging twice changes nothing


def _summary(name: str, passed: int, total: int) -> shapes.TestSummary:
    failure = {"run": 1, "condition": "Agent offers a refund", "reason": "No <refund> & no apology"}
    return shapes.TestSummary(
        name=name, test_id="t", passed=passed, total=total, rate=f"{passed}/{total}",
        flaky=0 < passed < total,
        conditions=[{"text": "Agent offers a refund", "held": passed, "total": total}],
        failures=[failure] if passed < total else [],  # type: ignore[list-item]
        baseline=None, delta=None, change=None, divergence=None,
        triage=[{"kind": "test", "hint": "run 1: no mock matched for lookup_order (turn 3)"}],
    )  # fmt: skip


def test_junit_has_one_testcase_per_test_and_a_failure_below_the_rate() -> None:
    payload = shapes.TestRunPayload(
        run_id="run_1", status="done", agent_id="agent_a", branch_id=None, repeat=3,
        runs={"total": 9, "done": 9, "passed": 6, "failed": 3, "cancelled": 0},
        credits_used=12, baseline=None, regressions=[], next_call=None,
        tests=[_summary("ok", 3, 3), _summary("flaky", 2, 3), _summary("none", 0, 0)],
    )  # fmt: skip
    root = ET.fromstring(junit_xml(payload, 1.0))
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "1", "1")
    cases = {c.get("name"): c for c in root.findall("testcase")}
    failure = cases["flaky"].find("failure")
    assert failure is not None and failure.get("message") == "pass rate 2/3 below 1"
    assert "No <refund> & no apology" in (failure.text or "")  # escaped and read back
    assert "no mock matched" in (failure.text or "")
    assert cases["none"].find("skipped") is not None
    relaxed = ET.fromstring(junit_xml(payload, 0.6))
    assert relaxed.get("failures") == "0"
    assert meets(_summary("x", 2, 3), 2 / 3) and not meets(_summary("x", 0, 0), 0.0)
