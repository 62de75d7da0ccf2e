"""Pure functions: the paged views of a simulation record, and `render` choosing a view by detail.

No I/O here. Next to the summary (agents_mcp/simulations/summary.py):
- `transcript`: every turn condensed (role, clipped message, tool calls and results), paged by
  bytes (page boundaries between turns, one turn a page at least).
- `full`: the raw result JSON, paged by characters (the pages concatenate to the exact JSON).
Every page that has a next one names the exact call that fetches it (`next`).
"""

from __future__ import annotations

import math

from agents_mcp.api.models import Turn
from agents_mcp.simulations.payload import (
    SimulationFull,
    SimulationPayload,
    SimulationTranscript,
    ToolCallItem,
    ToolResultItem,
    TranscriptTurn,
)
from agents_mcp.simulations.record import SimulationRecord
from agents_mcp.simulations.summary import (
    DETAILS,
    ERROR_CHARS,
    WAIT_HINT_SECONDS,
    PageError,
    View,
    call,
    clip,
    compact_json,
    parse_turns,
    summarize,
)

TRANSCRIPT_PAGE_BYTES = 20_000  # text + structured, i.e. ~6k tokens: well under 25k
TRANSCRIPT_TURN_CHARS = 300
FULL_PAGE_CHARS = 12_000  # carried twice (text, and escaped in structured): ~8k tokens a page


# --- transcript ---------------------------------------------------------------------------------


def condense_turn(index: int, turn: Turn, limit: int = TRANSCRIPT_TURN_CHARS) -> TranscriptTurn:
    out: TranscriptTurn = {"i": index, "role": turn.role}
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


def _turn_text(item: TranscriptTurn) -> str:
    parts = [f"#{item['i']} {item['role']}: {item.get('text', '')}".rstrip()]
    for t in item.get("tools", []):
        if "call" in t:
            parts.append(f"[call {t['call']} {t['params']}]")
        else:
            failed = "FAILED " if t.get("error") else ""
            parts.append(f"[{failed}result {t['result']}: {t['value']}]")
    return " ".join(parts)


def transcript_pages(record: SimulationRecord) -> list[list[TranscriptTurn]]:
    """Condensed turns split into pages of at most TRANSCRIPT_PAGE_BYTES (one turn at least)."""
    budget = TRANSCRIPT_PAGE_BYTES - 1_000  # room for the header, footer and metadata
    pages: list[list[TranscriptTurn]] = [[]]
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


def transcript_page(record: SimulationRecord, page: int = 1) -> View[SimulationTranscript]:
    sid = record.simulation_id
    pages = transcript_pages(record)
    if not 1 <= page <= len(pages):
        raise PageError(f"page {page} does not exist: the transcript has {len(pages)} page(s)")
    items = pages[page - 1]
    s: SimulationTranscript = {
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


def full_page(record: SimulationRecord, page: int = 1) -> View[SimulationFull]:
    sid = record.simulation_id
    raw = record.raw_json()
    pages = max(1, math.ceil(len(raw) / FULL_PAGE_CHARS))
    if not 1 <= page <= pages:
        raise PageError(f"page {page} does not exist: the raw JSON has {pages} page(s)")
    start = (page - 1) * FULL_PAGE_CHARS
    chunk = raw[start : start + FULL_PAGE_CHARS]
    s: SimulationFull = {
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


def render(
    record: SimulationRecord, detail: str = "summary", page: int = 1
) -> View[SimulationPayload]:
    if detail == "summary":
        return summarize(record)
    if detail == "transcript":
        return transcript_page(record, page)
    if detail == "full":
        return full_page(record, page)
    raise ValueError(f"detail must be one of {', '.join(DETAILS)}")
