"""The Agents API routes of the sandbox: create, list, get, patch, delete, duplicate, link; tools.

Shapes follow the live API (see docs/sandbox.md); `branch_id` on get/patch reads or writes a
branch, a whole agent document kept beside the main one (patching a new branch creates it).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agents_mcp.api import models
from agents_mcp.jsontypes import JSONObject
from agents_mcp.sandbox import agent_patch
from agents_mcp.sandbox.errors import (
    error,
    fastapi_errors,
    json_body,
    not_found,
    unprocessable,
    validate_lenient,
)
from agents_mcp.sandbox.paging import page_of
from agents_mcp.sandbox.respond import respond as _respond
from agents_mcp.sandbox.respond import state_of as _state
from agents_mcp.sandbox.store import summary
from agents_mcp.sandbox.tools import agent_tools, assign_tool_ids, tool_listing


class _ListQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    page_size: Annotated[int, Field(ge=1, le=100)] = 30
    search: str | None = None
    cursor: str | None = None
    sort_direction: Literal["asc", "desc"] = "desc"
    sort_by: Literal["name", "created_at"] = "created_at"
    archived: bool | None = None
    show_only_owned_agents: bool = False
    created_by_user_id: str | None = None


class _DeleteQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    force: bool = False


class _CreateBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    conversation_config: JSONObject
    platform_settings: JSONObject | None = None
    workflow: JSONObject | None = None
    name: str | None = None
    tags: list[str] | None = None


async def create_agent(request: Request) -> Response:
    body = await json_body(request, required=True)
    if isinstance(body, Response):
        return body
    parsed = validate_lenient(_CreateBody, body)
    if isinstance(parsed, Response):
        return parsed
    agent_id = _state(request).store.create(
        name=parsed.name,
        conversation_config=parsed.conversation_config,
        platform_settings=parsed.platform_settings,
        workflow=parsed.workflow,
        tags=parsed.tags,
    )
    return _respond(request, models.CreateAgentResponse(agent_id=agent_id).model_dump())


async def list_agents(request: Request) -> Response:
    try:
        query = _ListQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:
        return unprocessable(fastapi_errors(exc, "query"))
    page = _state(request).store.page(
        page_size=query.page_size,
        cursor=query.cursor,
        search=query.search,
        sort_by=query.sort_by,
        descending=query.sort_direction == "desc",
    )
    agents = [summary(doc) for doc in page.agents]
    if query.archived is not None:
        agents = [a for a in agents if a["archived"] == query.archived]
    return _respond(
        request, {"agents": agents, "next_cursor": page.next_cursor, "has_more": page.has_more}
    )


def _branch_not_found(agent_id: str, branch_id: str) -> Response:
    return error(404, "branch_not_found", f"Branch {branch_id} not found for agent {agent_id}.")


async def get_agent(request: Request) -> Response:
    agent_id = request.path_params["agent_id"]
    branch_id = request.query_params.get("branch_id") or None
    store = _state(request).store
    doc = store.get(agent_id)
    if doc is None:
        return not_found(agent_id)
    if branch_id:
        doc = store.get_branch(agent_id, branch_id)
        if doc is None:
            return _branch_not_found(agent_id, branch_id)
    doc.setdefault("version_id", None)
    doc["branch_id"] = branch_id
    return _respond(request, doc)


async def patch_agent(request: Request) -> Response:
    body = await json_body(request, required=True)
    if isinstance(body, Response):
        return body
    problems = agent_patch.check(body)
    if problems:
        return unprocessable(problems)
    agent_id = request.path_params["agent_id"]
    branch_id = request.query_params.get("branch_id") or None
    store = _state(request).store
    main = store.get(agent_id)
    if main is None:
        return not_found(agent_id)
    base = (store.get_branch(agent_id, branch_id) if branch_id else None) or main
    picked = _tools_by_id(store.page(page_size=10_000).agents, body)
    if isinstance(picked, Response):
        return picked
    updated = agent_patch.apply(base, body)
    prompt = _prompt_of(updated)
    if picked is not None and prompt is not None:
        system = [t for t in prompt.get("tools") or [] if _is_system(t)]
        prompt["tools"] = system + picked
    if prompt is not None and isinstance(prompt.get("tools"), list):
        assign_tool_ids(updated)
    if branch_id:
        store.put_branch(branch_id, updated)
    else:
        store.put(updated)
    updated.setdefault("version_id", None)
    updated["branch_id"] = branch_id
    return _respond(request, updated)


def _prompt_of(doc: JSONObject) -> JSONObject | None:
    agent = (doc.get("conversation_config") or {}).get("agent")
    prompt = agent.get("prompt") if isinstance(agent, dict) else None
    return prompt if isinstance(prompt, dict) else None


def _is_system(tool: Any) -> bool:
    return isinstance(tool, dict) and tool.get("type") == "system"


def _tools_by_id(docs: list[JSONObject], body: JSONObject) -> list[Any] | Response | None:
    """The tool configs a PATCH names by `prompt.tool_ids` alone (None when it does not)."""
    prompt = _prompt_of(body)
    if prompt is None or "tool_ids" not in prompt or "tools" in prompt:
        return None
    known = {tid: tool for doc in docs for tid, tool in agent_tools(doc)}
    out = []
    for index, tid in enumerate(prompt.get("tool_ids") or []):
        if tid not in known:
            loc = ["body", "conversation_config", "agent", "prompt", "tool_ids", index]
            return unprocessable(
                [{"type": "value_error", "loc": loc, "msg": f"Tool {tid} not found", "input": tid}]
            )
        out.append(known[tid])
    return out


class _ToolsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    search: str | None = None
    page_size: Annotated[int, Field(ge=1, le=100)] = 30
    cursor: str | None = None
    used_by_agent_id: str | None = None
    types: list[str] = []


async def list_tools(request: Request) -> Response:
    query: dict[str, str | list[str]] = {
        k: v for k, v in request.query_params.items() if k != "types"
    }
    query["types"] = request.query_params.getlist("types")
    try:
        parsed = _ToolsQuery.model_validate(query)
    except ValidationError as exc:
        return unprocessable(fastapi_errors(exc, "query"))
    store = _state(request).store
    if parsed.used_by_agent_id:
        doc = store.get(parsed.used_by_agent_id)
        docs = [doc] if doc else []
    else:
        docs = list(reversed(store.page(page_size=10_000).agents))  # oldest first: demo owners
    tools = tool_listing(docs, search=parsed.search, types=parsed.types or None)
    page, next_cursor = page_of(tools, parsed.cursor, parsed.page_size)
    return _respond(
        request, {"tools": page, "has_more": next_cursor is not None, "next_cursor": next_cursor}
    )


async def delete_agent(request: Request) -> Response:
    try:
        _DeleteQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:
        return unprocessable(fastapi_errors(exc, "query"))
    agent_id = request.path_params["agent_id"]
    if not _state(request).store.delete(agent_id):
        return not_found(agent_id)
    return _respond(request, models.DeleteAgentResponse().model_dump())


async def duplicate_agent(request: Request) -> Response:
    body = await json_body(request, required=False)
    if isinstance(body, Response):
        return body
    parsed = validate_lenient(models.DuplicateRequest, body)
    if isinstance(parsed, Response):
        return parsed
    agent_id = request.path_params["agent_id"]
    new_id = _state(request).store.duplicate(agent_id, parsed.name)
    if new_id is None:
        return not_found(agent_id)
    return _respond(request, models.CreateAgentResponse(agent_id=new_id).model_dump())


async def agent_link(request: Request) -> Response:
    agent_id = request.path_params["agent_id"]
    store = _state(request).store
    doc = store.get(agent_id)
    if doc is None:
        return not_found(agent_id)
    settings = doc.get("platform_settings")
    auth = settings.get("auth") if isinstance(settings, dict) else None
    token = None
    if isinstance(auth, dict) and auth.get("enable_auth") is True:
        shareable = auth.get("shareable_token")
        if not isinstance(shareable, str) or not shareable:  # minted once, then kept
            shareable = "cnv_tkn_" + secrets.token_urlsafe(24)
            auth["shareable_token"] = shareable
            store.put(doc)
        token = models.ConversationToken(
            agent_id=agent_id,
            conversation_token=shareable,
            expiration_time_unix_secs=None,
            conversation_id=None,
            purpose="shareable_link",
            token_requester_user_id=None,
        )
    return _respond(request, models.AgentLink(agent_id=agent_id, token=token).model_dump())


AGENT = "/v1/convai/agents/{agent_id}"
ROUTES = [
    Route("/v1/convai/agents/create", create_agent, methods=["POST"]),
    Route("/v1/convai/agents", list_agents, methods=["GET"]),
    Route(AGENT, get_agent, methods=["GET"]),
    Route(AGENT, patch_agent, methods=["PATCH"]),
    Route(AGENT, delete_agent, methods=["DELETE"]),
    Route(AGENT + "/duplicate", duplicate_agent, methods=["POST"]),
    Route(AGENT + "/link", agent_link, methods=["GET"]),
    Route("/v1/convai/tools", list_tools, methods=["GET"]),
]
