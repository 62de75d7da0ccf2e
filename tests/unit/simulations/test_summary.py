"""The summarizer (pure functions) on the official example payloads and on edge cases."""

from __future__ import annotations

import copy
import json

import pytest

from agents_mcp.simulations.record import SimulationRecord
from agents_mcp.simulations.summary import (
    MAX_TOOL_ERRORS,
    SUMMARY_BUDGET,
    PageError,
    View,
    clip,
    compact_json,
    progress_message,
    summarize,
)
from agents_mcp.simulations.views import (
    FULL_PAGE_CHARS,
    TRANSCRIPT_PAGE_BYTES,
    full_page,
    render,
    transcript_page,
)
from tests.support.paths import DATA

SID = "sim_0123456789abcdef"


def example_turns() -> list[dict]:
    return json.loads((DATA / "docs_example_conversation_history.json").read_text())


def example_analysis() -> dict:
    return json.loads((DATA / "docs_example_analysis.json").read_text())["analysis"]


def record(turns=None, analysis=None, status="done", **kw) -> SimulationRecord:
    return SimulationRecord(
        simulation_id=SID,
        agent_id="agent_demo_support",
        request=kw.pop("request", {}),
        created_at=0.0,
        status=status,
        turns=example_turns() if turns is None else turns,
        analysis=example_analysis() if analysis is None and status == "done" else analysis,
        **kw,
    )


def failed_tool_turns() -> list[dict]:
    """The example, with its tool call failing."""
    turns = example_turns()
    turns[4]["tool_results"][0].update(is_error=True, result_value="Docs service unavailable")
    return turns


# --- summary -------------------------------------------------------------------------------------


def test_summary_of_docs_example_has_every_criterion_data_and_counts() -> None:
    view = summarize(record())
    s = view.structured
    assert s["simulation_id"] == SID and s["status"] == "done" and s["outcome"] == "success"
    ids = {c["id"]: c["result"] for c in s["criteria"]}
    assert ids == {
        "politeness_check": "success",
        "understood_root_cause": "success",
        "positive_interaction": "success",
    }
    for cid in ids:
        assert cid in view.text
    assert s["data"]["issue_type"] == "support_issue"
    assert s["turns"] == {"total": 6, "user": 2, "agent": 4}
    assert s["tools"] == {"calls": 1, "failed": 0}
    assert "Summary: The user expressed skepticism" in view.text
    for cid, why in [
        ("politeness_check", "The agent remained polite and helpful"),
        ("understood_root_cause", "The agent acknowledged the user's hesitation"),
    ]:
        assert f"- ok {cid} — {why}" in view.text
    nxt = 'get_simulation(simulation_id="sim_0123456789abcdef", detail="transcript")'
    assert f"Every turn: {nxt}" in view.text
    assert "next" not in s  # a finished simulation is named by its id; the text says the call
    assert view.size() <= SUMMARY_BUDGET
    # the text is a rendering, not the JSON again
    assert "{" not in view.text.split("\n")[0]
    assert compact_json(s) not in view.text


def test_failures_come_first_with_their_rationale() -> None:
    analysis = example_analysis()
    analysis["evaluation_criteria_results"]["understood_root_cause"].update(
        result="failure", rationale="The agent never asked why the user hesitated."
    )
    analysis["evaluation_criteria_results"]["positive_interaction"]["result"] = "unknown"
    analysis["call_successful"] = "failure"
    view = summarize(record(analysis=analysis))
    crits = view.structured["criteria"]
    assert [c["result"] for c in crits] == ["failure", "unknown", "success"]
    assert crits[0]["id"] == "understood_root_cause"
    assert "FAILURE understood_root_cause — The agent never asked why" in view.text
    assert view.structured["outcome"] == "failure"


