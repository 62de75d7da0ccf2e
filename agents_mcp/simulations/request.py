"""Flat tool arguments -> the API's full simulate body, checked against the strict model.

The common case costs a model few tokens (user_prompt, criteria as sentences, tool mocks as
{tool: {return, is_error}}); anything else of the body goes in `advanced`, whose keys are routed
to where they belong (the body, its simulation_specification, or the simulated user's config)
and validated like the rest. Every problem is reported per field, named as the model wrote it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from agents_mcp.api import models
from agents_mcp.jsontypes import JSONObject


class RequestBuildError(ValueError):
    """The arguments cannot make a valid request; `problems` lists "field: reason" strings."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        # names and keys in these come from the caller: clip each, whatever its size
        shown = "; ".join(_clip(problem, 300) for problem in problems[:8])
        more = f"; and {len(problems) - 8} more" if len(problems) > 8 else ""
        super().__init__(
            f"Invalid simulation arguments, nothing was started: {shown}{more}. "
            "Fix these and call again."
        )


_SPEC = "simulation_specification"
_USER = "simulated_user_config"
# Where each flat argument ends up, so a validation error names the argument, not the API path.
_ARG_PATHS = {
    f"{_SPEC}.{_USER}.prompt.prompt": "user_prompt",
    f"{_SPEC}.{_USER}.prompt.llm": "user_llm",
    f"{_SPEC}.{_USER}.first_message": "first_message",
    f"{_SPEC}.{_USER}.language": "language",
    f"{_SPEC}.tool_mock_config": "tool_mocks",
    f"{_SPEC}.dynamic_variables": "dynamic_variables",
    "new_turns_limit": "max_turns",
    "extra_evaluation_criteria": "criteria",
}
_MOCK_KEYS = {
    "return": "default_return_value",
    "default_return_value": "default_return_value",
    "is_error": "default_is_error",
    "default_is_error": "default_is_error",
}


_FILLER = frozenset({"a", "an", "the"})


MAX_CRITERIA = 30  # criteria one simulation or scenario may carry


def slug(text: str, limit: int = 40) -> str:
    """A criterion id from its sentence: "The agent greets the caller" -> agent_greets_caller."""
    words = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _FILLER]
    out = ""
    for word in words:
        candidate = f"{out}_{word}" if out else word
        if len(candidate) > limit:
            break
        out = candidate
    return out or "criterion"


def _criteria(criteria: list[Any], problems: list[str]) -> list[JSONObject]:
    if len(criteria) > MAX_CRITERIA:  # each is judged and listed with its reason in the summary
        problems.append(
            f"criteria: {len(criteria)} given, at most {MAX_CRITERIA}; merge related ones or "
            "split them over several runs"
        )
        return []
    out: list[JSONObject] = []
    seen: set[str] = set()
    for n, item in enumerate(criteria):
        where = f"criteria[{n}]"
        if isinstance(item, str):
            goal, name, cid = item.strip(), None, None
        elif isinstance(item, Mapping):
            unknown = set(item) - {"id", "name", "goal", "conversation_goal_prompt"}
            if unknown:
                problems.append(f"{where}: unknown key(s) {sorted(unknown)}; use id, name, goal")
                continue
            goal = str(item.get("goal") or item.get("conversation_goal_prompt") or "").strip()
            name, cid = item.get("name"), item.get("id")
        else:
            problems.append(f"{where}: must be a sentence or {{id, name, goal}}")
            continue
        if not goal:
            problems.append(f"{where}: the goal is empty")
            continue
        cid = str(cid) if cid else slug(str(name or goal))
        base, k = cid, 2
        while cid in seen:
            cid, k = f"{base}_{k}", k + 1
        seen.add(cid)
        short = goal if len(goal) <= 60 else goal[:59].rstrip() + "…"
        out.append(
            {
                "id": cid,
                "name": str(name or short),
                "conversation_goal_prompt": goal,
                "type": "prompt",
            }
        )
    return out


def _tool_mocks(mocks: Mapping[str, Any], problems: list[str]) -> dict[str, JSONObject]:
    out: dict[str, JSONObject] = {}
    for tool, mock in mocks.items():
        where = f"tool_mocks.{_clip(tool, 60)}"
        if not isinstance(mock, Mapping):
            problems.append(f"{where}: must be an object like {{return, is_error}}")
            continue
        entry: JSONObject = {}
        for key, value in mock.items():
            api_key = _MOCK_KEYS.get(key)
            if api_key is None:
                problems.append(
                    f"{where}: unknown key {_clip(repr(key), 60)}; use return and is_error"
                )
                continue
            if api_key == "default_return_value" and not isinstance(value, str):
                value = json.dumps(value, ensure_ascii=False)  # the API wants the text returned
            entry[api_key] = value
        out[tool] = entry
    return out


