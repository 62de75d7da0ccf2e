"""The pure analysis of test runs: pass rates, flaky, conditions, deltas, divergence, triage."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agents_mcp.api import compact_invocation
from agents_mcp.api.compact_invocation import PACKED
from agents_mcp.testing import analysis, views
from agents_mcp.testing.analysis import TestSpec
from agents_mcp.testing.record import BaselineSide, StoredTest, TestRunRecord
from tests.support.testing_data import invocation, refund_runs, run, tool_turn, turn

REFUND = TestSpec("refund", "t_refund", ("Agent offers a refund", "Agent apologises"))


def test_pass_rate_flaky_and_conditions() -> None:
    s = analysis.summarize_test(REFUND, refund_runs("t_refund", "pfp"))
    assert (s["passed"], s["total"], s["rate"], s["flaky"]) == (2, 3, "2/3", True)
    assert s["conditions"] == [
        {"text": "Agent offers a refund", "held": 2, "total": 3},
        {"text": "Agent apologises", "held": 3, "total": 3},
    ]
    assert s["failures"] == [
        {
            "run": 2,
            "condition": "Agent offers a refund",
            "reason": "The agent did not offer a refund.",
        }
    ]
    assert s["change"] is None and s["delta"] is None


def test_all_pass_is_not_flaky_and_has_no_divergence() -> None:
    s = analysis.summarize_test(REFUND, refund_runs("t_refund", "ppp"))
    assert s["flaky"] is False and s["divergence"] is None and s["failures"] == []
    assert s["triage"] == []


def test_divergence_names_first_differing_turn_and_both_runs() -> None:
    s = analysis.summarize_test(REFUND, refund_runs("t_refund", "fp"))
    d = s["divergence"]
    assert d is not None
    assert (d["turn"], d["passing_run"], d["failing_run"]) == (3, 2, 1)
    assert d["passing"] == {"role": "agent", "message": "I am sorry, I will refund you right away."}
    assert d["failing"] is not None and "not possible" in d["failing"]["message"]


def test_divergence_when_one_run_ended_earlier() -> None:
    runs = [
        run("t", "passed", turns=[turn("agent", "Hi"), turn("user", "x")]),
        run("t", "failed", turns=[turn("agent", "Hi")]),
    ]
    d = analysis.divergence(runs)
    assert d is not None and d["turn"] == 2 and d["failing"] is None


def test_delta_against_baseline_and_regressions_first() -> None:
    base = analysis.baseline_rate(refund_runs("x", "ppp"))
    s = analysis.summarize_test(REFUND, refund_runs("t_refund", "pff"), base)
    assert (s["delta"], s["change"]) == ("3/3 → 1/3", "regressed")
    better = analysis.summarize_test(REFUND, refund_runs("t", "ppp"), analysis.baseline_rate([]))
    assert better["change"] == "new"
    same = analysis.summarize_test(
        REFUND, refund_runs("t", "pf"), analysis.baseline_rate(refund_runs("x", "fp"))
    )
    assert same["change"] == "same"
    assert analysis.summarize_test(REFUND, [], None, has_baseline=True)["change"] == "new"


def test_triage_tells_test_faults_from_agent_faults() -> None:
    spec = TestSpec("lookup", "t_l", ("Agent finds the order",), max_turns=4)
    runs = [
        run(
            "t_l",
            "failed",
            messages=["The agent could not find the order."],
            turns=[
                turn("agent", "Hi"),
                tool_turn(
                    "lookup_order", "Error: no mock matched for these parameters", is_error=True
                ),
                turn("agent", "Sorry"),
            ],
        ),
        run(
            "t_l",
            "failed",
            messages=["The agent never confirmed."],
            summary="The simulation reached its turn limit (simulation_max_turns=4).",
            turns=[tool_turn("book", "500 internal", is_error=True)]
            + [turn("agent", f"a{i}") for i in range(4)],
        ),
        run("t_l", "failed", messages=["not met"], turns=[turn("agent", "Hi")]),
    ]
    hints = analysis.triage(runs, spec)
    kinds = [(h["kind"], h["hint"]) for h in hints]
    assert ("test", "run 1: no mock matched for lookup_order (turn 2)") in kinds
    assert ("test", "run 2: hit the turn limit (4): raise max_turns") in kinds
    assert any(k == "agent" and h.startswith("run 2: book failed (turn 1)") for k, h in kinds)
    assert [k for k, _ in kinds] == ["test", "test", "agent", "agent"]  # test faults first
    # run 1 is explained by the mock, run 2 by the turn limit; run 3 is the agent's own doing
    assert kinds[-1] == ("agent", "run 3 failed with no test-side cause")


def test_the_same_hint_in_several_runs_is_one_line() -> None:
    spec = TestSpec("t", "t", ("c",), max_turns=2)
    runs = [
        run("t", "failed", messages=["not met"], summary="Hit the turn limit.", n=i)
        for i in range(3)
    ]
    assert analysis.triage(runs, spec) == [
        {"kind": "test", "hint": "runs 1,2,3: hit the turn limit (2): raise max_turns"}
    ]


def test_run_without_conversation_is_a_test_fault() -> None:
    r = run("t", "failed", messages=["x"], turns=[])
    assert analysis.run_hints(r, TestSpec("t", "t"))[0]["kind"] == "test"


def test_failure_reading() -> None:
    assert analysis.reads_as_failure("FAIL: the agent never greeted")
    assert analysis.reads_as_failure("The agent did not confirm the date")
    assert not analysis.reads_as_failure("Passed: the agent did not reveal secrets")
    assert not analysis.reads_as_failure("The agent confirmed the date.")


def test_failed_run_with_no_readable_failure_is_reported_as_a_whole() -> None:
    r = run("t", "failed", messages=["Greeting ok.", "Date ok."], summary="Overall not good")
    s = analysis.summarize_test(TestSpec("t", "t", ("a", "b")), [r])
    assert s["conditions"] == [
        {"text": "a", "held": 0, "total": 0},
        {"text": "b", "held": 0, "total": 0},
    ]
    assert s["failures"] == [{"run": 1, "condition": None, "reason": "Overall not good"}]


def test_conditions_unknown_on_our_side_are_numbered() -> None:
    s = analysis.summarize_test(TestSpec("t", "t"), refund_runs("t", "pf"))
    assert [c["text"] for c in s["conditions"]] == ["condition 1", "condition 2"]


@given(st.lists(st.sampled_from(["passed", "failed", "pending", "cancelled"]), max_size=12))
def test_counts_add_up(statuses: list[str]) -> None:
    runs = [run("t", s, n=i) for i, s in enumerate(statuses)]
    s = analysis.summarize_test(TestSpec("t", "t", ("c",)), runs)
    assert s["passed"] + len(s["failures"]) == s["total"]
    assert s["total"] == statuses.count("passed") + statuses.count("failed")
    assert s["flaky"] == ("passed" in statuses and "failed" in statuses)
    assert s.get("pending", 0) == statuses.count("pending")
    c = analysis.count_runs(runs)
    assert c["done"] == len(statuses) - statuses.count("pending")


# --- the summary view -----------------------------------------------------------------------------


def _record(pattern: dict[str, str], baseline: dict[str, str] | None = None) -> TestRunRecord:
    tests = [
        StoredTest(
            name=f"{name} " + "with a long descriptive name " * 2,
            test_id=f"t_{name}",
            conditions=["Agent offers a refund " * 4, "Agent apologises " * 5],
        )
        for name in pattern
    ]
    runs = [r for name, p in pattern.items() for r in refund_runs(f"t_{name}", p)]
    side = None
    if baseline is not None:
        base_runs = [r for name, p in baseline.items() for r in refund_runs(f"t_{name}", p)]
        side = BaselineSide(source="live", agent_id="agent_a", invocation=invocation(base_runs))
    return TestRunRecord(
        run_id="run_0123456789abcdef",
        agent_id="agent_a",
        repeat=3,
        tests=tests,
        status="done",
        invocation=invocation(runs),
        baseline=side,
    )


def test_summary_of_three_tests_three_repeats_fits_3000_bytes() -> None:
    record = _record(
        {"a": "pfp", "b": "fff", "c": "ppp"}, baseline={"a": "ppp", "b": "fpf", "c": "ppp"}
    )
    view = views.summary_view(record)
    assert view.size() <= 3_000, view.size()
    p = view.structured
    assert p["regressions"] == [t["name"] for t in p["tests"][:2]]  # both fell, listed first
    assert p["runs"] == {"total": 9, "done": 9, "passed": 5, "failed": 4, "cancelled": 0}
    assert p["credits_used"] == 180  # 9 runs + 9 baseline runs, 10 each
    assert p["baseline"] == {
        "source": "live",
        "run_id": None,
        "agent_id": "agent_a",
        "branch_id": None,
    }
    assert "REGRESSED" in view.text and "3/3 → 2/3" in view.text
    json.dumps(p)  # JSON-ready


def test_running_summary_names_the_next_call() -> None:
    record = _record({"a": "p"})
    record.status = "running"
    record.invocation = invocation([run("t_a", "pending")])
    view = views.summary_view(record)
    assert (
        view.structured["next_call"]
        == "get_test_results(run_id='run_0123456789abcdef', wait_seconds=45)"
    )
    assert view.structured["tests"][0]["pending"] == 1


def test_runs_and_transcript_views_page() -> None:
    record = _record({"a": "pf", "b": "p"})
    runs = views.runs_view(record)
    assert [r["status"] for r in runs.structured["runs"]] == ["passed", "failed", "passed"]
    t = views.transcript_view(record, test=record.tests[0].name)
    assert {item["run"] for item in t.structured["turns"]} == {1, 2}
    try:
        views.transcript_view(record)
    except views.PageError as exc:
        assert "test=" in str(exc)
    else:
        raise AssertionError("a transcript of two tests needs test=")


def _compact(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """The invocation as the runner holds it: decoded from its JSON, transcripts packed."""
    return None if doc is None else compact_invocation.decode(json.dumps(doc).encode())


def test_every_view_is_the_same_from_the_compact_form() -> None:
    lookup = [
        turn("agent", "Hi"),
        tool_turn("lookup_order", "Error: no mock matched for these parameters", is_error=True),
        tool_turn("book", "500 internal", is_error=True),
    ]
    full = _record({"a": "pfp", "b": "fp"}, baseline={"a": "ppf", "b": "pp"})
    assert full.invocation is not None and full.baseline is not None
    full.invocation["test_runs"].append(
        run("t_b", "failed", messages=["not met"], turns=lookup, n=7)
    )
    full.invocation["test_runs"].append(run("t_b", "failed", messages=["x"], turns=[], n=8))
    small = copy.deepcopy(full)
    small.invocation = _compact(full.invocation)
    assert small.baseline is not None
    small.baseline.invocation = _compact(full.baseline.invocation)
    packed = [r for r in small.invocation["test_runs"] if PACKED in r]  # type: ignore[index]
    assert packed and all("agent_responses" not in r for r in packed)
    for detail, test in (("summary", None), ("runs", None), ("transcript", full.tests[1].name)):
        a, b = views.render(full, detail, test), views.render(small, detail, test)
        assert (a.structured, a.text) == (b.structured, b.text)
    assert any(
        "no mock matched" in h["hint"] for t in views.payload(small)["tests"] for h in t["triage"]
    )
    # the resource gives the API's shape back
    assert json.loads(small.full_json())["invocation"] == full.invocation
    assert json.loads(small.full_json())["baseline"]["invocation"] == full.baseline.invocation
