"""Pure views of a test run record: the summary payload (+ its short text), runs, transcripts.

No I/O. The summary is clipped level by level until text + compact structured JSON fit
SUMMARY_BUDGET bytes (3 tests x 3 repeats must fit). `runs` lists every run of every (or one)
test with its verdict and rationale, paged; `transcript` shows the turns of one test's runs,
paged. Both list the baseline side's runs too (live or stored), after the candidate's, each item
marked `side` "candidate" | "baseline"; each side keeps its own run numbers 1, 2, ... (the
candidate's are the ones the summary's failures and divergence name). Every view that has more
names the exact call that fetches it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agents_mcp.jsontypes import JSONObject
from agents_mcp.simulations.summary import PageError, View, clip, compact_json, parse_turns
from agents_mcp.simulations.views import TRANSCRIPT_PAGE_BYTES, condense_turn
from agents_mcp.testing import analysis
from agents_mcp.testing.payload import (
    BaselineInfo,
    BaselineRate,
    RunCounts,
    Side,
    TestRunPayload,
    TestSummary,
)
from agents_mcp.testing.record import StoredTest, TestRunRecord

DETAILS = ("summary", "runs", "transcript")
SUMMARY_BUDGET = 3_000
WAIT_HINT_SECONDS = 45
RUNS_PAGE_BYTES = 12_000
ERROR_CHARS = 600

# Clip limits tried in order until the summary fits (failures: kept per test).
_LEVELS: tuple[dict[str, int], ...] = (
    {"reason": 160, "turn": 120, "hint": 140, "failures": 3, "cond": 80},
    {"reason": 110, "turn": 80, "hint": 100, "failures": 2, "cond": 60},
    {"reason": 70, "turn": 50, "hint": 70, "failures": 2, "cond": 45},
    {"reason": 50, "turn": 36, "hint": 56, "failures": 1, "cond": 36},
    {"reason": 40, "turn": 30, "hint": 48, "failures": 1, "cond": 30, "brief": 1},
)


def call(run_id: str, **args: Any) -> str:
    """The exact next call, e.g. get_test_results(run_id='run_…', wait_seconds=45)."""
    parts = [f"run_id='{run_id}'"]
    parts += [f"{k}={v!r}" for k, v in args.items()]
    return f"get_test_results({', '.join(parts)})"


# --- the payload --------------------------------------------------------------------------------


def _baseline_rates(record: TestRunRecord) -> dict[str, BaselineRate] | None:
    side = record.baseline
    if side is None:
        return None
    if side.runs_by_name is not None:
        return {name: analysis.baseline_rate(runs) for name, runs in side.runs_by_name.items()}
    rates: dict[str, BaselineRate] = {}
    for test in record.tests:
        runs = analysis.runs_by_test(side.invocation, test.test_id)
        if runs:
            rates[test.name] = analysis.baseline_rate(runs)
    return rates


def payload(record: TestRunRecord, *, level: int = 0) -> TestRunPayload:
    """The structured summary (the contract in payload.py), at clip level `level`."""
    lim = _LEVELS[level]
    rates = _baseline_rates(record)
    tests: list[TestSummary] = []
    all_runs: list[Mapping[str, Any]] = []
    for test in record.tests:
        runs = analysis.runs_by_test(record.invocation, test.test_id)
        all_runs += runs
        base = rates.get(test.name) if rates is not None else None
        summary = analysis.summarize_test(
            test.spec(),
            runs,
            base,
            has_baseline=rates is not None,
            reason_chars=lim["reason"],
            turn_chars=lim["turn"],
            hint_chars=lim["hint"],
            condition_chars=lim["cond"],
        )
        kept = summary["failures"][: lim["failures"]]
        if len(kept) < len(summary["failures"]):
            summary["failures"] = kept
        tests.append(summary)
    tests = analysis.ordered(tests)
    credits = analysis.credits_of(all_runs)
    baseline: BaselineInfo | None = None
    side = record.baseline
    if side is not None:
        if side.source == "live" and side.invocation is not None:
            credits += analysis.credits_of(side.invocation.get("test_runs") or [])
        baseline = BaselineInfo(
            source="stored" if side.source == "stored" else "live",
            run_id=side.run_id,
            agent_id=side.agent_id,
            branch_id=side.branch_id,
        )
    out = TestRunPayload(
        run_id=record.run_id,
        status=record.status,
        agent_id=record.agent_id,
        branch_id=record.branch_id,
        repeat=record.repeat,
        runs=analysis.count_runs(all_runs),
        credits_used=credits,
        baseline=baseline,
        tests=tests,
        regressions=[t["name"] for t in tests if t["change"] == "regressed"],
        next_call=None if record.finished else call(record.run_id, wait_seconds=WAIT_HINT_SECONDS),
    )
    if record.error:
        out["error"] = clip(record.error, ERROR_CHARS)
    return out


def _side_runs(invocation: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [r for r in invocation.get("test_runs") or [] if isinstance(r, Mapping)]


def baseline_counts(record: TestRunRecord) -> RunCounts | None:
    """A live baseline's own runs (the payload's `runs` count the candidate's only)."""
    side = record.baseline
    if side is None or side.source != "live" or side.invocation is None:
        return None
    counts = analysis.count_runs(_side_runs(side.invocation))
    counts["total"] = max(counts["total"], len(record.tests) * record.repeat)
    return counts


