"""The agent tools: delete (with the user's confirmation), duplicate, and the share link.

Every tool checks the agent id before any request, returns a short text for the model plus
structured content matching a small output schema, and fails only with `ToolError`s.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    DeclinedElicitation,
    Elicit,
    ElicitationResult,
    Resolve,
)
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from agents_mcp.api import validate_agent_id
from agents_mcp.api.errors import AgentNotFoundError, APIError
from agents_mcp.logs import log_tool_call
from agents_mcp.state import AppState, app_state
from agents_mcp.tools.definition import ToolDefinition, result
from agents_mcp.tools.errors import outcome_of, tool_call, tool_error

TALK_TO_URL = "https://elevenlabs.io/app/talk-to?agent_id={}"

AgentId = Annotated[str, Field(description="Agent id (agent_...)")]


# --- output schemas (kept small: they are part of tools/list) -----------------------------------


DeleteStatus = Literal["deleted", "needs_confirmation", "declined", "cancelled"]


class DeleteResult(BaseModel):
    agent_id: str
    deleted: bool
    status: DeleteStatus


class DuplicateResult(BaseModel):
    agent_id: str  # the new agent
    name: str | None
    source_agent_id: str


class LinkResult(BaseModel):
    agent_id: str
    url: str
    token: str | None
    token_purpose: str | None
    token_expires_at: str | None  # ISO 8601, UTC
    token_expires_in: str | None  # "expires in 14 min"


def _state(ctx: Context) -> AppState:
    return app_state(ctx)


# --- delete: confirmation ----------------------------------------------------------------------


class ConfirmDelete(BaseModel):
    """The form a client with elicitation shows the user."""

    confirm: bool = Field(description="Yes, delete this agent permanently")


class NoDialog:
    """The client cannot ask its user (no elicitation): fall back to the `confirm` argument."""


def _client_can_ask(ctx: Context) -> bool:
    caps = ctx.client_capabilities
    elicitation = caps.elicitation if caps is not None else None
    # A bare `elicitation: {}` means form support; url-only does not.
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


async def _agent_label(ctx: Context, agent_id: str) -> str:
    """'Name' (agent_id) for a confirmation, read with one GET. An unknown agent is an error (no
    question is asked about it); any other failure leaves the id alone."""
    from agents_mcp.api.agent_config import AgentConfigAPI

    try:
        doc = await AgentConfigAPI(_state(ctx).api).get_agent(agent_id)
    except AgentNotFoundError:
        raise
    except APIError:
        return agent_id
    name = doc.get("name")
    return f"{name!r} ({agent_id})" if isinstance(name, str) and name else agent_id


async def _ask_to_delete(agent_id: str, ctx: Context) -> Elicit[ConfirmDelete] | NoDialog:
    """Runs before the tool body: checks the id (no request, no question for a bad one), then
    asks the user, naming the agent, when the client can show a confirmation."""
    try:
        validate_agent_id(agent_id)
        if not _client_can_ask(ctx):
            return NoDialog()
        label = await _agent_label(ctx, agent_id)
    except APIError as exc:
        log_tool_call("delete_agent", agent_id, outcome_of(exc), 0.0)
        raise tool_error(exc, tool="delete_agent", agent_id=agent_id) from None
    return Elicit(f"Delete the ElevenLabs agent {label}? This cannot be undone.", ConfirmDelete)


def _not_deleted(agent_id: str, status: DeleteStatus, text: str) -> CallToolResult:
    return result(DeleteResult(agent_id=agent_id, deleted=False, status=status), text)


async def delete_agent(
    agent_id: AgentId,
    confirm: Annotated[
        bool, Field(description="true only after the user confirmed (clients without dialogs)")
    ] = False,
    force: Annotated[bool, Field(description="Delete even if used as a sub-agent")] = False,
    *,
    ctx: Context,
    approval: Annotated[ElicitationResult[ConfirmDelete], Resolve(_ask_to_delete)],
) -> Annotated[CallToolResult, DeleteResult]:
    """Permanently delete an agent. Asks the user to confirm when the client can; otherwise
    requires confirm=true, set only after the user agreed."""
    async with tool_call("delete_agent", agent_id) as call:
        if isinstance(approval, AcceptedElicitation) and isinstance(approval.data, NoDialog):
            if not confirm:
                label = await _agent_label(ctx, agent_id)
                call.outcome = "not_confirmed"
                return _not_deleted(
                    agent_id,
                    "needs_confirmation",
                    f"Not deleted: deleting agent {label} cannot be undone and this client "
                    "cannot ask the user. Ask the user to confirm, then call delete_agent again "
                    "with confirm=true.",
                )
        elif isinstance(approval, AcceptedElicitation):
            if not approval.data.confirm:
                call.outcome = "declined"
                return _not_deleted(
                    agent_id,
                    "declined",
                    f"Not deleted: the user did not tick the confirmation for agent {agent_id}. "
                    "Do not retry unless the user asks again.",
                )
        elif isinstance(approval, DeclinedElicitation):
            call.outcome = "declined"
            return _not_deleted(
                agent_id,
                "declined",
                f"Not deleted: the user declined deleting agent {agent_id}. Do not retry unless "
                "the user asks again.",
            )
        else:
            call.outcome = "cancelled"
            return _not_deleted(
                agent_id,
                "cancelled",
                f"Not deleted: the user dismissed the confirmation for agent {agent_id}.",
            )

        await _state(ctx).api.delete_agent(agent_id, force=force)
        return result(
            DeleteResult(agent_id=agent_id, deleted=True, status="deleted"),
            f"Deleted agent {agent_id}.",
        )


# --- duplicate -------------------------------------------------------------------------------

_NAME_SHOWN = 200  # characters of the copy's name a result repeats


async def duplicate_agent(
    agent_id: AgentId,
    name: Annotated[str | None, Field(description="Name of the copy (default: the API's)")] = None,
    *,
    ctx: Context,
) -> Annotated[CallToolResult, DuplicateResult]:
    """Copy an agent (its whole configuration) into a new agent; returns the new id."""
    async with tool_call("duplicate_agent", agent_id):
        validate_agent_id(agent_id)
        created = await _state(ctx).api.duplicate_agent(agent_id, name=name)
        # The API answers with the id only; a sandbox or newer API may also echo the name.
        new_name = name or _extra_str(created, "name")
        if new_name is not None and len(new_name) > _NAME_SHOWN:  # not echoed back whole
            new_name = new_name[: _NAME_SHOWN - 1] + "…"
        named = f" named {new_name!r}" if new_name else ""
        copy = created.agent_id
        return result(
            DuplicateResult(agent_id=copy, name=new_name, source_agent_id=agent_id),
            f"Created agent {copy}{named}, a copy of {agent_id}. Try changes on the copy: "
            f"run_tests(agent_id='{copy}', ...) or update_agent(agent_id='{copy}', ...).",
        )


def _extra_str(model: BaseModel, key: str) -> str | None:
    value = (model.model_extra or {}).get(key)
    return value if isinstance(value, str) and value else None


# --- link ------------------------------------------------------------------------------------


def expires_in(seconds: float) -> str:
    """'expires in 14 min' / 'expired 3 h ago', rounded to the largest sensible unit."""
    past = seconds < 0
    s = abs(round(seconds))
    if s < 90:
        span = f"{s} s"
    elif s < 90 * 60:
        span = f"{round(s / 60)} min"
    elif s < 36 * 3600:
        hours, minutes = divmod(round(s / 60), 60)
        span = f"{hours} h {minutes} min" if minutes else f"{hours} h"
    else:
        span = f"{round(s / 86400)} days"
    return f"expired {span} ago" if past else f"expires in {span}"


def _link_result(link: Any, now: float) -> LinkResult:
    agent_id = link.agent_id
    url = TALK_TO_URL.format(quote(agent_id, safe=""))
    token = link.token
    if token is None:
        return LinkResult(
            agent_id=agent_id,
            url=url,
            token=None,
            token_purpose=None,
            token_expires_at=None,
            token_expires_in=None,
        )
    expiry = token.expiration_time_unix_secs
    return LinkResult(
        agent_id=agent_id,
        url=url,
        token=token.conversation_token,
        token_purpose=token.purpose,
        token_expires_at=(
            datetime.fromtimestamp(expiry, UTC).isoformat().replace("+00:00", "Z")
            if expiry is not None
            else None
        ),
        token_expires_in=expires_in(expiry - now) if expiry is not None else None,
    )


def _link_text(r: LinkResult) -> str:
    lines = [f"Talk to agent {r.agent_id}: {r.url}"]
    if r.token is None:
        lines.append("No conversation token: the agent needs no authorization.")
    else:
        purpose = f" ({r.token_purpose})" if r.token_purpose else ""
        expiry = f", {r.token_expires_in} ({r.token_expires_at})" if r.token_expires_at else ""
        lines.append(f"Conversation token{purpose}{expiry}: {r.token}")
    return "\n".join(lines)


async def get_agent_link(
    agent_id: AgentId, *, ctx: Context
) -> Annotated[CallToolResult, LinkResult]:
    """Get an agent's public talk-to URL and its conversation token, if it has one."""
    async with tool_call("get_agent_link", agent_id):
        validate_agent_id(agent_id)
        link = await _state(ctx).api.get_agent_link(agent_id)
        r = _link_result(link, time.time())
        return result(r, _link_text(r))


