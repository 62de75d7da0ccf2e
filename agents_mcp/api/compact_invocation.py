"""A test invocation in its compact form: every run as the API sent it, its transcript packed.

An invocation of a big suite is megabytes of JSON, nine tenths of it the runs' transcripts
(`agent_responses`), which only a transcript view reads. `decode` turns the body of a GET into
the API's JSON with, in each run, `agent_responses` replaced by PACKED:
    {"turns": <count>, "tool_results": [{"turn", "tool_name", "result_value", "is_error"}],
     "zlib_b64": <the transcript's JSON text exactly as sent, zlib-compressed, base64>}
i.e. the few facts every summary reads of every run, beside the whole transcript kept as bytes
(a tenth of its parsed size), decoded on demand by `transcript`. It is still plain JSON, so the
record that holds it is stored (and read back by another replica) as it is.

Rules:
- `decode` checks the body as `TestInvocation` would (same errors for the caller to map); a run
  that is finished and unchanged since `previous` (same fields, transcript aside) is taken from
  it as it is: a poll re-packs only the runs that changed. It works in steps (`decode_steps`) so
  an async caller can let the event loop run between batches of runs.
- A run without a transcript (pending, or `agent_responses` null or empty) is left as sent; the
  readers below take a run in either form (and the full form of records stored before).
- A tool result's `result_value` is kept in the facts up to RESULT_CHARS characters.
- `expanded_invocation` / `to_json` write an invocation back in the API's shape (the
  transcripts unpacked into `agent_responses`) without parsing them.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import msgspec

from agents_mcp.jsontypes import JSON, JSONObject

__all__ = [
    "PACKED",
    "decode",
    "decode_steps",
    "expanded_invocation",
    "expanded_runs",
    "to_json",
    "tool_results",
    "transcript",
    "turn_count",
]

PACKED = "agents_mcp_transcript"
TRANSCRIPT = "agent_responses"
RESULT_CHARS = 2_000
STEP_RUNS = 50  # runs decoded between two steps (a step: about 6 ms of CPU)
_LEVEL = 1  # zlib: 5-7x smaller on transcripts, at about 250 MB/s


class _Turn(msgspec.Struct):
    """What the facts read of one transcript entry (any other field is skipped, not built)."""

    tool_results: msgspec.Raw = msgspec.Raw(b"null")


_FIELDS = msgspec.json.Decoder(dict[str, msgspec.Raw])
_RUNS = msgspec.json.Decoder(list[dict[str, msgspec.Raw]] | None)
_TURNS = msgspec.json.Decoder(list[_Turn] | None)
_ANY = msgspec.json.Decoder()
_EMPTY = (b"null", b"[]")


class Decoded:
    """The result of `decode_steps`, filled once its steps are exhausted."""

    invocation: JSONObject


def decode(body: bytes | bytearray, previous: Mapping[str, Any] | None = None) -> JSONObject:
    """The compact invocation of `body` (see the module doc); raises on a malformed body."""
    out = Decoded()
    for _ in decode_steps(body, previous, out):
        pass
    return out.invocation


def decode_steps(
    body: bytes | bytearray, previous: Mapping[str, Any] | None, out: Decoded
) -> Iterator[None]:
    """`decode` in steps of STEP_RUNS runs; `out.invocation` is set at the end. Raises
    msgspec.DecodeError / ValidationError or pydantic's ValidationError on a malformed body."""
    from agents_mcp.api.testing_models import TestInvocation, TestRun

    top = _FIELDS.decode(body)
    runs_raw = top.pop("test_runs", None)
    head: JSONObject = {key: _ANY.decode(raw) for key, raw in top.items()}
    del top
    TestInvocation.model_validate(head)
    runs = _RUNS.decode(runs_raw) if runs_raw is not None else None
    del runs_raw
    if runs is None:  # null: the model refuses it
        TestInvocation.model_validate({**head, "test_runs": None})
        runs = []
    held = _finished_runs(previous)
    compact: list[JSONObject] = []
    for index, fields in enumerate(runs):
        compact.append(_compact_run(fields, held, TestRun))
        runs[index] = {}  # the raw views go as soon as read
        if index % STEP_RUNS == STEP_RUNS - 1:
            yield
    head["test_runs"] = compact
    out.invocation = head


def _finished_runs(previous: Mapping[str, Any] | None) -> dict[str, JSONObject]:
    """The previous document's finished runs by run id."""
    if previous is None:
        return {}
    runs = previous.get("test_runs")
    held: dict[str, JSONObject] = {}
    for run in runs if isinstance(runs, list) else ():
        if isinstance(run, dict) and run.get("status") not in (None, "pending"):
            run_id = run.get("test_run_id")
            if isinstance(run_id, str):
                held[run_id] = run
    return held


