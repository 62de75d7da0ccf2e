"""`PATCH /v1/convai/agents/{agent_id}` as the real API does it: a partial body merged in.

Rules: objects are merged key by key at every depth; lists and scalars replace what was there;
an explicit null sets a nested field to null (a top-level null changes nothing). The fields the
engine and the clients read are type-checked first, and a bad one is a FastAPI 422 naming it
(`loc: ["body", "conversation_config", "agent", "prompt", "prompt"]`); nothing is stored then.
`prompt.tool_ids` alone (without `prompt.tools`) picks tools from `GET /v1/convai/tools` by id.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from agents_mcp.jsontypes import JSONObject

# path (under the body) -> expected JSON type; a `*` step means "each item of the list"
_TYPES: dict[tuple[str, ...], str] = {
    ("name",): "string",
    ("tags",): "array",
    ("tags", "*"): "string",
    ("version_description",): "string",
    ("conversation_config",): "object",
    ("platform_settings",): "object",
    ("workflow",): "object",
    ("conversation_config", "agent"): "object",
    ("conversation_config", "agent", "first_message"): "string",
    ("conversation_config", "agent", "language"): "string",
    ("conversation_config", "agent", "dynamic_variables"): "object",
    ("conversation_config", "agent", "dynamic_variables", "dynamic_variable_placeholders"): (
        "object"
    ),
    ("conversation_config", "agent", "prompt"): "object",
    ("conversation_config", "agent", "prompt", "prompt"): "string",
    ("conversation_config", "agent", "prompt", "llm"): "string",
    ("conversation_config", "agent", "prompt", "temperature"): "number",
    ("conversation_config", "agent", "prompt", "max_tokens"): "integer",
    ("conversation_config", "agent", "prompt", "tools"): "array",
    ("conversation_config", "agent", "prompt", "tools", "*"): "object",
    ("conversation_config", "agent", "prompt", "tool_ids"): "array",
    ("conversation_config", "agent", "prompt", "tool_ids", "*"): "string",
    ("conversation_config", "tts"): "object",
    ("conversation_config", "tts", "voice_id"): "string",
    ("conversation_config", "tts", "model_id"): "string",
    ("conversation_config", "tts", "stability"): "number",
    ("conversation_config", "tts", "speed"): "number",
    ("conversation_config", "turn"): "object",
    ("conversation_config", "turn", "turn_timeout"): "number",
    ("conversation_config", "conversation"): "object",
    ("conversation_config", "conversation", "max_duration_seconds"): "integer",
    ("conversation_config", "conversation", "text_only"): "boolean",
    ("platform_settings", "evaluation"): "object",
    ("platform_settings", "evaluation", "criteria"): "array",
    ("platform_settings", "evaluation", "criteria", "*"): "object",
    ("platform_settings", "data_collection"): "object",
    ("platform_settings", "auth"): "object",
}
_PYDANTIC = {
    "string": ("string_type", "Input should be a valid string"),
    "array": ("list_type", "Input should be a valid list"),
    "object": ("dict_type", "Input should be a valid dictionary"),
    "number": ("float_type", "Input should be a valid number"),
    "integer": ("int_type", "Input should be a valid integer"),
    "boolean": ("bool_type", "Input should be a valid boolean"),
}


def _fits(value: Any, kind: str) -> bool:
    if value is None:
        return True
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int)
    return isinstance(value, (int, float))


def check(body: Any) -> list[JSONObject]:
    """FastAPI-style errors for a PATCH body (empty when it is acceptable)."""
    if not isinstance(body, dict):
        return [_error(("body",), "object", body)]
    errors: list[JSONObject] = []
    _walk(body, (), ("body",), errors)
    return errors


def _walk(node: Any, path: tuple[str, ...], loc: tuple[Any, ...], errors: list[JSONObject]) -> None:
    """Check the typed fields under `node`; `path` uses `*` for list items, `loc` their index."""
    if isinstance(node, dict):
        items: list[tuple[str | int, Any]] = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return
    for key, value in items:
        step = "*" if isinstance(key, int) else key
        kind = _TYPES.get((*path, step))
        if kind is None:
            continue
        if not _fits(value, kind):
            errors.append(_error((*loc, key), kind, value))
            continue
        _walk(value, (*path, step), (*loc, key), errors)


def _error(loc: tuple[Any, ...], kind: str, value: Any) -> JSONObject:
    code, msg = _PYDANTIC[kind]
    return {"type": code, "loc": list(loc), "msg": msg, "input": value}


def merge(base: JSONObject, patch: JSONObject) -> JSONObject:
    """`base` with `patch` merged in (a new document; neither argument is changed)."""
    out = copy.deepcopy(base)
    _merge_into(out, patch)
    return out


def _merge_into(target: JSONObject, patch: JSONObject) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def apply(doc: JSONObject, body: JSONObject) -> JSONObject:
    """The agent document after the PATCH (top-level nulls and unknown keys are ignored)."""
    known = ("name", "tags", "conversation_config", "platform_settings", "workflow")
    patch = {k: v for k, v in body.items() if k in known and v is not None}
    updated = merge(doc, patch)
    meta = updated.get("metadata")
    if isinstance(meta, dict):
        meta["updated_at_unix_secs"] = int(time.time())
    return updated