def test_failed_tool_call_is_listed_with_turn_tool_and_error() -> None:
    view = summarize(record(turns=failed_tool_turns()))
    tools = view.structured["tools"]
    assert tools["calls"] == 1 and tools["failed"] == 1
    assert tools["errors"] == [{"turn": 4, "tool": "redirectToDocs"}]
    assert '- turn 4 redirectToDocs({"path": "/docs/api-reference/introduc' in view.text
    assert "): Docs service unavailable" in view.text
    # with room to spare, key turns: the opening, what was said just before the failure, the end
    roomy = summarize(record(turns=failed_tool_turns()), budget=10_000)
    key = roomy.text.split("Key turns:\n")[1].splitlines()
    assert [line.split(" ")[1] for line in key[:3]] == ["#0", "#2", "#5"]
    assert key[0].startswith("- #0 user: Maybe a little.") and key[3].startswith("Every turn: ")


def test_many_tool_failures_are_capped_and_counted() -> None:
    turns = []
    for i in range(60):
        turns.append(
            {
                "role": "agent",
                "message": None,
                "time_in_call_secs": 0,
                "tool_calls": [
                    {"request_id": f"r{i}", "tool_name": "lookup", "params_as_json": "{}"}
                ],
            }
        )
        turns.append(
            {
                "role": "agent",
                "time_in_call_secs": 0,
                "tool_results": [
                    {
                        "request_id": f"r{i}",
                        "tool_name": "lookup",
                        "result_value": "boom " * 40,
                        "is_error": True,
                    }
                ],
            }
        )
    view = summarize(record(turns=turns))
    tools = view.structured["tools"]
    assert tools["calls"] == 60 and tools["failed"] == 60
    assert len(tools["errors"]) == MAX_TOOL_ERRORS
    assert tools["more_errors"] == 60 - MAX_TOOL_ERRORS
    listed = [line for line in view.text.splitlines() if line.startswith("- turn ")]
    assert len(listed) == MAX_TOOL_ERRORS and all(": boom boom" in line for line in listed)
    assert f"- and {60 - MAX_TOOL_ERRORS} more (see the transcript)" in view.text
    assert view.size() < 3_000


def twenty_turn_record() -> SimulationRecord:
    """29 entries like a streamed 20-turn run: five criteria with sentence-long rationales, four
    data items, a failed tool call, a long summary (the sandbox's 20-turn scenario has the same)."""
    turns = (failed_tool_turns() + [copy.deepcopy(t) for t in example_turns() * 4])[:29]
    analysis = example_analysis()
    analysis["transcript_summary"] = "A caller asked for a refund of damaged boots. " * 8
    analysis["evaluation_criteria_results"] = {
        f"criterion_{n}_of_five": {
            "criteria_id": f"criterion_{n}_of_five",
            "result": "failure" if n < 2 else "success",
            "rationale": f"Reason {n}: the agent did what the goal asks, as turn {n} shows. " * 2,
        }
        for n in range(5)
    }
    analysis["data_collection_results"] = {
        key: {"data_collection_id": key, "value": value}
        for key, value in [
            ("order_id", "NW-26125"),
            ("issue_type", "refund"),
            ("customer_sentiment", "neutral"),
            ("refund_issued", True),
        ]
    }
    return record(turns=turns, analysis=analysis)


def test_twenty_turns_fit_the_budget_with_every_reason_and_failed_call() -> None:
    view = summarize(record := twenty_turn_record())
    assert view.size() <= SUMMARY_BUDGET == 1_500
    lines = view.text.splitlines()
    for n in range(5):
        mark = "FAILURE" if n < 2 else "ok"
        (line,) = [x for x in lines if x.startswith(f"- {mark} criterion_{n}_of_five — ")]
        assert f"Reason {n}: the agent did what the goal asks" in line  # a reason, not a stub
    failed = [x for x in lines if x.startswith("- turn ")]
    assert failed == ["- turn 4 redirectToDocs: Docs service unavailable"]
    assert view.text.endswith(
        f'Every turn: get_simulation(simulation_id="{record.simulation_id}", detail="transcript")'
    )
    assert view.structured["data"]["refund_issued"] is True


