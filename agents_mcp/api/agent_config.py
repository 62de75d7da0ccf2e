"""The agent-config endpoints: list agents, read one, change one, list the workspace's tools.

``AgentConfigAPI`` wraps an ``AgentsAPI`` and sends through its machinery (key header, safe
retries, error mapping, size limits, redaction), so these endpoints follow the same rules as the
five original ones:
- ``agent_id`` and ``branch_id`` are checked before any request; path segments are encoded.
- Reads (list, get, tools) are idempotent and retried like any GET.
- ``update_agent`` sends ONE ``PATCH /v1/convai/agents/{agent_id}``: the changes are validated
  strictly (agent_config_models, generated from the official SDK's types) before sending, and a
  PATCH whose answer is lost is never sent again here. Checking whether it took effect (reading
  the agent back and comparing) is the caller's job: the update_agent tool does it.
- Answers are tolerant raw dicts (the live API adds fields): the tools read what they need.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from agents_mcp.api.client import AGENTS_PATH, AgentsAPI, _json_or_none, validate_agent_id
from agents_mcp.api.errors import (
    AgentNotFoundError,
    FieldError,
    RequestValidationError,
    UpstreamError,
)
from agents_mcp.api.failures import Operation, clip

__all__ = ["TOOLS_PATH", "AgentConfigAPI", "validate_changes"]

TOOLS_PATH = "/v1/convai/tools"
_BIG_BODY = 8 * 1024 * 1024  # an agent with a long prompt and many tools is tens of kilobytes
_BRANCH_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_MAX_CURSOR = 2048
_MAX_SEARCH = 200
_MAX_TOOL_PAGES = 20  # 100 tools a page: enough for any workspace the overview names


@dataclass(frozen=True)
class _Op(Operation):
    """An Operation that names itself in messages ("list the agents", "update agent X")."""

    what: str = ""

    @property
    def phrase(self) -> str:
        return self.what or self.name.replace("_", " ")


def _phrase(op: Operation) -> str:
    return op.phrase if isinstance(op, _Op) else op.name.replace("_", " ")


def validate_branch_id(branch_id: object) -> str:
    if isinstance(branch_id, str) and _BRANCH_ID.fullmatch(branch_id):
        return branch_id
    raise RequestValidationError(
        "Invalid branch id: a branch id has 1 to 128 letters, digits, '_' or '-' "
        "(like agtbrch_8901k4t9z5defmb8vh3e9361y7nj). Nothing was sent.",
        errors=[FieldError("branch_id", "not a branch id")],
    )


def validate_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The PATCH body for ``changes``, checked strictly against the API's models.

    Raises RequestValidationError naming every bad field as ``changes.<path>`` (unknown fields
    with the closest valid names). Only the fields given are sent (unset ones stay unset).
    """
    from agents_mcp.api.agent_config_models import AgentConfigChanges

    if not isinstance(changes, Mapping) or not changes:
        raise RequestValidationError(
            "changes is empty: give the fields to change, e.g. "
            '{"conversation_config": {"agent": {"prompt": {"temperature": 0.2}}}}. Nothing was '
            "sent.",
            errors=[FieldError("changes", "no field to change")],
        )
    try:
        checked = AgentConfigChanges.model_validate(dict(changes))
    except ValidationError as exc:
        fields = [_field_error(AgentConfigChanges, err) for err in exc.errors()]
        listed = "; ".join(f"{f.location}: {f.reason}" for f in fields[:8])
        raise RequestValidationError(
            f"The changes do not fit the agent's configuration, so nothing was sent: {listed}.",
            errors=fields,
        ) from None
    return checked.model_dump(mode="json", by_alias=True, exclude_unset=True)


def _field_error(root: type, err: Any) -> FieldError:
    loc = [str(p) for p in err["loc"]]
    # a union's error paths carry the member's class name: keep only the data path
    path = [p for p in loc if not (p[:1].isupper() or p.startswith(("function-", "tagged-")))]
    reason = str(err["msg"])
    if err.get("type") == "extra_forbidden":
        valid = sorted(_names_at(root, path[:-1]))
        if valid:
            import difflib

            close = difflib.get_close_matches(path[-1], valid, n=2, cutoff=0.6)
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            reason = f"unknown field; {hint}valid here: {clip(', '.join(valid), 240)}"
        else:
            reason = "unknown field"
    return FieldError(".".join(["changes", *path]), clip(reason, 300))


def _names_at(model: Any, path: list[str]) -> set[str]:
    """The field names (wire names) valid at ``path`` inside ``model``, or empty if unsure."""
    from typing import get_args

    from pydantic import BaseModel

    def models_in(annotation: Any) -> list[type[BaseModel]]:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return [annotation]
        found: list[type[BaseModel]] = []
        for arg in get_args(annotation):
            found.extend(models_in(arg))
        return found

    current: list[type[BaseModel]] = [model]
    for part in path:
        if part.isdigit():
            continue  # a list index: the item type was already taken from the list annotation
        following: list[type[BaseModel]] = []
        for m in current:
            for name, info in m.model_fields.items():
                if part in (name, info.alias):
                    following.extend(models_in(info.annotation))
        current = following
        if not current:
            return set()
    return {info.alias or name for m in current for name, info in m.model_fields.items()}


