"""run_tests / get_test_results end to end: the real server over stdio, the sandbox over HTTP.

The sandbox's markers (docs/sandbox.md) make outcomes deterministic: `[flaky=P]` in a scenario
fails some repeats, `[requires: PHRASE]` in a condition holds only when the agent's prompt (after
an override) contains PHRASE, `[turns=N]` runs past a turn limit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from agents_mcp.simulations.views import TRANSCRIPT_PAGE_BYTES
from tests.support.mcp_fixture import sandbox_env, stdio_server, text_of

pytestmark = pytest.mark.anyio

AGENT = "agent_demo_support"
FIX = "Always offer a discount code to unhappy customers."
REFUND = {
    "name": "refund",
    "user_prompt": "Your tent arrived torn (order 1234); you want a refund. [flaky=0.5]",
    "criteria": ["The agent looks up the order", "The agent is polite"],
}
DISCOUNT = {
    "name": "discount",
    "user_prompt": "You are unhappy about a late delivery.",
    "criteria": ["[requires: offer a discount code]"],
}
OVERRIDE = {"conversation_config": {"agent": {"prompt": {"prompt": f"You are Ava. {FIX}"}}}}


def env(sandbox: Any, tmp_path: Path, **extra: str) -> dict[str, str]:
    return sandbox_env(sandbox, tmp_path, AGENTS_MCP_POLL_SECONDS="0.1", **extra)


async def api(sandbox: Any, method: str, path: str, **kw: Any) -> Any:
    """Call the sandbox's API directly (setting up or checking, not under test)."""
    async with httpx2.AsyncClient(base_url=sandbox.base_url, headers=sandbox.headers()) as http:
        response = await http.request(method, path, **kw)
        response.raise_for_status()
        return response.json()


def calls(sandbox: Any, method: str, suffix: str) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests() if r["method"] == method and r["path"].endswith(suffix)]


def by_name(result: Any) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in result.structured_content["tests"]}