def test_structured_content_keeps_machine_fields_and_no_prose_twice() -> None:
    rec = twenty_turn_record()
    rec.upstream["notes"] = ["Guessed verdicts: read from the rationale wording."]
    rec.upstream["credits_used"] = 292
    view = summarize(rec, budget=10_000)  # everything in: the split, not the clipping, is tested
    s = view.structured
    assert set(s) == {
        "simulation_id", "status", "agent_id", "backend", "outcome", "criteria", "data",
        "turns", "tools", "credits_used",
    }  # fmt: skip
    assert all(set(c) == {"id", "result"} for c in s["criteria"])
    assert all(set(e) == {"turn", "tool"} for e in s["tools"]["errors"])
    structured = compact_json(s)
    for prose in ("Reason 0", "A caller asked", "Docs service", "Guessed verdicts", "Maybe a"):
        assert prose in view.text and prose not in structured
    assert "Cost: 292 credits" in view.text  # the cost the model can report
    failed = summarize(record(turns=[], status="failed", error="The stream broke."))
    assert "error" not in failed.structured and "Error: The stream broke." in failed.text


def test_requested_criterion_without_result_is_reported() -> None:
    req = {
        "extra_evaluation_criteria": [
            {"id": "asks_name", "name": "n", "conversation_goal_prompt": "g"}
        ]
    }
    view = summarize(record(request=req))
    assert {"id": "asks_name", "result": "not evaluated"} in view.structured["criteria"]
    assert "- NOT EVALUATED asks_name" in view.text


def test_long_texts_are_clipped_to_the_budget() -> None:
    analysis = example_analysis()
    analysis["transcript_summary"] = "word " * 2000
    for res in analysis["evaluation_criteria_results"].values():
        res["rationale"] = "because " * 500
    turns = [dict(t, message=("long " * 500) if t["message"] else None) for t in example_turns()]
    view = summarize(record(turns=turns, analysis=analysis))
    assert view.size() <= SUMMARY_BUDGET
    assert len(view.structured["criteria"]) == 3  # nothing dropped, only clipped
    for c in view.structured["criteria"]:  # each still with a reason
        assert f"- ok {c['id']} — because because" in view.text
    (said,) = [line for line in view.text.splitlines() if line.startswith("Summary: ")]
    assert said.endswith("…") and len(said) < 600


def test_llm_usage_is_summed() -> None:
    turns = example_turns()
    usage = {
        "model_usage": {
            "gpt-4o": {
                "input": {"tokens": 100, "price": 0.001},
                "output_total": {"tokens": 20, "price": 0.002},
            }
        }
    }
    turns[1]["llm_usage"] = usage
    turns[5]["llm_usage"] = usage
    view = summarize(record(turns=turns))
    assert view.structured["llm"] == {"tokens": 240, "cost": 0.006}
    assert "240 LLM tokens, $0.0060" in view.text


def test_running_simulation_says_how_to_keep_waiting() -> None:
    view = summarize(record(turns=example_turns()[:3], status="running"))
    s = view.structured
    assert s["status"] == "running" and "outcome" not in s
    assert s["next"] == 'get_simulation(simulation_id="sim_0123456789abcdef", wait_seconds=45)'
    assert "3 turns" in view.text and "so far" in view.text


def test_failed_simulation_shows_error_and_partial_turns() -> None:
    view = summarize(
        record(turns=example_turns()[:2], status="failed", error="The stream broke after 2 frames.")
    )
    s = view.structured
    assert s["status"] == "failed" and "error" not in s  # the error is prose: the text's
    assert s["turns"]["total"] == 2
    assert "Error: The stream broke after 2 frames. Partial transcript kept (2 turns)." in view.text
    assert (
        'Every turn: get_simulation(simulation_id="sim_0123456789abcdef", detail="transcript")'
        in view.text
    )