def _compact_run(
    fields: dict[str, msgspec.Raw], held: Mapping[str, JSONObject], model: Any
) -> JSONObject:
    raw_turns = fields.pop(TRANSCRIPT, None)
    run: JSONObject = {key: _ANY.decode(raw) for key, raw in fields.items()}
    before = held.get(run["test_run_id"]) if isinstance(run.get("test_run_id"), str) else None
    if before is not None and PACKED in before:
        same = {k: v for k, v in before.items() if k != PACKED}
        if same == run and raw_turns is not None and bytes(raw_turns) not in _EMPTY:
            return before  # finished and unchanged: not parsed nor packed again
    if raw_turns is None:
        model.model_validate(run)
        return run
    turns = _TURNS.decode(raw_turns)  # each entry must be an object, as the model says
    text = bytes(raw_turns)
    if not turns:
        run[TRANSCRIPT] = _ANY.decode(text)
        model.model_validate(run)
        return run
    model.model_validate(run)
    run[PACKED] = {
        "turns": len(turns),
        "tool_results": _facts(turns),
        "zlib_b64": base64.b64encode(zlib.compress(text, _LEVEL)).decode("ascii"),
    }
    return run


def _facts(turns: list[_Turn]) -> list[JSONObject]:
    out: list[JSONObject] = []
    for number, turn in enumerate(turns, start=1):
        raw = turn.tool_results
        if bytes(raw) in _EMPTY:
            continue
        results = _ANY.decode(raw)
        for result in results if isinstance(results, list) else ():
            if not isinstance(result, dict):
                continue
            value = result.get("result_value")
            if isinstance(value, str) and len(value) > RESULT_CHARS:
                value = value[:RESULT_CHARS]
            out.append(
                {
                    "turn": number,
                    "tool_name": result.get("tool_name"),
                    "result_value": value,
                    "is_error": result.get("is_error"),
                }
            )
    return out


# --- readers: a run in either form -------------------------------------------------------------


def _packed(run: Mapping[str, Any]) -> Mapping[str, Any] | None:
    packed = run.get(PACKED)
    return packed if isinstance(packed, Mapping) else None


def _unpacked_bytes(packed: Mapping[str, Any]) -> bytes | None:
    data = packed.get("zlib_b64")
    if not isinstance(data, str):
        return None
    try:
        return zlib.decompress(base64.b64decode(data, validate=True))
    except (binascii.Error, zlib.error, ValueError):
        return None


def transcript(run: Mapping[str, Any]) -> list[JSON]:
    """The run's transcript entries as the API sent them ([] when it has none)."""
    packed = _packed(run)
    if packed is None:
        turns = run.get(TRANSCRIPT)
        return turns if isinstance(turns, list) else []
    text = _unpacked_bytes(packed)
    try:
        turns = _ANY.decode(text) if text is not None else None
    except msgspec.DecodeError:
        turns = None
    return turns if isinstance(turns, list) else []


def turn_count(run: Mapping[str, Any]) -> int:
    """How many transcript entries are objects (what the analysis counts as turns)."""
    packed = _packed(run)
    if packed is not None:
        count = packed.get("turns")
        return count if isinstance(count, int) else 0
    turns = run.get(TRANSCRIPT)
    return sum(isinstance(t, Mapping) for t in turns) if isinstance(turns, list) else 0


def tool_results(run: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    """(1-based turn number, tool result) of every tool result of the run, in order."""
    packed = _packed(run)
    if packed is not None:
        facts = packed.get("tool_results")
        return [
            (r["turn"], r)
            for r in (facts if isinstance(facts, list) else ())
            if isinstance(r, Mapping) and isinstance(r.get("turn"), int)
        ]
    out: list[tuple[int, Mapping[str, Any]]] = []
    turns = [t for t in run.get(TRANSCRIPT) or () if isinstance(t, Mapping)]
    for number, turn in enumerate(turns, start=1):
        results = turn.get("tool_results")
        for result in results if isinstance(results, list) else ():
            if isinstance(result, Mapping):
                out.append((number, result))
    return out


def expanded_run(run: Mapping[str, Any]) -> Mapping[str, Any]:
    """The run in the API's shape: its packed transcript (if any) back as `agent_responses`,
    written as the raw JSON text it was (msgspec.Raw), not parsed."""
    packed = _packed(run)
    if packed is None:
        return run
    out = {k: v for k, v in run.items() if k != PACKED}
    text = _unpacked_bytes(packed)
    out[TRANSCRIPT] = msgspec.Raw(text) if text is not None else []
    return out


def expanded_runs(runs: Iterable[Any]) -> list[Any]:
    return [expanded_run(r) if isinstance(r, Mapping) else r for r in runs]


def expanded_invocation(invocation: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """A shallow copy of the invocation with every run in the API's shape."""
    if invocation is None:
        return None
    runs = invocation.get("test_runs")
    if not isinstance(runs, list):
        return invocation
    return {**invocation, "test_runs": expanded_runs(runs)}


def to_json(document: Any) -> bytes:
    """Compact UTF-8 JSON, the unpacked transcripts (msgspec.Raw) written as they were."""
    return msgspec.json.encode(document)