class Progress:
    def __init__(self) -> None:
        self.events: list[tuple[float, float | None, str | None]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.events.append((progress, total, message))


async def test_pass_rates_flaky_live_baseline_stored_baseline_and_cleanup(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    async with stdio_server(env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        result = await client.call_tool(
            "run_tests",
            {
                "agent_id": AGENT,
                "tests": [REFUND, DISCOUNT],
                "repeat": 4,
                "agent_config_override": OVERRIDE,
                "baseline": {},
            },
        )
        assert not result.is_error, text_of(result)
        p = result.structured_content
        assert p["status"] == "done" and p["repeat"] == 4
        assert p["runs"]["total"] == 8 and p["runs"]["done"] == 8
        assert p["baseline"]["source"] == "live"
        tests = by_name(result)
        refund, discount = tests["refund"], tests["discount"]
        # the flaky scenario: some repeats fail, deterministically per test id and repeat
        assert refund["flaky"] == (0 < refund["passed"] < 4)
        assert refund["conditions"][1] == {"text": "The agent is polite", "held": 4, "total": 4}
        assert refund["conditions"][0]["held"] == refund["passed"]
        if refund["flaky"]:
            d = refund["divergence"]
            assert d is not None and d["passing_run"] != d["failing_run"]
            assert refund["failures"][0]["condition"] == "The agent looks up the order"
        # the override fixes the discount test: 0/4 on the stored agent, 4/4 with the change
        assert (discount["rate"], discount["delta"], discount["change"]) == (
            "4/4",
            "0/4 → 4/4",
            "improved",
        )
        assert p["credits_used"] > 0
        run_id = p["run_id"]
        assert f"{run_id}" in text_of(result) and "0/4 → 4/4 (improved)" in text_of(result)

        # what was sent: two tests created, ONE run-tests per side, the override merged whole
        runs = [r for r in fresh_sandbox.requests() if r["path"].endswith("/run-tests")]
        assert len(runs) == 2
        assert len(calls(fresh_sandbox, "POST", "/agent-testing/create")) == 2
        # the ad-hoc tests are gone afterwards
        assert len(calls(fresh_sandbox, "DELETE", "")) == 2
        listing = await api(fresh_sandbox, "GET", "/v1/convai/agent-testing")
        assert not [t for t in listing["tests"] if run_id in t["name"]]

        # the whole record as a resource, with the partial override kept for promotion
        read = await client.read_resource(f"test-run://{run_id}")
        doc = json.loads(read.contents[0].text)
        assert doc["agent_config_override"] == OVERRIDE
        assert doc["cleaned_up"] is True
        assert all(r["agent_responses"] for r in doc["invocation"]["test_runs"])

        # the same suite on the stored agent against the stored run: no credits for the baseline
        fresh_sandbox.clear_requests()
        again = await client.call_tool(
            "run_tests",
            {
                "agent_id": AGENT,
                "tests": [REFUND, DISCOUNT],
                "repeat": 2,
                "baseline_run_id": run_id,
            },
        )
        assert not again.is_error, text_of(again)
        q = again.structured_content
        assert q["baseline"] == {
            "source": "stored",
            "run_id": run_id,
            "agent_id": AGENT,
            "branch_id": None,
        }
        assert len(calls(fresh_sandbox, "POST", "/run-tests")) == 1
        second = by_name(again)
        assert (second["discount"]["delta"], second["discount"]["change"]) == (
            "4/4 → 0/2",
            "regressed",
        )
        assert "discount" in q["regressions"]
        assert q["tests"][0]["change"] == "regressed"  # regressions come first

        # more detail: every run's verdicts, one test's transcripts
        detail = await client.call_tool(
            "get_test_results", {"run_id": run_id, "detail": "runs", "test": "refund"}
        )
        items = detail.structured_content["runs"]
        assert [r["run"] for r in items if r["side"] == "candidate"] == [1, 2, 3, 4]
        assert [r["side"] for r in items] == ["candidate"] * 4 + ["baseline"] * 4
        transcript = await client.call_tool(
            "get_test_results", {"run_id": run_id, "detail": "transcript", "test": "discount"}
        )
        turns = transcript.structured_content["turns"]
        assert {t["run"] for t in turns if t["side"] == "candidate"} == {1, 2, 3, 4}
        # a stored baseline's runs (copied from the earlier run) are listed too
        stored = await client.call_tool(
            "get_test_results",
            {"run_id": q["run_id"], "detail": "runs", "test": "discount"},
        )
        assert [(r["side"], r["run"], r["status"]) for r in stored.structured_content["runs"]] == [
            *(("candidate", n, "failed") for n in (1, 2)),
            *(("baseline", n, "passed") for n in (1, 2, 3, 4)),
        ]


async def test_runs_and_transcripts_show_the_live_baselines_runs_marked(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    """The override fixes `discount`: the baseline's failing verdicts, reasons and turns are
    readable next to the candidate's, each run marked by side, the candidate numbered 1, 2."""
    async with stdio_server(env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        result = await client.call_tool(
            "run_tests",
            {
                "agent_id": AGENT,
                "tests": [DISCOUNT],
                "repeat": 2,
                "agent_config_override": OVERRIDE,
                "baseline": {},
            },
        )
        assert not result.is_error, text_of(result)
        run_id = result.structured_content["run_id"]
        assert by_name(result)["discount"]["delta"] == "0/2 → 2/2"

        runs = await client.call_tool("get_test_results", {"run_id": run_id, "detail": "runs"})
        assert not runs.is_error, text_of(runs)
        items = runs.structured_content["runs"]
        assert [(r["side"], r["run"], r["status"]) for r in items] == [
            ("candidate", 1, "passed"),
            ("candidate", 2, "passed"),
            ("baseline", 1, "failed"),
            ("baseline", 2, "failed"),
        ]
        assert all(r["rationale"] for r in items if r["side"] == "baseline")
        text = text_of(runs)
        assert "discount run 1: passed" in text and "discount baseline run 2: failed" in text

        # every page of the transcripts, each within its byte budget
        turns, texts, page, pages = [], [], 1, 1
        while page <= pages:
            args = {"run_id": run_id, "detail": "transcript", "test": "discount", "page": page}
            transcript = await client.call_tool("get_test_results", args)
            assert not transcript.is_error, text_of(transcript)
            sc = transcript.structured_content
            assert len(json.dumps(sc).encode()) < TRANSCRIPT_PAGE_BYTES
            turns += sc["turns"]
            texts.append(text_of(transcript))
            page, pages = page + 1, sc["pages"]
        assert pages > 1
        sides = [(t["side"], t["run"]) for t in turns]
        assert sides == sorted(sides, key=lambda s: s[0] == "baseline")  # the candidate first
        # every turn of every run of both sides, as many as detail="runs" counted
        assert {(r["side"], r["run"]): r["turns"] for r in items} == {
            key: sides.count(key) for key in set(sides)
        }
        text = "\n".join(texts)
        assert "\nrun 1 #0 " in text and "\nbaseline run 1 #0 " in text


async def test_summary_of_three_tests_three_repeats_fits_its_budget(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    third = {**REFUND, "name": "refund again", "user_prompt": REFUND["user_prompt"] + " Hurry."}
    async with stdio_server(env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        result = await client.call_tool(
            "run_tests",
            {"agent_id": AGENT, "tests": [REFUND, DISCOUNT, third], "repeat": 3, "baseline": {}},
        )
    assert not result.is_error, text_of(result)
    structured = json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":"))
    size = len(text_of(result).encode()) + len(structured.encode())
    assert size <= 3_000, size


async def test_wait_past_wait_seconds_then_get_test_results_with_progress(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    fresh_sandbox.configure(run_delay=1.0)
    async with stdio_server(env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        started = await client.call_tool(
            "run_tests", {"agent_id": AGENT, "tests": [DISCOUNT], "repeat": 2, "wait_seconds": 0}
        )
        p = started.structured_content
        assert p["status"] == "running", text_of(started)
        run_id = p["run_id"]
        assert p["next_call"] == f"get_test_results(run_id='{run_id}', wait_seconds=45)"
        progress = Progress()
        done = await client.call_tool(
            "get_test_results",
            {"run_id": run_id, "wait_seconds": 30},
            progress_callback=progress,
        )
        assert done.structured_content["status"] == "done", text_of(done)
        assert done.structured_content["next_call"] is None
    assert progress.events, "one progress notification per poll"
    assert progress.events[-1][:2] == (2, 2)
    assert progress.events[-1][2] == "2/2 runs done, 0 passed"
    # polling coalesced: the invocation was read about once per poll interval (0.1 s), not more
    gets = calls(fresh_sandbox, "GET", "")
    gets = [g for g in gets if "/test-invocations/" in g["path"]]
    assert 1 <= len(gets) <= 1.0 / 0.1 + 5


async def test_past_max_runs_nothing_starts_without_confirmation(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    async with stdio_server(
        env(fresh_sandbox, tmp_path, AGENTS_MCP_MAX_RUNS="3"), log_dir=tmp_path
    ) as (client, _):
        args = {"agent_id": AGENT, "tests": [REFUND, DISCOUNT], "repeat": 2}
        refused = await client.call_tool("run_tests", args)
        assert refused.structured_content == {"status": "needs_confirmation", "runs_to_start": 4}
        assert "4 runs" in text_of(refused) and "confirm=true" in text_of(refused)
        assert not calls(fresh_sandbox, "POST", "")  # nothing created, nothing run
        confirmed = await client.call_tool("run_tests", {**args, "confirm": True})
        assert confirmed.structured_content["status"] == "done", text_of(confirmed)
        # a live baseline doubles the count
        baseline = await client.call_tool(
            "run_tests", {"agent_id": AGENT, "tests": [DISCOUNT], "repeat": 2, "baseline": {}}
        )
        assert baseline.structured_content["runs_to_start"] == 4


async def test_triage_no_mock_matched_and_turn_limit(fresh_sandbox: Any, tmp_path: Path) -> None:
    tools = (await api(fresh_sandbox, "GET", "/v1/convai/tools"))["tools"]
    lookup = next(t["id"] for t in tools if t["tool_config"]["name"] == "lookup_order")
    created = await api(
        fresh_sandbox,
        "POST",
        "/v1/convai/agent-testing/create",
        json={
            "type": "simulation",
            "name": "lookup with a mock that never matches",
            "simulation_scenario": "You want to know where order 1234 is.",
            "success_conditions": ["The agent tells the customer where the order is"],
            "tool_mock_config": {
                "mocking_strategy": "selected",
                "fallback_strategy": "raise_error",
                "mocked_tool_ids": [lookup],
            },
            "tool_mock_overrides": {
                lookup: [
                    {
                        "parameter_conditions": [
                            {"path": "order_id", "eval": {"type": "exact", "expected_value": "x"}}
                        ],
                        "mock_result": "{}",
                    }
                ]
            },
        },
    )
    long_talk = {
        "name": "long talk",
        "user_prompt": "You chat about camping. [turns=12]",
        "criteria": ["The agent is polite"],
        "max_turns": 3,
    }
    async with stdio_server(env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        result = await client.call_tool(
            "run_tests", {"agent_id": AGENT, "tests": [created["id"], long_talk]}
        )
    assert not result.is_error, text_of(result)
    tests = by_name(result)
    mock = tests["lookup with a mock that never matches"]
    assert mock["test_id"] == created["id"]
    hints = [(h["kind"], h["hint"]) for h in mock["triage"]]
    assert any(k == "test" and "no mock matched for lookup_order" in h for k, h in hints), hints
    talk = [(h["kind"], h["hint"]) for h in tests["long talk"]["triage"]]
    assert ("test", "run 1: hit the turn limit (3): raise max_turns") in talk
    # the existing test stays; only the ad-hoc one is deleted
    deleted = calls(fresh_sandbox, "DELETE", "")
    assert len(deleted) == 1 and created["id"] not in deleted[0]["path"]


async def test_bad_arguments_send_nothing(fresh_sandbox: Any, tmp_path: Path) -> None:
    async with stdio_server(env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        bad = await client.call_tool(
            "run_tests",
            {"agent_id": AGENT, "tests": [{"name": "x", "user_prompt": "y", "max_turn": 3}]},
        )
        assert bad.is_error and "tests[0] 'x'.max_turn" in text_of(bad), text_of(bad)
        override = await client.call_tool(
            "run_tests",
            {"agent_id": AGENT, "tests": [DISCOUNT], "agent_config_override": {"name": "x"}},
        )
        assert override.is_error and "agent_config_override" in text_of(override)
        missing = await client.call_tool("get_test_results", {"run_id": "run_0000000000000000"})
        assert missing.is_error and "Unknown test run" in text_of(missing)
    assert not calls(fresh_sandbox, "POST", "")


async def test_unknown_mocked_tool_sends_nothing(fresh_sandbox: Any, tmp_path: Path) -> None:
    async with stdio_server(env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        unknown = await client.call_tool(
            "run_tests",
            {
                "agent_id": AGENT,
                "tests": [{**DISCOUNT, "tool_mocks": {"no_such_tool": {"return": "1"}}}],
            },
        )
        assert unknown.is_error and "no_such_tool" in text_of(unknown), text_of(unknown)
    assert not calls(fresh_sandbox, "POST", "")


async def test_attached_tests_of_the_agent(fresh_sandbox: Any, tmp_path: Path) -> None:
    """The demo agent's attached tests (docs/sandbox.md): a pass, a fixable failure, a flaky one,
    a mock that never matches, a turn limit. Existing tests are never deleted."""
    async with stdio_server(env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        result = await client.call_tool(
            "run_tests", {"agent_id": AGENT, "tests": [], "attached": True, "repeat": 3}
        )
    assert not result.is_error, text_of(result)
    tests = {t["test_id"]: t for t in result.structured_content["tests"]}
    assert len(tests) == 5 and result.structured_content["runs"]["total"] == 15
    assert tests["test_demo_refund_torn_jacket"]["rate"] == "3/3"
    discount = tests["test_demo_late_parcel_discount"]
    assert discount["rate"] == "0/3" and discount["conditions"][1]["held"] == 0
    assert discount["triage"][-1]["kind"] == "agent"
    mismatch = [h["hint"] for h in tests["test_demo_lookup_mock_mismatch"]["triage"]]
    assert any("no mock matched for lookup_order" in h for h in mismatch), mismatch
    limit = [h for h in tests["test_demo_long_call_turn_limit"]["triage"] if h["kind"] == "test"]
    assert limit and "turn limit" in limit[0]["hint"]
    assert all(t["name"] != t["test_id"] for t in tests.values())  # names read from the tests
    assert not calls(fresh_sandbox, "DELETE", "")
    assert not calls(fresh_sandbox, "POST", "/agent-testing/create")
