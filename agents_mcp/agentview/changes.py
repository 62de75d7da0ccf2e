"""A change to an agent, shown before it is sent: each field as old -> new, a long text (the
system prompt) as a clipped unified diff.

Pure functions over the validated PATCH body (``changes``) and the agent document (tolerant
dicts). A field is a path of keys: objects are walked, while lists and scalars are replaced
whole, as a PATCH does. ``mismatches`` tells which requested fields an agent document does not
hold, to check a change whose answer was lost.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_MISSING: Any = object()
_LONG_TEXT = 160  # longer strings (or any with a newline) are shown as a unified diff
_VALUE = 120  # characters of a value shown on an old -> new line
_DIFF_LINES = 30  # lines of one unified diff shown
_DIFF_LINE = 160  # characters of one diff line shown
_RENDER_BUDGET = 2_500  # characters of the whole rendering
_MAX_FIELDS = 30  # fields listed


@dataclass(frozen=True)
class FieldChange:
    path: str  # dotted: conversation_config.agent.prompt.temperature
    old: Any  # _MISSING when the agent has no such field
    new: Any

    @property
    def had_value(self) -> bool:
        return self.old is not _MISSING


def leaves(changes: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted path, new value) of every field ``changes`` sets; an empty object is a leaf."""
    out: list[tuple[str, Any]] = []
    for key, value in changes.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            out.extend(leaves(value, path))
        else:
            out.append((path, value))
    return out


def value_at(doc: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(doc, Mapping) or key not in doc:
            return _MISSING
        doc = doc[key]
    return doc


def field_changes(changes: Mapping[str, Any], current: Mapping[str, Any]) -> list[FieldChange]:
    """The fields whose value ``changes`` would change (fields already equal are left out)."""
    found = []
    for path, new in leaves(changes):
        old = value_at(current, path)
        if old is _MISSING and new is None:
            continue
        if not _same(old, new):
            found.append(FieldChange(path, old, new))
    return found


def mismatches(changes: Mapping[str, Any], doc: Mapping[str, Any]) -> list[str]:
    """Paths of the requested fields that ``doc`` does not hold (empty: the change is in it)."""
    return [
        path
        for path, new in leaves(changes)
        if not _same(value_at(doc, path), new) and not (new is None and value_at(doc, path) is None)
    ]


def _same(old: Any, new: Any) -> bool:
    """Equal as JSON; a requested object or list item holds at least the requested keys (the
    API fills defaults into what it stores)."""
    if old is _MISSING:
        return False
    if isinstance(new, Mapping):
        return isinstance(old, Mapping) and all(
            k in old and _same(old[k], v) for k, v in new.items()
        )
    if isinstance(new, list):
        return (
            isinstance(old, list)
            and len(old) == len(new)
            and all(_same(o, n) for o, n in zip(old, new, strict=True))
        )
    if isinstance(new, bool) or isinstance(old, bool):
        return old is new
    if isinstance(new, int | float) and isinstance(old, int | float):
        return float(old) == float(new)
    return bool(old == new)


def _shown(value: Any) -> str:
    if value is _MISSING:
        return "(not set)"
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= _VALUE else text[: _VALUE - 1] + "…"


def _is_long(value: Any) -> bool:
    return isinstance(value, str) and (len(value) > _LONG_TEXT or "\n" in value)


def text_diff(old: str, new: str, *, name: str, max_lines: int = _DIFF_LINES) -> str:
    """A unified diff of two texts (by line; a one-line text is split into sentences), clipped
    to ``max_lines`` lines with a note of how many were left out."""

    def split(text: str) -> list[str]:
        lines = text.splitlines() if "\n" in text else text.replace(". ", ".\n").splitlines()
        return lines or [""]

    diff = list(
        difflib.unified_diff(
            split(old), split(new), f"{name} (now)", f"{name} (new)", n=1, lineterm=""
        )
    )
    if len(diff) > max_lines:
        diff = _clipped(diff, max_lines)
    return "\n".join(
        line if len(line) <= _DIFF_LINE else line[: _DIFF_LINE - 1] + "…" for line in diff
    )


def _clipped(diff: list[str], max_lines: int) -> list[str]:
    """At most ``max_lines`` lines of a diff, half kept for added lines, so the new text shows
    even when a long old one is removed; each run left out becomes one "… N more lines"."""
    budget = {"+": max_lines - max_lines // 2, "-": max_lines // 2}
    kept: list[str] = []
    dropped = 0
    for line in diff:
        kind = "+" if line.startswith("+") and not line.startswith("+++") else "-"
        header = line.startswith(("---", "+++", "@@"))
        if header or budget[kind] > 0:
            if dropped:
                kept.append(f"… {dropped} more lines")
                dropped = 0
            kept.append(line)
            if not header:
                budget[kind] -= 1
        else:
            dropped += 1
    if dropped:
        kept.append(f"… {dropped} more lines")
    return kept


def render(found: list[FieldChange], budget: int = _RENDER_BUDGET) -> str:
    """The change as the user confirms it: one old -> new line per field, then each long text
    as a clipped diff; at most ``budget`` characters in all."""
    shown = found[:_MAX_FIELDS]
    short = [c for c in shown if not (_is_long(c.new) or _is_long(c.old))]
    lines = [f"{c.path}: {_shown(c.old)} -> {_shown(c.new)}" for c in short]
    for change in shown:
        if change in short:
            continue
        old = change.old if isinstance(change.old, str) else ""
        new = change.new if isinstance(change.new, str) else ""
        lines.append(f"{change.path}: {len(old)} -> {len(new)} chars")
        lines.append(text_diff(old, new, name=change.path.rsplit(".", 1)[-1]))
    if len(found) > _MAX_FIELDS:
        lines.append(f"… and {len(found) - _MAX_FIELDS} more fields")
    text = "\n".join(lines)
    if len(text) > budget:
        cut = text.rfind("\n", 0, budget)
        cut = cut if cut > 0 else budget
        text = f"{text[:cut]}\n… {len(text) - cut} more characters of diff"
    return text