def progress(record: TestRunRecord) -> tuple[int, int, int]:
    """(runs done, runs total, passed so far) over the candidate and a live baseline."""
    runs = [
        *(analysis.runs_by_test(record.invocation, t.test_id) for t in record.tests),
    ]
    flat = [r for group in runs for r in group]
    side = record.baseline
    if side is not None and side.source == "live" and side.invocation is not None:
        flat += _side_runs(side.invocation)
    counts = analysis.count_runs(flat)
    total = max(counts["total"], len(record.tests) * record.repeat)
    return counts["done"], total, counts["passed"]


# --- text ---------------------------------------------------------------------------------------

_MARK = {"regressed": "REGRESSED", "improved": "improved", "same": "same", "new": "new"}


def _test_lines(t: TestSummary, brief: bool = False) -> list[str]:
    head = f"{t['rate']}" if t["delta"] is None else t["delta"]
    tags = [_MARK[t["change"]]] if t["change"] else []
    if t["flaky"]:
        tags.append("flaky")
    if t.get("pending"):
        tags.append(f"{t.get('pending')} pending")
    ok = "✓" if t["total"] and t["passed"] == t["total"] else "✗" if t["total"] else "…"
    name = clip(t["name"], 40) if brief else t["name"]
    lines = [f"{ok} {name}: {head}" + (f" ({', '.join(tags)})" if tags else "")]
    if brief:  # the rest is in the structured content
        return lines + [f"  run {f['run']}: {f['reason']}" for f in t["failures"]]
    for stat in t["conditions"]:
        if stat["held"] < stat["total"]:
            lines.append(f"  - held {stat['held']}/{stat['total']}: {stat['text']}")
    for f in t["failures"]:
        lines.append(f"  run {f['run']}: {f['reason']}")
    d = t["divergence"]
    if d is not None:
        a = f"{d['passing']['role']}: {d['passing']['message']}" if d["passing"] else "(ended)"
        b = f"{d['failing']['role']}: {d['failing']['message']}" if d["failing"] else "(ended)"
        lines.append(
            f"  runs {d['passing_run']} (pass) and {d['failing_run']} (fail) diverge at turn "
            f"{d['turn']}: {a!r} vs {b!r}"
        )
    for h in t["triage"]:
        lines.append(f"  [{h['kind']}] {h['hint']}")
    return lines


def text(p: TestRunPayload, brief: bool = False, baseline_runs: RunCounts | None = None) -> str:
    r = p["runs"]
    lines = [
        f"Test run {p['run_id']} {p['status']}: {r['done']}/{r['total']} runs done, "
        f"{r['passed']} passed · {p['credits_used']} credits"
    ]
    b = p["baseline"]
    if b is not None:
        where = f"run {b['run_id']}" if b["source"] == "stored" else f"agent {b['agent_id']}"
        branch = f" branch {b['branch_id']}" if b["branch_id"] else ""
        br = baseline_runs
        done = f": {br['done']}/{br['total']} runs done, {br['passed']} passed" if br else ""
        lines.append(f"Baseline ({b['source']}): {where}{branch}{done}")
    if p["regressions"]:
        lines.append(f"{len(p['regressions'])} regression(s), listed first")
    if p.get("error"):
        lines.append(f"Error: {p.get('error')}")
    for t in p["tests"]:
        lines += _test_lines(t, brief)
    if p["next_call"]:
        lines.append(f"Still running. Next: {p['next_call']}")
    else:
        lines.append(f"Runs and transcripts: {call(p['run_id'], detail='runs')}")
    return "\n".join(lines)


def summary_view(record: TestRunRecord, budget: int = SUMMARY_BUDGET) -> View[TestRunPayload]:
    """The summary, clipped harder level by level until it fits `budget` bytes."""
    for level in range(len(_LEVELS)):
        p = payload(record, level=level)
        brief = bool(_LEVELS[level].get("brief"))
        view = View(p, text(p, brief, baseline_counts(record)))
        if view.size() <= budget:
            break
    return view


# --- runs ---------------------------------------------------------------------------------------


def _pick(record: TestRunRecord, test: str | None) -> list[StoredTest]:
    if test is None:
        return list(record.tests)
    chosen = [t for t in record.tests if test in (t.name, t.test_id)]
    if not chosen:
        names = ", ".join(repr(clip(t.name, 60)) for t in record.tests[:10])
        raise PageError(f"No test {clip(test, 60)!r} in run {record.run_id}; its tests: {names}")
    return chosen