class AgentConfigAPI:
    """list_agents, get_agent, update_agent and list_tools over an AgentsAPI's connection."""

    def __init__(self, api: AgentsAPI) -> None:
        self._api = api

    async def list_agents(
        self, search: str | None = None, page_size: int = 30, cursor: str | None = None
    ) -> dict[str, Any]:
        """One page of agents: ``{agents: [...], next_cursor, has_more}`` (tolerant)."""
        if not 1 <= page_size <= 100:
            raise RequestValidationError(
                "page_size must be 1 to 100. Nothing was sent.",
                errors=[FieldError("page_size", "must be 1 to 100")],
            )
        params: dict[str, str] = {"page_size": str(page_size)}
        if search:
            params["search"] = search[:_MAX_SEARCH]
        if cursor:
            if len(cursor) > _MAX_CURSOR:
                raise RequestValidationError(
                    "cursor is too long: pass the next_cursor of the previous page unchanged. "
                    "Nothing was sent.",
                    errors=[FieldError("cursor", "too long")],
                )
            params["cursor"] = cursor
        op = _Op("list_agents", "", idempotent=True, what="list the agents")
        data = await self._get(op, f"{self._api.base_url}{AGENTS_PATH}", params)
        agents = data.get("agents")
        return {
            "agents": [a for a in agents if isinstance(a, dict)]
            if isinstance(agents, list)
            else [],
            "next_cursor": data.get("next_cursor")
            if isinstance(data.get("next_cursor"), str)
            else None,
            "has_more": bool(data.get("has_more")),
        }

    async def get_agent(self, agent_id: str, branch_id: str | None = None) -> dict[str, Any]:
        """The agent's whole document as the API returns it (tolerant raw dict)."""
        agent_id = validate_agent_id(agent_id)
        params = {"branch_id": validate_branch_id(branch_id)} if branch_id else None
        op = _Op("get_agent", agent_id, idempotent=True, what=f"read agent {agent_id}")
        try:
            return await self._get(op, self._api._url(agent_id), params, agent=True)
        except AgentNotFoundError as exc:
            if branch_id and exc.code == "branch_not_found":
                raise RequestValidationError(
                    f"Agent {agent_id} has no branch {branch_id!r} (HTTP 404 branch_not_found).",
                    errors=[FieldError("branch_id", f"agent {agent_id} has no such branch")],
                    status=exc.status,
                    code=exc.code,
                ) from None
            raise

    async def update_agent(
        self, agent_id: str, changes: Mapping[str, Any], branch_id: str | None = None
    ) -> dict[str, Any]:
        """Apply ``changes`` (a partial config in the API's shape) with ONE PATCH; the answer is
        the agent after the change (raw dict; empty if the API sent no body). Never resent."""
        agent_id = validate_agent_id(agent_id)
        params = {"branch_id": validate_branch_id(branch_id)} if branch_id else None
        body = validate_changes(changes)
        op = _Op("update_agent", agent_id, idempotent=False, what=f"update agent {agent_id}")
        raw = await self._api._call(
            op, "PATCH", self._api._url(agent_id), json=body, params=params, limit=_BIG_BODY
        )
        data = _json_or_none(raw)
        return data if isinstance(data, dict) else {}

    async def list_tools(self) -> list[dict[str, Any]]:
        """Every tool of the workspace (``{id, tool_config: {name, type, ...}}``), all pages."""
        op = _Op("list_tools", "", idempotent=True, what="list the workspace's tools")
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(_MAX_TOOL_PAGES):
            params = {"page_size": "100", **({"cursor": cursor} if cursor else {})}
            data = await self._get(op, f"{self._api.base_url}{TOOLS_PATH}", params)
            page = data.get("tools")
            if isinstance(page, list):
                tools.extend(t for t in page if isinstance(t, dict))
            cursor = data.get("next_cursor") if isinstance(data.get("next_cursor"), str) else None
            if not (data.get("has_more") and cursor):
                break
        return tools

    async def _get(
        self,
        op: Operation,
        url: str,
        params: Mapping[str, str] | None,
        *,
        agent: bool = False,
    ) -> dict[str, Any]:
        try:
            raw = await self._api._call(op, "GET", url, params=params, limit=_BIG_BODY)
        except AgentNotFoundError as exc:
            if agent:
                raise
            # a 404 on a collection means the endpoint, not an agent, is missing
            raise UpstreamError(
                f"The API has no such endpoint to {_phrase(op)} (HTTP 404); check "
                "ELEVENLABS_BASE_URL.",
                status=exc.status,
                request_id=exc.request_id,
            ) from None
        data = _json_or_none(raw)
        if not isinstance(data, dict):
            raise UpstreamError(
                f"The API answered the request to {_phrase(op)} with an unexpected body "
                f"({clip(raw.decode('utf-8', 'replace'), 120)!r})."
            )
        return data
