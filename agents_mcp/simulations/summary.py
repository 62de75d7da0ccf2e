"""Pure functions: a simulation record -> its compact summary for a model (structured data +
short text), and the helpers every view shares (View, clip, the next call, tolerant parsing).

No I/O here. Three detail levels; the other two are in agents_mcp/simulations/views.py:
- `summary`: decisions, not dumps, within SUMMARY_BUDGET bytes (text + structured) on both
  backends. Each fact is said once where its reader looks: the structured content has the
  machine fields (ids, statuses, verdicts, counts, typed data values, the polling call while it
  runs); the text is the model's read: every criterion with its verdict and a reason (failures
  first), every failed tool call with its error, the next call, then as far as the budget goes
  the transcript summary, the data, the cost, a few key turns (clipped level by level).
  report/viewer.js reads the prose back from the text's lines: `Title:`, `Summary:`, `Error:`,
  `- MARK id — why` under `Criteria (…):`, `- turn N tool(params): error` under `Tool calls:`,
  `- #i role: text` under `Key turns:`, `Every turn: …`; change them together.
- `transcript` (views.py): every turn condensed, paged by bytes.
- `full` (views.py): the raw result JSON, paged by characters.
Every view that has more to show names the exact call that fetches it (`next`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, NotRequired, TypedDict, TypeVar

from pydantic import ValidationError

from agents_mcp.api.models import Analysis, Turn
from agents_mcp.simulations.payload import (
    CriterionVerdict,
    DataValue,
    LLMUsage,
    SimulationSummary,
    ToolStats,
)
from agents_mcp.simulations.record import SimulationRecord

DETAILS = ("summary", "transcript", "full")
WAIT_HINT_SECONDS = 45  # what a "keep waiting" hint suggests (below the ~60 s client timeouts)
SUMMARY_BUDGET = 1_500  # bytes of text + compact structured JSON a summary aims for
TESTS_SUMMARY_BUDGET = SUMMARY_BUDGET  # the same on the agent-testing API
# The error of a failed simulation is the tool error text (what happened, whether it is safe to
# retry, what to do): clipping it short loses its last, most useful sentence.
ERROR_CHARS = 700
DATA_CHARS = 60  # a collected string value in the structured content
MAX_TOOL_ERRORS = 20  # failed tool calls listed in a summary; the rest are counted
MAX_KEY_TURNS = 3


# Characters allowed per item of the text, tried level by level until the summary fits the
# budget (0 = leave the item out; usage and roles are switches). Items go in the order the model
# can best do without them: key turns, title, LLM usage, roles, tool params, the transcript
# summary, the data line (the structured content keeps the data). Every level keeps a reason for
# every criterion and each failed tool call's error: what the model needs to decide what to
# change.
# fmt: off
_KEYS = ("title", "summary", "fail", "ok", "data", "err", "params", "turn", "notes", "usage",
         "roles")
_ROWS = (
    #  title summary    fail      ok    data     err  params    turn   notes   usage   roles
    (    100,    500,    240,    160,    100,    200,     80,    140,    200,      1,      1),
    (    100,    300,    200,    120,     60,    160,     50,     90,    160,      1,      1),
    (     80,    200,    160,    100,     40,    120,     40,      0,    120,      1,      1),
    (      0,    160,    140,     90,     30,    100,      0,      0,    100,      0,      0),
    (      0,    120,    120,     80,     30,     90,      0,      0,     80,      0,      0),
    (      0,      0,    120,     70,     30,     90,      0,      0,     80,      0,      0),
    (      0,      0,    110,     60,     30,     80,      0,      0,      0,      0,      0),
    (      0,      0,    100,     60,      0,     80,      0,      0,      0,      0,      0),
    (      0,      0,     90,     50,      0,     70,      0,      0,      0,      0,      0),
    (      0,      0,     70,     40,      0,     60,      0,      0,      0,      0,      0),
)
# fmt: on
_LEVELS: tuple[dict[str, int], ...] = tuple(dict(zip(_KEYS, row, strict=True)) for row in _ROWS)


class PageError(ValueError):
    """A page that does not exist was asked for; the message says which pages do."""


# The structured content of a view: a payload TypedDict (simulations/payload.py for
# simulations, testing/payload.py for test runs) or a JSON object for the paged test-run views.
P = TypeVar("P", bound=Mapping[str, object], covariant=True)


@dataclass(frozen=True)
class View(Generic[P]):
    structured: P
    text: str

    def size(self) -> int:
        """Bytes a client receives for this view: the text plus the compact structured JSON."""
        return len(self.text.encode()) + len(compact_json(self.structured).encode())


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def clip(text: Any, limit: int) -> str:
    """One line of at most `limit` characters (whitespace collapsed, "…" when cut)."""
    if text is None:
        return ""
    line = " ".join((text if isinstance(text, str) else compact_json(text)).split())
    if len(line) <= limit:
        return line
    cut = line[: max(0, limit - 2)]
    sentence = cut.rfind(". ")
    if sentence >= limit * 0.6:  # end on a whole sentence when one ends late enough
        return cut[: sentence + 1] + " …"
    space = cut.rfind(" ")
    if space >= limit * 0.75:  # else on a whole word
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def call(simulation_id: str, **args: Any) -> str:
    """The exact tool call to make next, e.g. get_simulation(simulation_id="sim_…", page=2)."""
    parts = [f'simulation_id="{simulation_id}"']
    parts += [f'{k}="{v}"' if isinstance(v, str) else f"{k}={v}" for k, v in args.items()]
    return f"get_simulation({', '.join(parts)})"


# --- parsing (tolerant: a turn the models cannot read still counts) -----------------------------


def parse_turns(raw: Iterable[Mapping[str, Any]]) -> list[Turn]:
    turns = []
    for item in raw:
        try:
            turns.append(Turn.model_validate(item))
        except ValidationError:
            role = item.get("role") if isinstance(item, dict) else None
            message = item.get("message") if isinstance(item, dict) else None
            turns.append(
                Turn(role=str(role or "?"), message=message if isinstance(message, str) else None)
            )
    return turns


def parse_analysis(raw: dict[str, Any] | None) -> Analysis | None:
    if raw is None:
        return None
    try:
        return Analysis.model_validate(raw)
    except ValidationError:
        outcome = raw.get("call_successful") if isinstance(raw, dict) else None
        return Analysis(call_successful=str(outcome or "unknown"))


# --- facts drawn from the turns -----------------------------------------------------------------


@dataclass(frozen=True)
class ToolFailure:
    turn: int
    tool: str
    error: str
    params: str


def turn_counts(turns: list[Turn]) -> dict[str, int]:
    counts = {"total": len(turns)}
    for turn in turns:
        counts[turn.role] = counts.get(turn.role, 0) + 1
    return counts


def tool_activity(turns: list[Turn]) -> tuple[int, list[ToolFailure]]:
    """(number of tool calls, failed calls in order). A result without a call still counts."""
    params: dict[str, str] = {}
    calls = 0
    failures = []
    for turn in turns:
        for tool_call in turn.tool_calls or []:
            calls += 1
            params[tool_call.request_id] = tool_call.params_as_json
    for index, turn in enumerate(turns):
        for result in turn.tool_results or []:
            if result.request_id not in params:
                calls += 1
            if result.is_error:
                failures.append(
                    ToolFailure(
                        turn=index,
                        tool=result.tool_name or "?",
                        error=clip(result.result_value, 1000) or "(no message)",
                        params=params.get(result.request_id, ""),
                    )
                )
    return calls, failures


def llm_usage(turns: list[Turn]) -> LLMUsage | None:
    tokens = 0
    cost = 0.0
    for turn in turns:
        if turn.llm_usage is None:
            continue
        for usage in turn.llm_usage.model_usage.values():
            for part in (
                usage.input,
                usage.input_cache_read,
                usage.input_cache_write,
                usage.output_total,
            ):
                if part is not None:
                    tokens += part.tokens
                    cost += part.price
    if not tokens and not cost:
        return None
    return {"tokens": tokens, "cost": round(cost, 6)}


def turn_line(turn: Turn) -> str:
    """What a turn says, or does when it says nothing (a tool call or result)."""
    if turn.message:
        return turn.message
    if turn.tool_calls:
        return "calls " + ", ".join(c.tool_name or "?" for c in turn.tool_calls)
    if turn.tool_results:
        marks = [
            f"{r.tool_name or '?'} {'failed' if r.is_error else 'ok'}" for r in turn.tool_results
        ]
        return "tool result: " + ", ".join(marks)
    return ""


def key_turn_indexes(turns: list[Turn], failures: list[ToolFailure]) -> list[int]:
    """The opening, what was said just before the first tool failure (the failure itself is
    listed with the tool calls), and how the conversation ended."""
    said = [i for i, t in enumerate(turns) if t.message]
    picks: list[int] = []
    if said:
        picks.append(said[0])
    if failures:
        before = [i for i in said if i < failures[0].turn]
        if before:
            picks.append(before[-1])
    if said:
        picks.append(said[-1])
    ordered = sorted(set(picks))
    if len(ordered) > MAX_KEY_TURNS:  # keep the opening and the very end
        ordered = [*ordered[: MAX_KEY_TURNS - 1], ordered[-1]]
    return ordered


def progress_message(record: SimulationRecord, *, limit: int = 80) -> str:
    """One line for a progress notification: turns so far and a snippet of the latest turn."""
    n = len(record.turns)
    head = f"{n} turn{'s' if n != 1 else ''}"
    if record.analysis is not None:
        return f"{head}, analysis received"
    if not record.turns:
        return f"{head}, {record.status}"
    latest = parse_turns(record.turns[-1:])[0]
    return f"{head} · {latest.role}: {clip(turn_line(latest), limit)}"


# --- summary ------------------------------------------------------------------------------------

_ORDER = {"failure": 0, "success": 2}
_RESULT_WORDS = {"failure": "failed", "success": "passed"}


class _Judged(CriterionVerdict):
    why: NotRequired[str]  # the rationale in full (the text clips it; the payload has none)


def _criteria(analysis: Analysis, requested: list[dict[str, Any]]) -> list[_Judged]:
    """Every criterion, failures first: {id, result, guessed?, why?} (`why` in full, unclipped)."""
    items = sorted(
        analysis.evaluation_criteria_results.items(),
        key=lambda kv: (_ORDER.get(kv[1].result, 1), kv[0]),
    )
    out: list[_Judged] = []
    for key, res in items:
        entry: _Judged = {"id": res.criteria_id or key, "result": res.result}
        if (res.model_extra or {}).get("guessed"):
            entry["guessed"] = True  # read from the wording of the rationale (tests backend)
        if res.rationale:
            entry["why"] = res.rationale
        out.append(entry)
    seen = {e["id"] for e in out} | set(analysis.evaluation_criteria_results)
    for crit in requested:  # asked for but not judged: say so rather than stay silent
        cid = crit.get("id") if isinstance(crit, dict) else None
        if cid and cid not in seen:
            out.append({"id": cid, "result": "not evaluated"})
    return out


def _requested_criteria(record: SimulationRecord) -> list[dict[str, Any]]:
    value = record.request.get("extra_evaluation_criteria") if record.request else None
    return value if isinstance(value, list) else []


def _data_value(value: Any) -> DataValue:
    """A collected value as a program wants it: numbers and booleans kept, the rest clipped."""
    if isinstance(value, int | float | bool):
        return value
    return clip(value, DATA_CHARS)


@dataclass(frozen=True)
class _Facts:
    """What a summary is drawn from, parsed once for every level tried."""

    turns: list[Turn]
    analysis: Analysis | None
    calls: int
    failures: list[ToolFailure]
    criteria: list[_Judged]


def _facts(record: SimulationRecord) -> _Facts:
    turns = parse_turns(record.turns)
    analysis = parse_analysis(record.analysis)
    calls, failures = tool_activity(turns)
    criteria = _criteria(analysis, _requested_criteria(record)) if analysis is not None else []
    return _Facts(turns, analysis, calls, failures, criteria)


def _verdict(judged: _Judged) -> CriterionVerdict:
    verdict: CriterionVerdict = {"id": judged["id"], "result": judged["result"]}
    if judged.get("guessed"):
        verdict["guessed"] = True
    return verdict


# The summary's optional parts, split around `turns` (key order is the wire order).
class _Verdicts(TypedDict, total=False):
    outcome: str
    criteria: list[CriterionVerdict]
    data: dict[str, DataValue]


class _Activity(TypedDict, total=False):
    tools: ToolStats
    llm: LLMUsage
    credits_used: int | float
    next: str


def _verdicts(facts: _Facts) -> _Verdicts:
    out: _Verdicts = {}
    analysis = facts.analysis
    if analysis is not None:
        out["outcome"] = analysis.call_successful
        if facts.criteria:
            out["criteria"] = [_verdict(c) for c in facts.criteria]
        if analysis.data_collection_results:
            out["data"] = {
                key: _data_value(item.value)
                for key, item in analysis.data_collection_results.items()
            }
    return out


def _activity(record: SimulationRecord, facts: _Facts) -> _Activity:
    out: _Activity = {}
    if facts.calls:
        shown = facts.failures[:MAX_TOOL_ERRORS]
        tools: ToolStats = {"calls": facts.calls, "failed": len(facts.failures)}
        if shown:
            tools["errors"] = [{"turn": f.turn, "tool": f.tool} for f in shown]
        if len(facts.failures) > len(shown):
            tools["more_errors"] = len(facts.failures) - len(shown)
        out["tools"] = tools
    usage = llm_usage(facts.turns)
    if usage:
        out["llm"] = usage
    credits = record.upstream.get("credits_used")
    if credits is not None:
        out["credits_used"] = credits
    if not record.finished:  # a program polls with it; a finished one is named by its id
        out["next"] = call(record.simulation_id, wait_seconds=WAIT_HINT_SECONDS)
    return out


def _structured(record: SimulationRecord, facts: _Facts) -> SimulationSummary:
    """The machine fields: ids, statuses, verdicts, counts, typed data; no prose (the text's)."""
    return {
        "simulation_id": record.simulation_id,
        "status": record.status,
        "agent_id": record.agent_id,
        "backend": record.backend,
        **_verdicts(facts),
        "turns": turn_counts(facts.turns),
        **_activity(record, facts),
    }


def _text(record: SimulationRecord, facts: _Facts, lim: dict[str, int]) -> str:
    """The model's read (and the viewer's source of prose): verdicts with reasons, failed tool
    calls, the next call; summary, data, cost and key turns as far as `lim` lets them in."""
    sid = record.simulation_id
    turns, analysis = facts.turns, facts.analysis
    counts = turn_counts(turns)
    roles = ", ".join(f"{v} {k}" for k, v in counts.items() if k != "total")
    turn_text = f"{counts['total']} turns" + (f" ({roles})" if roles and lim["roles"] else "")
    via = " · agent-testing API" if record.backend == "tests" else ""
    if analysis is not None:
        head = f"{sid} · {record.status} · outcome: {analysis.call_successful} · {turn_text}"
    else:
        head = f"{sid} · {record.status} · {turn_text}" + (" so far" if not record.finished else "")
    lines = [head + via]
    if record.error:
        kept = f" Partial transcript kept ({len(turns)} turns)." if turns else ""
        lines.append(f"Error: {clip(record.error, ERROR_CHARS)}{kept}")
    if analysis is not None:
        if analysis.call_summary_title and lim["title"]:
            lines.append(f"Title: {clip(analysis.call_summary_title, lim['title'])}")
        if analysis.transcript_summary and lim["summary"]:
            lines.append(f"Summary: {clip(analysis.transcript_summary, lim['summary'])}")
        if facts.criteria:
            tally: dict[str, int] = {}
            for c in facts.criteria:
                tally[c["result"]] = tally.get(c["result"], 0) + 1
            counted = ", ".join(f"{n} {_RESULT_WORDS.get(r, r)}" for r, n in tally.items())
            lines.append(f"Criteria ({counted}):")
            for c in facts.criteria:
                mark = "ok" if c["result"] == "success" else c["result"].upper()
                mark += " (guessed)" if c.get("guessed") else ""
                limit = lim["ok"] if c["result"] == "success" else lim["fail"]
                why = f" — {clip(c['why'], limit)}" if c.get("why") else ""
                lines.append(f"- {mark} {c['id']}{why}")
        if analysis.data_collection_results and lim["data"]:
            data = analysis.data_collection_results.items()
            lines.append("Data: " + "; ".join(f"{k}={clip(v.value, lim['data'])}" for k, v in data))
    if facts.calls:
        failures = facts.failures
        lines.append(
            f"Tool calls: {facts.calls}, {len(failures)} failed" + (":" if failures else "")
        )
        params_for = {f.turn: f.params for f in failures} if lim["params"] else {}
        for f in failures[:MAX_TOOL_ERRORS]:
            params = f"({clip(f.params, lim['params'])})" if params_for.get(f.turn) else ""
            lines.append(f"- turn {f.turn} {f.tool}{params}: {clip(f.error, lim['err'])}")
        if len(failures) > MAX_TOOL_ERRORS:
            lines.append(f"- and {len(failures) - MAX_TOOL_ERRORS} more (see the transcript)")
    costs = []
    usage = llm_usage(turns)
    if usage and lim["usage"]:
        costs.append(f"{usage['tokens']} LLM tokens, ${usage['cost']:.4f}")
    credits = record.upstream.get("credits_used")
    if credits is not None:
        costs.append(f"{credits} credits")
    if costs:
        lines.append("Cost: " + "; ".join(costs))
    if lim["notes"]:
        lines += [f"Note: {clip(n, lim['notes'])}" for n in record.upstream.get("notes") or []]
    if lim["turn"] and turns:
        key = key_turn_indexes(turns, facts.failures)
        if key:
            lines.append("Key turns:")
            for i in key:
                lines.append(f"- #{i} {turns[i].role}: {clip(turn_line(turns[i]), lim['turn'])}")
    if not record.finished:
        lines.append(
            f"Not finished yet. To keep waiting: {call(sid, wait_seconds=WAIT_HINT_SECONDS)}"
        )
    elif turns:
        lines.append(f"Every turn: {call(sid, detail='transcript')}")
    return "\n".join(lines)


def summarize(record: SimulationRecord, *, budget: int = SUMMARY_BUDGET) -> View[SimulationSummary]:
    """The summary: machine fields in the structured content, prose in the text, the text
    clipped harder level by level until both together fit `budget` bytes.

    Every criterion (id, verdict, a reason) and the failed tool calls (up to MAX_TOOL_ERRORS)
    are never dropped, so a simulation with very many of them may exceed the budget.
    """
    facts = _facts(record)
    structured = _structured(record, facts)
    view = View(structured, _text(record, facts, _LEVELS[0]))
    for lim in _LEVELS[1:]:
        if view.size() <= budget:
            break
        view = View(structured, _text(record, facts, lim))
    return view