# --- definitions -----------------------------------------------------------------------------

TOOLS: tuple[ToolDefinition, ...] = (
    ToolDefinition(
        name="delete_agent",
        handler=delete_agent,
        title="Delete agent",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
        ),
        mutating=True,
        output=DeleteResult,
        instructions=(
            "delete_agent is permanent: the user must confirm (a dialog when the client has one; "
            "otherwise ask the user, then pass confirm=true)."
        ),
        signature="delete_agent(agent_id, confirm=false, force=false)",
        summary=(
            "Deletes an agent. Asks the user to confirm (elicitation) when the client can; "
            "otherwise refuses unless `confirm=true`."
        ),
    ),
    ToolDefinition(
        name="duplicate_agent",
        handler=duplicate_agent,
        title="Duplicate agent",
        # destructive defaults to true in the spec: a copy only adds an agent; a second call
        # makes a second copy
        annotations=ToolAnnotations(
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=True,
        ),
        mutating=True,
        output=DuplicateResult,
        instructions="duplicate_agent makes a copy to experiment on safely.",
        signature="duplicate_agent(agent_id, name=None)",
        summary="Copies an agent; returns the new id.",
    ),
    ToolDefinition(
        name="get_agent_link",
        handler=get_agent_link,
        title="Get agent link",
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=True),
        output=LinkResult,
        instructions="get_agent_link gives the public talk-to URL.",
        signature="get_agent_link(agent_id)",
        summary=(
            "The public talk-to URL and the conversation token (purpose, expiry) when there is one."
        ),
    ),
)
