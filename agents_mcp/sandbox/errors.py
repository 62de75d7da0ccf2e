"""The real API's error bodies, and request bodies read and validated the way FastAPI does.

Shapes: `{"detail": {"status", "message"}}` for most errors, FastAPI's list form
(`{"detail": [{"type", "loc", "msg", "input"}]}`) for 422. Unknown keys in a body are ignored,
as by the live API's pydantic models.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from agents_mcp.jsontypes import JSON, JSONObject

_M = TypeVar("_M", bound=BaseModel)

# --- error bodies --------------------------------------------------------------------------


def error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"detail": {"status": code, "message": message}}, status, headers=headers)


def not_found(agent_id: str) -> JSONResponse:
    return error(404, "agent_not_found", f"Agent with id {agent_id} not found.")


def unprocessable(errors: list[JSONObject]) -> JSONResponse:
    return JSONResponse({"detail": errors}, 422)


def fastapi_errors(exc: ValidationError, where: str) -> list[JSONObject]:
    out = []
    for err in exc.errors(include_url=False):
        item = {
            "type": err["type"],
            "loc": [where, *err["loc"]],
            "msg": err["msg"],
            "input": err.get("input"),
        }
        if err.get("ctx"):
            item["ctx"] = {
                k: v if isinstance(v, (str, int, float, bool)) else str(v)
                for k, v in err["ctx"].items()
            }
        out.append(item)
    return out


def validate_lenient(model: type[_M], data: JSON, where: str = "body") -> _M | JSONResponse:
    """Validate like the live API (FastAPI, pydantic defaults): unknown keys are ignored.

    The project's request models forbid unknown keys (to catch a client's typos), so keys they
    refuse are dropped and the data validated again; any other problem is a FastAPI-style 422.
    """
    for _ in range(8):
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            extras = [e["loc"] for e in exc.errors() if e["type"] == "extra_forbidden"]
            others = [e for e in exc.errors() if e["type"] != "extra_forbidden"]
            if not extras or not _drop_keys(data, extras):
                return unprocessable(
                    fastapi_errors(exc, where)
                    if not others
                    else [e for e in fastapi_errors(exc, where) if e["type"] != "extra_forbidden"]
                )
    return unprocessable(
        [{"type": "value_error", "loc": [where], "msg": "Invalid body", "input": None}]
    )


def _drop_keys(data: Any, locations: list[tuple[Any, ...]]) -> bool:
    dropped = False
    for loc in locations:
        node = data
        for part in loc[:-1]:
            in_dict = isinstance(node, dict) and part in node
            in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
            if in_dict or in_list:
                node = node[part]
            # else: a union member's name in the location; stay on this node
        if isinstance(node, dict) and loc[-1] in node:
            del node[loc[-1]]
            dropped = True
    return dropped


async def json_body(request: Request, *, required: bool) -> Any:
    raw = await request.body()
    if not raw.strip():
        if required:
            return unprocessable(
                [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]
            )
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        return unprocessable(
            [
                {
                    "type": "json_invalid",
                    "loc": ["body", getattr(exc, "pos", 0)],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": str(exc).split(":")[0]},
                }
            ]
        )
