"""Pure functions: a simulation record -> a compact view for a model (structured data + short text).

No I/O here. Three detail levels:
- `summary`: decisions, not dumps: outcome, every criterion (failures first, with a short reason),
  data collected, turn counts, failed tool calls, LLM usage, a few key turns; clipped until the
  whole view (text + structured) fits a byte budget.
- `transcript`: every turn condensed (role, clipped message, tool calls and results), paged by
  bytes.
- `full`: the raw result JSON, paged by characters (the pages concatenate to the exact JSON).
Every view that has more to show names the exact call that fetches it (`next`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, NotRequired, TypedDict, final

from pydantic import ValidationError

from agents_mcp.api.models import Analysis, Turn
from agents_mcp.jsontypes import JSON, JSONObject
from agents_mcp.simulations.record import Backend, SimulationRecord, Status

DETAILS = ("summary", "transcript", "full")
WAIT_HINT_SECONDS = 45  # what a "keep waiting" hint suggests (below the ~60 s client timeouts)
SUMMARY_BUDGET = 2_900  # bytes of text + compact structured JSON the summary aims for
TESTS_SUMMARY_BUDGET = 1_500  # the same on the agent-testing API (no transcript summary there)
# The error of a failed simulation is the tool error text (what happened, whether it is safe to
# retry, what to do): clipping it short loses its last, most useful sentence.
ERROR_CHARS = 700
MAX_TOOL_ERRORS = 20  # failed tool calls listed in a summary; the rest are counted
MAX_KEY_TURNS = 3
TRANSCRIPT_PAGE_BYTES = 20_000  # text + structured, i.e. ~6k tokens: well under 25k
TRANSCRIPT_TURN_CHARS = 300
FULL_PAGE_CHARS = 12_000  # carried twice (text, and escaped in structured): ~8k tokens a page

# Clip limits, tried in order until the summary fits the budget (0 = leave the item out).
_LEVELS: tuple[dict[str, int], ...] = (
    {
        "summary": 500,
        "fail": 240,
        "ok": 100,
        "data": 100,
        "err": 160,
        "params": 80,
        "turn": 140,
        "notes": 200,
    },
    {
        "summary": 320,
        "fail": 160,
        "ok": 70,
        "data": 60,
        "err": 100,
        "params": 50,
        "turn": 90,
        "notes": 200,
    },
    {
        "summary": 240,
        "fail": 130,
        "ok": 45,
        "data": 50,
        "err": 90,
        "params": 0,
        "turn": 70,
        "notes": 160,
    },
    {
        "summary": 180,
        "fail": 100,
        "ok": 0,
        "data": 40,
        "err": 70,
        "params": 0,
        "turn": 60,
        "notes": 120,
    },
    {
        "summary": 120,
        "fail": 70,
        "ok": 0,
        "data": 30,
        "err": 50,
        "params": 0,
        "turn": 0,
        "notes": 100,
    },
    {"summary": 80, "fail": 60, "ok": 0, "data": 30, "err": 50, "params": 0, "turn": 0, "notes": 0},
)


class PageError(ValueError):
    """A page that does not exist was asked for; the message says which pages do."""


# --- the structured content of each view (what the tool result's structuredContent carries) ---


class Criterion(TypedDict):
    id: str
    result: str  # success | failure | unknown | "not evaluated"
    guessed: NotRequired[bool]  # read from the wording of the rationale (tests backend)
    why: NotRequired[str]


class ToolError(TypedDict):
    turn: int
    tool: str
    error: str
    params: NotRequired[str]


class ToolsSummary(TypedDict):
    calls: int
    failed: int
    errors: NotRequired[list[ToolError]]
    more_errors: NotRequired[int]


class LLMUsage(TypedDict):
    tokens: int
    cost: float


class KeyTurn(TypedDict):
    i: int
    role: str
    text: str


class SummaryContent(TypedDict):
    simulation_id: str
    status: Status
    agent_id: str
    backend: Backend
    outcome: NotRequired[str | None]
    error: NotRequired[str]
    title: NotRequired[str]
    summary: NotRequired[str]
    criteria: NotRequired[list[Criterion]]
    data: NotRequired[dict[str, JSON]]
    turns: NotRequired[dict[str, int]]
    tools: NotRequired[ToolsSummary]
    llm: NotRequired[LLMUsage]
    credits_used: NotRequired[JSON]
    notes: NotRequired[list[str]]
    key_turns: NotRequired[list[KeyTurn]]
    next: NotRequired[str]


@final  # final: `"call" in item` tells the two kinds apart
class ToolCallItem(TypedDict):
    call: str
    params: str


@final
class ToolResultItem(TypedDict):
    result: str
    value: str
    error: NotRequired[bool]


class CondensedTurn(TypedDict):
    i: int
    role: str
    text: NotRequired[str]
    tools: NotRequired[list[ToolCallItem | ToolResultItem]]
    interrupted: NotRequired[bool]


class TranscriptContent(TypedDict):
    simulation_id: str
    status: Status
    detail: Literal["transcript"]
    page: int
    pages: int
    turns_total: int
    turns: list[CondensedTurn]
    next: NotRequired[str]


class FullContent(TypedDict):
    simulation_id: str
    status: Status
    detail: Literal["full"]
    page: int
    pages: int
    chars: int
    bytes: int
    json: str
    next: NotRequired[str]


# the test-run views (agents_mcp/testing/views.py) carry their own payloads (testing/payload.py)
StructuredContent = SummaryContent | TranscriptContent | FullContent | JSONObject


@dataclass(frozen=True)
class View:
    structured: StructuredContent
    text: str

    def size(self) -> int:
        """Bytes a client receives for this view: the text plus the compact structured JSON."""
        return len(self.text.encode()) + len(compact_json(self.structured).encode())


def compact_json(value: JSON) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def clip(text: object, limit: int) -> str:
    """One line of at most `limit` characters (whitespace collapsed, "…" when cut)."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = compact_json(text)
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 2)]
    sentence = cut.rfind(". ")
    if sentence >= limit * 0.6:  # end on a whole sentence when one ends late enough
        return cut[: sentence + 1] + " …"
    space = cut.rfind(" ")
    if space >= limit * 0.75:  # else on a whole word
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def call(simulation_id: str, **args: str | int) -> str:
    """The exact tool call to make next, e.g. get_simulation(simulation_id="sim_…", page=2)."""
    parts = [f'simulation_id="{simulation_id}"']
    parts += [f'{k}="{v}"' if isinstance(v, str) else f"{k}={v}" for k, v in args.items()]
    return f"get_simulation({', '.join(parts)})"