def _run_item(index: int, run: Mapping[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"run": index, "status": analysis.status_of(run)}
    messages = analysis.rationale_messages(run)
    if messages:
        item["rationale"] = [clip(m, 240) for m in messages]
    summary = analysis.rationale_summary(run)
    if summary:
        item["summary"] = clip(summary, 240)
    item["turns"] = analysis.turn_count(run)
    if isinstance(run.get("credits_used"), int):
        item["credits"] = run["credits_used"]
    return item


def _sides(record: TestRunRecord, stored: StoredTest) -> list[tuple[Side, list[Mapping[str, Any]]]]:
    """(side, runs of `stored`) for the candidate, then the baseline when it has runs of it."""
    out: list[tuple[Side, list[Mapping[str, Any]]]] = [
        ("candidate", list(analysis.runs_by_test(record.invocation, stored.test_id)))
    ]
    side = record.baseline
    base: list[Mapping[str, Any]] = []
    if side is not None and side.runs_by_name is not None:
        base = [r for r in side.runs_by_name.get(stored.name) or [] if isinstance(r, Mapping)]
    elif side is not None:
        base = list(analysis.runs_by_test(side.invocation, stored.test_id))
    if base:
        out.append(("baseline", base))
    return out


def _label(item: Mapping[str, Any]) -> str:
    return f"baseline run {item['run']}" if item.get("side") == "baseline" else f"run {item['run']}"


def _paged(items: list[dict[str, Any]], limit: int) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = [[]]
    used = 0
    for item in items:
        cost = 2 * len(compact_json(item).encode()) + 2  # text + structured
        if pages[-1] and used + cost > limit:
            pages.append([])
            used = 0
        pages[-1].append(item)
        used += cost
    return pages


def _page(pages: Sequence[list[dict[str, Any]]], page: int) -> list[dict[str, Any]]:
    if not 1 <= page <= len(pages):
        raise PageError(f"There is no page {page}: pages 1 to {len(pages)}")
    return pages[page - 1]


def runs_view(record: TestRunRecord, test: str | None = None, page: int = 1) -> View[JSONObject]:
    """Every run of each test (or of `test`): status, rationale per condition, turns, credits."""
    items: list[dict[str, Any]] = []
    for stored in _pick(record, test):
        for side, runs in _sides(record, stored):
            for i, run in enumerate(runs, 1):
                items.append({"test": stored.name, "side": side, **_run_item(i, run)})
    pages = _paged(items, RUNS_PAGE_BYTES)
    shown = _page(pages, page)
    structured: dict[str, Any] = {
        "run_id": record.run_id,
        "status": record.status,
        "detail": "runs",
        "page": page,
        "pages": len(pages),
        "runs": shown,
    }
    lines = [f"Test run {record.run_id} {record.status}: runs, page {page} of {len(pages)}"]
    for item in shown:
        lines.append(f"{item['test']} {_label(item)}: {item['status']}, {item['turns']} turns")
        lines += [f"  - {m}" for m in item.get("rationale", [])]
    if page < len(pages):
        structured["next"] = call(record.run_id, detail="runs", page=page + 1)
        lines.append(f"Next page: {structured['next']}")
    return View(structured, "\n".join(lines))


def transcript_view(
    record: TestRunRecord, test: str | None = None, page: int = 1
) -> View[JSONObject]:
    """The turns of every run of one test, condensed, paged (page boundaries between turns)."""
    chosen = _pick(record, test)
    if test is None and len(chosen) > 1:
        names = ", ".join(repr(clip(t.name, 60)) for t in chosen[:10])
        raise PageError(f"Name the test: detail='transcript' needs test=… (one of {names})")
    stored = chosen[0]
    items: list[dict[str, Any]] = []
    for side, runs in _sides(record, stored):
        for r, run in enumerate(runs, 1):
            for i, turn in enumerate(parse_turns(analysis.turns_of(run))):
                items.append({"run": r, "side": side, **condense_turn(i, turn)})
    pages = _paged(items, TRANSCRIPT_PAGE_BYTES - 1_000)
    shown = _page(pages, page)
    structured: dict[str, Any] = {
        "run_id": record.run_id,
        "status": record.status,
        "detail": "transcript",
        "test": stored.name,
        "page": page,
        "pages": len(pages),
        "turns": shown,
    }
    lines = [f"{stored.name}: transcripts, page {page} of {len(pages)}"]
    for item in shown:
        tools = " ".join(
            f"[call {t['call']}]" if "call" in t else f"[result {t['result']}: {t['value']}]"
            for t in item.get("tools", [])
        )
        said = f"{item['role']}: {item.get('text', '')} {tools}".rstrip()
        lines.append(f"{_label(item)} #{item['i']} {said}")
    if page < len(pages):
        structured["next"] = call(
            record.run_id, detail="transcript", test=stored.name, page=page + 1
        )
        lines.append(f"Next page: {structured['next']}")
    return View(structured, "\n".join(lines))


def render(
    record: TestRunRecord, detail: str = "summary", test: str | None = None, page: int = 1
) -> View[TestRunPayload | JSONObject]:
    if detail == "runs":
        return runs_view(record, test, page)
    if detail == "transcript":
        return transcript_view(record, test, page)
    return summary_view(record)
