"""Text heuristics: finding names, days, party sizes, order numbers and items in a prompt,
the user's goal sentence, person changes (you -> I), keywords, snippets. The names keep their
leading underscore: helpers shared inside the engine package, not its API.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agents_mcp.sandbox.engine.agent_doc import ToolSpec
from agents_mcp.sandbox.engine.vocabulary import NUMBERS, STOPWORDS, TURN_DIRECTIVE, WEEKDAYS


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pick_var(values: dict[str, str], *names: str) -> str | None:
    for name in names:
        if values.get(name):
            return values[name]
    return None


def _user_name(prompt: str) -> str | None:
    match = re.search(r"\b(?:[Yy]ou are|[Yy]our name is|named|called) ([A-Z][a-z]{1,20})\b", prompt)
    if match and match.group(1) not in {"A", "An", "The", "Very", "Not", "In", "On", "At"}:
        return match.group(1)
    return None


def _find_day(prompt: str) -> str | None:
    days = "|".join(WEEKDAYS)
    match = re.search(rf"\b(?:(next|this) )?({days}|tomorrow|tonight)\b", prompt, re.I)
    if not match:
        return None
    day = match.group(2).lower()
    day = day.capitalize() if day in WEEKDAYS else day
    return f"{match.group(1).lower()} {day}" if match.group(1) else day


def _find_party(prompt: str) -> str | None:
    words = "|".join(NUMBERS)
    match = re.search(
        rf"\b(?:table for|party of|group of) ({words}|\d{{1,2}})\b|"
        rf"\b({words}|\d{{1,2}}) (?:people|guests|persons|of us)\b",
        prompt,
        re.I,
    )
    if not match:
        return None
    raw = (match.group(1) or match.group(2)).lower()
    if raw.isdigit():
        return NUMBERS[int(raw) - 1] if 1 <= int(raw) <= len(NUMBERS) else None
    return raw


def _find_order(text: str) -> str | None:
    match = re.search(
        r"\b(?:order|#)\s*(?:number\s*|no\.?\s*|id\s*)?#?\s*([A-Z]{0,4}-?\d{3,})", text, re.I
    )
    return match.group(1) if match else None


def _find_item(text: str) -> str | None:
    match = re.search(
        r"\b(?:my|the|a|new|whose|his|her|their|your) ((?:[a-z]+ )?[a-z]+) "
        r"(?:arrived|is|was|are|were|broke|stopped|has|came|works|work|does)\b",
        text,
    )
    if match and match.group(1).split()[-1] not in {
        "order",
        "account",
        "subscription",
        "call",
        "it",
    }:
        return match.group(1)
    return None


def _goal_sentence(prompt: str) -> str:
    """The simulated user's goal, turned from 'you' to 'I' (a line the user can say)."""
    sentences = re.split(r"(?<=[.!?])\s+", prompt.strip())
    for sentence in sentences:
        low = sentence.lower()
        if TURN_DIRECTIVE.search(sentence) or "[" in sentence:
            continue
        if any(
            w in low for w in ("want", "need", "would like", "looking for", "trying to", "hope")
        ):
            line = _first_person(sentence.strip())
            if 8 <= len(line) <= 220:
                return line[0].upper() + line[1:]
    return ""


_PRONOUNS = [
    (r"\byou are\b", "I am"),
    (r"\byou're\b", "I'm"),
    (r"\byou have\b", "I have"),
    (r"\byou've\b", "I've"),
    (r"\byou were\b", "I was"),
    (r"\byourself\b", "myself"),
    (r"\byours\b", "mine"),
    (r"\byour\b", "my"),
    (r"\byou\b", "I"),
]


def _first_person(sentence: str) -> str:
    out = sentence
    for pattern, repl in _PRONOUNS:
        out = re.sub(pattern, repl, out, flags=re.I)
    out = re.sub(r"\bI am a (?:customer|user|caller) (?:who|that) ", "I ", out)
    out = re.sub(r"\b(wants|needs)\b", lambda m: m.group(1)[:-1], out)
    return out


def _third_person(text: str) -> str:
    for pattern, repl in (
        (r"\bI'm\b", "they're"),
        (r"\bI am\b", "they are"),
        (r"\bmy\b", "their"),
        (r"\bme\b", "them"),
        (r"\bI\b", "they"),
    ):
        text = re.sub(pattern, repl, text)
    return text


def _has_word(tool: ToolSpec, words: tuple[str, ...]) -> bool:
    low = f"{tool.name} {tool.description}".lower().replace("_", " ")
    return any(re.search(rf"\b{w}", low) for w in words)


def _keywords(goal: str) -> list[str]:
    words = re.findall(r"[a-z][a-z'-]{3,}", goal.replace("'s", ""))
    out: list[str] = []
    for word in words:
        if word in STOPWORDS:
            continue
        stem = re.sub(r"(ing|ed|es|s)$", "", word) if len(word) > 5 else word
        if stem not in out:
            out.append(stem)
    return out[:8]


def _snippet(value: str, limit: int = 80) -> str:
    value = " ".join(str(value).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _describe(result: str, tool_name: str) -> str:
    try:
        data = json.loads(result)
    except (TypeError, ValueError):
        return f"Here's what I found: {_snippet(result, 160)}"
    if isinstance(data, dict):
        parts: list[str] = []
        for key, value in data.items():
            if isinstance(value, bool) and len(parts) < 3:
                label = key.replace("_", " ")
                parts.append(f"it's {label}" if value else f"it's not {label}")
            elif isinstance(value, (str, int, float)) and len(parts) < 3:
                parts.append(f"the {key.replace('_', ' ')} is {_text(value)}")
            elif isinstance(value, list) and value and len(parts) < 3:
                parts.append(
                    f"the {key.replace('_', ' ')} are {', '.join(_text(v) for v in value[:3])}"
                )
        if parts:
            return (
                "I can see that "
                + ", ".join(parts[:-1])
                + (" and " if len(parts) > 1 else "")
                + parts[-1]
                + "."
            )
    return f"The {tool_name.replace('_', ' ')} check came back: {_snippet(result, 160)}"