# --- parsing (tolerant: a turn the models cannot read still counts) -----------------------------


def parse_turns(raw: Iterable[Mapping[str, JSON]]) -> list[Turn]:
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


def parse_analysis(raw: JSONObject | None) -> Analysis | None:
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


def _criteria(
    analysis: Analysis, requested: list[JSONObject], lim: dict[str, int]
) -> list[Criterion]:
    items = sorted(
        analysis.evaluation_criteria_results.items(),
        key=lambda kv: (_ORDER.get(kv[1].result, 1), kv[0]),
    )
    out: list[Criterion] = []
    for key, res in items:
        entry: Criterion = {"id": res.criteria_id or key, "result": res.result}
        if (res.model_extra or {}).get("guessed"):
            entry["guessed"] = True  # read from the wording of the rationale (tests backend)
        limit = lim["ok"] if res.result == "success" else lim["fail"]
        if limit and res.rationale:
            entry["why"] = clip(res.rationale, limit)
        out.append(entry)
    seen = {e["id"] for e in out} | set(analysis.evaluation_criteria_results)
    for crit in requested:  # asked for but not judged: say so rather than stay silent
        cid = crit.get("id") if isinstance(crit, dict) else None
        if cid and cid not in seen:
            out.append({"id": cid, "result": "not evaluated"})
    return out


def _requested_criteria(record: SimulationRecord) -> list[JSONObject]:
    value = record.request.get("extra_evaluation_criteria") if record.request else None
    return value if isinstance(value, list) else []