def _merge(base: JSONObject, extra: Mapping[str, Any]) -> JSONObject:
    """Deep merge: objects merge key by key, anything else in `extra` replaces."""
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        elif isinstance(value, Mapping):
            base[key] = _merge({}, value)
        else:
            base[key] = value
    return base


def _route_advanced(advanced: Mapping[str, Any], problems: list[str]) -> JSONObject:
    """Place each key of `advanced` at its level of the body (body, specification, user)."""
    body: JSONObject = {}
    levels = (
        ((), set(models.SimulateRequest.model_fields)),
        ((_SPEC,), set(models.SimulationSpecification.model_fields)),
        ((_SPEC, _USER), set(models.SimulatedUserConfig.model_fields)),
    )
    for key, value in advanced.items():
        for path, fields in levels:
            if key in fields:
                piece: JSONObject = {key: value}
                for part in reversed(path):
                    piece = {part: piece}
                _merge(body, piece)
                break
        else:
            problems.append(
                f"advanced.{key}: not a field of the simulate request (body: "
                f"{', '.join(models.SimulateRequest.model_fields)}; {_SPEC}: "
                f"{', '.join(models.SimulationSpecification.model_fields)}; {_USER}: "
                f"{', '.join(models.SimulatedUserConfig.model_fields)})"
            )
    return body


def _clip(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_SHARED = {_SPEC, f"{_SPEC}.{_USER}", f"{_SPEC}.{_USER}.prompt"}  # flat and advanced both fill


def _location(loc: tuple[Any, ...], from_advanced: set[str]) -> str:
    """The field as the caller wrote it: a flat argument's name, or `advanced.<path>`."""
    parts = [str(p) for p in loc]
    path = ".".join(parts)
    prefixes = {".".join(parts[:n]) for n in range(1, len(parts) + 1)}
    shown = ".".join(_clip(p, 40) for p in parts)  # dict keys in the path are the caller's
    if (prefixes & from_advanced) - _SHARED:
        return f"advanced.{shown}"
    for api_path, arg in _ARG_PATHS.items():
        if path == api_path or path.startswith(api_path + "."):
            return f"{arg} ({shown})"
    return shown


def build_request(
    user_prompt: str,
    *,
    first_message: str | None = None,
    language: str | None = None,
    user_llm: str | None = None,
    criteria: list[Any] | None = None,
    tool_mocks: Mapping[str, Any] | None = None,
    dynamic_variables: Mapping[str, Any] | None = None,
    max_turns: int | None = None,
    advanced: Mapping[str, Any] | None = None,
) -> models.SimulateRequest:
    """The validated request. Flat arguments win over the same field given in `advanced`."""
    problems: list[str] = []
    if not user_prompt or not user_prompt.strip():
        problems.append("user_prompt: describe the simulated caller (who they are, what they want)")
    body = _route_advanced(advanced, problems) if advanced else {}
    advanced_paths = _paths(body)

    user: JSONObject = {"prompt": {"prompt": user_prompt}}
    if user_llm is not None:
        user["prompt"]["llm"] = user_llm
    if first_message is not None:
        user["first_message"] = first_message
    if language is not None:
        user["language"] = language
    spec: JSONObject = {_USER: user}
    if tool_mocks:
        spec["tool_mock_config"] = _tool_mocks(tool_mocks, problems)
    if dynamic_variables:
        spec["dynamic_variables"] = dict(dynamic_variables)
    flat: JSONObject = {_SPEC: spec}
    if max_turns is not None:
        flat["new_turns_limit"] = max_turns
    _merge(body, flat)
    if criteria:
        extra = body.get("extra_evaluation_criteria")
        listed = extra if isinstance(extra, list) else []
        body["extra_evaluation_criteria"] = [*listed, *_criteria(criteria, problems)]
    try:  # validate even after a problem, so that every problem is reported at once
        request = models.SimulateRequest.model_validate(body)
    except ValidationError as exc:
        problems += [
            f"{_location(e['loc'], advanced_paths)}: {_clip(e['msg'])}" for e in exc.errors()
        ]
    if problems:
        raise RequestBuildError(problems)
    return request


def _paths(body: Mapping[str, Any], prefix: str = "") -> set[str]:
    """Every dotted path set in `body` (to tell an `advanced` field from a flat argument)."""
    out: set[str] = set()
    for key, value in body.items():
        path = f"{prefix}{key}"
        out.add(path)
        if isinstance(value, Mapping):
            out |= _paths(value, path + ".")
    return out