def test_tolerates_unexpected_shapes() -> None:
    turns = [{"message": "no role"}, {"role": "agent", "tool_results": "not a list"}]
    analysis = {"evaluation_criteria_results": "nonsense"}
    view = summarize(record(turns=turns, analysis=analysis))
    assert view.structured["turns"]["total"] == 2
    assert view.structured["outcome"] == "unknown"


# --- transcript ----------------------------------------------------------------------------------


def long_record(n: int) -> SimulationRecord:
    base = example_turns()
    turns = [copy.deepcopy(base[i % len(base)]) for i in range(n)]
    for i, t in enumerate(turns):
        if t["message"]:
            t["message"] = f"Turn {i}. " + t["message"] * 3
    return record(turns=turns)


def test_transcript_pages_cover_every_turn_in_order_within_budget() -> None:
    rec = long_record(300)
    first = transcript_page(rec, 1)
    pages = first.structured["pages"]
    assert pages > 1
    seen = []
    for page in range(1, pages + 1):
        view = transcript_page(rec, page)
        assert view.size() <= TRANSCRIPT_PAGE_BYTES
        seen += [t["i"] for t in view.structured["turns"]]
        if page < pages:
            nxt = f'get_simulation(simulation_id="{SID}", detail="transcript", page={page + 1})'
            assert view.structured["next"] == nxt and nxt in view.text
        else:
            assert "next" not in view.structured
    assert seen == list(range(300))


def test_transcript_condenses_tool_calls_and_marks_failures() -> None:
    view = transcript_page(record(turns=failed_tool_turns()))
    turns = view.structured["turns"]
    assert turns[3]["tools"] == [
        {"call": "redirectToDocs", "params": '{"path": "/docs/api-reference/introduction"}'}
    ]
    assert turns[4]["tools"][0]["error"] is True
    assert "[FAILED result redirectToDocs: Docs service unavailable]" in view.text


def test_missing_page_is_a_clear_error() -> None:
    with pytest.raises(PageError, match="page 3 does not exist: the transcript has 1 page"):
        transcript_page(record(), 3)
    with pytest.raises(PageError, match="raw JSON has 1 page"):
        full_page(record(), 2)


# --- full ----------------------------------------------------------------------------------------


def test_full_pages_concatenate_to_the_raw_json() -> None:
    rec = long_record(200)
    raw = rec.raw_json()
    first = full_page(rec, 1)
    pages = first.structured["pages"]
    assert pages == -(-len(raw) // FULL_PAGE_CHARS) and pages > 1
    chunks = []
    for page in range(1, pages + 1):
        view = full_page(rec, page)
        assert len(view.structured["json"]) <= FULL_PAGE_CHARS
        assert view.size() < 25_000 * 3  # bytes; a token is ~3-4 bytes of JSON
        chunks.append(view.structured["json"])
    assert "".join(chunks) == raw
    assert json.loads(raw)["analysis"]["call_successful"] == "success"


# --- small parts ---------------------------------------------------------------------------------


def test_render_dispatches_and_rejects_unknown_detail() -> None:
    rec = record()
    assert isinstance(render(rec), View)
    assert render(rec, "transcript").structured["detail"] == "transcript"
    assert render(rec, "full").structured["detail"] == "full"
    with pytest.raises(ValueError, match="summary, transcript, full"):
        render(rec, "everything")


def test_clip_and_progress_message() -> None:
    assert clip("a  b\n c", 10) == "a b c"
    assert clip("x" * 20, 10) == "x" * 8 + "…"
    assert clip("One sentence here. And another one that goes on", 28) == "One sentence here. …"
    assert clip("many small words in a row here", 20) == "many small words…"
    assert clip({"a": 1}, 20) == '{"a":1}'
    rec = record(turns=example_turns()[:3], status="running", analysis=None)
    assert progress_message(rec).startswith("3 turns · user: I guess it wouldn't hurt")
    tool_rec = record(turns=example_turns()[:4], status="running", analysis=None)
    assert progress_message(tool_rec) == "4 turns · agent: calls redirectToDocs"
    assert progress_message(record()) == "6 turns, analysis received"