def _summary_view(record: SimulationRecord, lim: dict[str, int]) -> View:
    sid = record.simulation_id
    turns = parse_turns(record.turns)
    analysis = parse_analysis(record.analysis)
    calls, failures = tool_activity(turns)
    s: SummaryContent = {
        "simulation_id": sid,
        "status": record.status,
        "agent_id": record.agent_id,
        "backend": record.backend,
    }
    lines: list[str] = []
    counts = turn_counts(turns)
    roles = ", ".join(f"{v} {k}" for k, v in counts.items() if k != "total")
    turn_text = f"{counts['total']} turns" + (f" ({roles})" if roles else "")

    via = " · agent-testing API" if record.backend == "tests" else ""
    if analysis is not None:
        s["outcome"] = analysis.call_successful
        head = f"{sid} · {record.status} · outcome: {analysis.call_successful} · {turn_text}"
    else:
        head = f"{sid} · {record.status} · {turn_text}" + (" so far" if not record.finished else "")
    lines.append(head + via)
    if record.error:
        s["error"] = clip(record.error, ERROR_CHARS)
        kept = f" Partial transcript kept ({len(turns)} turns)." if turns else ""
        lines.append(f"Error: {s['error']}{kept}")
    if analysis is not None:
        if analysis.call_summary_title:
            s["title"] = clip(analysis.call_summary_title, 100)
            lines.append(f"Title: {s['title']}")
        if analysis.transcript_summary:
            s["summary"] = clip(analysis.transcript_summary, lim["summary"])
            lines.append(f"Summary: {s['summary']}")
        criteria = _criteria(analysis, _requested_criteria(record), lim)
        if criteria:
            s["criteria"] = criteria
            tally: dict[str, int] = {}
            for c in criteria:
                tally[c["result"]] = tally.get(c["result"], 0) + 1
            counted = ", ".join(f"{n} {_RESULT_WORDS.get(r, r)}" for r, n in tally.items())
            lines.append(f"Criteria ({counted}):")
            for c in criteria:
                mark = "ok" if c["result"] == "success" else c["result"].upper()
                mark += " (guessed)" if c.get("guessed") else ""
                why = f" — {c['why']}" if "why" in c else ""
                lines.append(f"- {mark} {c['id']}{why}")
        if analysis.data_collection_results and lim["data"]:
            s["data"] = {
                key: clip(item.value, lim["data"])
                if not isinstance(item.value, int | float | bool) or item.value is None
                else item.value
                for key, item in analysis.data_collection_results.items()
            }
            lines.append("Data: " + "; ".join(f"{k}={v}" for k, v in s["data"].items()))
    s["turns"] = counts
    tools: ToolsSummary = {"calls": calls, "failed": len(failures)}
    if failures:
        shown = failures[:MAX_TOOL_ERRORS]
        errors: list[ToolError] = []
        tools["errors"] = errors
        for f in shown:
            entry: ToolError = {"turn": f.turn, "tool": f.tool, "error": ""}
            entry["error"] = clip(f.error, lim["err"])
            if lim["params"] and f.params:
                entry["params"] = clip(f.params, lim["params"])
            errors.append(entry)
        if len(failures) > len(shown):
            tools["more_errors"] = len(failures) - len(shown)
    if calls:
        s["tools"] = tools
        lines.append(f"Tool calls: {calls}, {len(failures)} failed" + (":" if failures else ""))
        for e in tools.get("errors", []):
            params = f"({e['params']})" if "params" in e else ""
            lines.append(f"- turn {e['turn']} {e['tool']}{params}: {e['error']}")
        if "more_errors" in tools:
            lines.append(f"- and {tools['more_errors']} more (see the transcript)")
    usage = llm_usage(turns)
    if usage:
        s["llm"] = usage
        lines.append(f"LLM: {usage['tokens']} tokens, ${usage['cost']:.4f}")
    credits = record.upstream.get("credits_used")
    if credits is not None:
        s["credits_used"] = credits
        lines.append(f"Credits used: {credits}")
    notes = record.upstream.get("notes")
    if notes and lim["notes"]:
        s["notes"] = [clip(n, lim["notes"]) for n in notes]
        lines += [f"Note: {n}" for n in s["notes"]]
    if lim["turn"] and turns:
        key: list[KeyTurn] = []
        for i in key_turn_indexes(turns, failures):
            text = clip(turn_line(turns[i]), lim["turn"])
            key.append({"i": i, "role": turns[i].role, "text": text})
        if key:
            s["key_turns"] = key
            lines.append("Key turns:")
            lines += [f"- #{k['i']} {k['role']}: {k['text']}" for k in key]
    if not record.finished:
        s["next"] = call(sid, wait_seconds=WAIT_HINT_SECONDS)
        lines.append(f"Not finished yet. To keep waiting: {s['next']}")
    elif turns:
        s["next"] = call(sid, detail="transcript")
        lines.append(f"Every turn: {s['next']}")
    return View(s, "\n".join(lines))


def summarize(record: SimulationRecord, *, budget: int | None = None) -> View:
    """The summary, clipped harder level by level until text + structured fit `budget` bytes.

    Criteria ids and results and the failed tool calls (up to MAX_TOOL_ERRORS) are never dropped,
    so a simulation with very many of them may exceed the budget.
    """
    if budget is None:
        budget = TESTS_SUMMARY_BUDGET if record.backend == "tests" else SUMMARY_BUDGET
    view = _summary_view(record, _LEVELS[0])
    for lim in _LEVELS[1:]:
        if view.size() <= budget:
            break
        view = _summary_view(record, lim)
    return view


# --- transcript ---------------------------------------------------------------------------------


def condense_turn(index: int, turn: Turn, limit: int = TRANSCRIPT_TURN_CHARS) -> CondensedTurn:
    out: CondensedTurn = {"i": index, "role": turn.role}
    if turn.message:
        out["text"] = clip(turn.message, limit)
    tools: list[ToolCallItem | ToolResultItem] = []
    for c in turn.tool_calls or []:
        tools.append({"call": c.tool_name or "?", "params": clip(c.params_as_json, 200)})
    for r in turn.tool_results or []:
        item: ToolResultItem = {"result": r.tool_name or "?", "value": clip(r.result_value, 200)}
        if r.is_error:
            item["error"] = True
        tools.append(item)
    if tools:
        out["tools"] = tools
    if turn.interrupted:
        out["interrupted"] = True
    return out


def _turn_text(item: CondensedTurn) -> str:
    parts = [f"#{item['i']} {item['role']}: {item.get('text', '')}".rstrip()]
    for t in item.get("tools", []):
        if "call" in t:
            parts.append(f"[call {t['call']} {t['params']}]")
        else:
            failed = "FAILED " if t.get("error") else ""
            parts.append(f"[{failed}result {t['result']}: {t['value']}]")
    return " ".join(parts)


def transcript_pages(record: SimulationRecord) -> list[list[CondensedTurn]]:
    """Condensed turns split into pages of at most TRANSCRIPT_PAGE_BYTES (one turn at least)."""
    budget = TRANSCRIPT_PAGE_BYTES - 1_000  # room for the header, footer and metadata
    pages: list[list[CondensedTurn]] = [[]]
    used = 0
    for index, turn in enumerate(parse_turns(record.turns)):
        item = condense_turn(index, turn)
        cost = len(compact_json(item).encode()) + len(_turn_text(item).encode()) + 2
        if pages[-1] and used + cost > budget:
            pages.append([])
            used = 0
        pages[-1].append(item)
        used += cost
    return pages


def transcript_page(record: SimulationRecord, page: int = 1) -> View:
    sid = record.simulation_id
    pages = transcript_pages(record)
    if not 1 <= page <= len(pages):
        raise PageError(f"page {page} does not exist: the transcript has {len(pages)} page(s)")
    items = pages[page - 1]
    s: TranscriptContent = {
        "simulation_id": sid,
        "status": record.status,
        "detail": "transcript",
        "page": page,
        "pages": len(pages),
        "turns_total": len(record.turns),
        "turns": items,
    }
    span = f"turns {items[0]['i']}-{items[-1]['i']}" if items else "no turns"
    where = f"transcript page {page}/{len(pages)} · {span} of {len(record.turns)}"
    lines = [f"{sid} · {record.status} · {where}"]
    if record.error:
        lines.append(f"Error: {clip(record.error, ERROR_CHARS)}")
    lines += [_turn_text(item) for item in items]
    if page < len(pages):
        s["next"] = call(sid, detail="transcript", page=page + 1)
        lines.append(f"Next page: {s['next']}")
    elif not record.finished:
        s["next"] = call(sid, detail="transcript", page=page, wait_seconds=WAIT_HINT_SECONDS)
        lines.append(f"Still running; for the turns to come: {s['next']}")
    return View(s, "\n".join(lines))


# --- full ---------------------------------------------------------------------------------------


def full_page(record: SimulationRecord, page: int = 1) -> View:
    sid = record.simulation_id
    raw = record.raw_json()
    pages = max(1, math.ceil(len(raw) / FULL_PAGE_CHARS))
    if not 1 <= page <= pages:
        raise PageError(f"page {page} does not exist: the raw JSON has {pages} page(s)")
    start = (page - 1) * FULL_PAGE_CHARS
    chunk = raw[start : start + FULL_PAGE_CHARS]
    s: FullContent = {
        "simulation_id": sid,
        "status": record.status,
        "detail": "full",
        "page": page,
        "pages": pages,
        "chars": len(raw),
        "bytes": len(raw.encode()),
        "json": chunk,
    }
    head = (
        f"{sid} · {record.status} · raw JSON page {page}/{pages} "
        f"(characters {start}-{start + len(chunk)} of {len(raw)}; the pages concatenate)"
    )
    tail = ""
    if page < pages:
        s["next"] = call(sid, detail="full", page=page + 1)
        tail = f"\nNext page: {s['next']}"
    return View(s, f"{head}\n{chunk}{tail}")


def render(record: SimulationRecord, detail: str = "summary", page: int = 1) -> View:
    if detail == "summary":
        return summarize(record)
    if detail == "transcript":
        return transcript_page(record, page)
    if detail == "full":
        return full_page(record, page)
    raise ValueError(f"detail must be one of {', '.join(DETAILS)}")
