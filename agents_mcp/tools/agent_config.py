"""The agent-config tools: find agents, read one compactly, change one with the change shown first.

- list_agents and get_agent only read. get_agent's overview stays small (a 13 KB prompt is
  clipped to an excerpt) and names the exact call that shows the rest, paged.
- update_agent validates the changes strictly before anything is sent, reads the agent and shows
  each field as old -> new (a prompt as a clipped unified diff), then asks the user: a dialog
  (elicitation) when the client has one, else it refuses until called again with confirm=true,
  like delete_agent. Confirmed: ONE PATCH with only the named fields. A PATCH whose answer is lost
  is never sent again: this tool reads the agent back and compares (the API layer does not).
- from_run_id promotes the candidate config a stored test run ran with, through the seam
  `candidate_config(state, run_id)` (the test-run store, when the server has one).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    DeclinedElicitation,
    Elicit,
    ElicitationResult,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from agents_mcp.agentview import changes as diff
from agents_mcp.agentview import view
from agents_mcp.api import validate_agent_id
from agents_mcp.api.agent_config import AgentConfigAPI, validate_branch_id, validate_changes
from agents_mcp.api.errors import APIError, RequestValidationError, UpstreamError
from agents_mcp.errors_text import error_text
from agents_mcp.logs import log_tool_call, redact
from agents_mcp.state import AppState, app_state
from agents_mcp.tools.agents import AgentId, NoDialog, _client_can_ask
from agents_mcp.tools.definition import ToolDefinition, result
from agents_mcp.tools.errors import outcome_of, tool_call, tool_error

_LIST_NAME = 60  # characters of an agent's name on its list line
_MAX_RUN_ID = 128


def _state(ctx: Context) -> AppState:
    return app_state(ctx)


def _config_api(ctx: Context) -> AgentConfigAPI:
    return AgentConfigAPI(_state(ctx).api)


def _label(agent_id: str, name: str | None) -> str:
    return f"{name!r} ({agent_id})" if name else agent_id


# --- list ------------------------------------------------------------------------------------


class AgentLine(BaseModel):
    agent_id: str
    name: str
    tags: list[str]
    created: str | None  # YYYY-MM-DD


class AgentsPage(BaseModel):
    agents: list[AgentLine]
    has_more: bool
    next: str | None  # the exact call for the next page


def _created(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d")
    return None


def _agent_line(raw: Mapping[str, Any]) -> AgentLine | None:
    agent_id = raw.get("agent_id")
    if not isinstance(agent_id, str):
        return None
    name = raw.get("name")
    tags = raw.get("tags")
    return AgentLine(
        agent_id=agent_id,
        name=view.clip(name, _LIST_NAME) if isinstance(name, str) else "",
        tags=[t for t in tags if isinstance(t, str)][:6] if isinstance(tags, list) else [],
        created=_created(raw.get("created_at_unix_secs")),
    )


def _next_list_call(search: str | None, page_size: int, cursor: str) -> str:
    args = [f"search={search!r}"] if search else []
    args += [f"page_size={page_size}", f'cursor="{cursor}"']
    return f"list_agents({', '.join(args)})"


async def list_agents(
    search: Annotated[str, Field(max_length=200)] = "",
    page_size: Annotated[int, Field(ge=1, le=100)] = 30,
    cursor: str = "",
    *,
    ctx: Context,
) -> CallToolResult:
    """List agents (id, name, tags, created), paged: the result names the next call."""
    async with tool_call("list_agents"):
        page = await _config_api(ctx).list_agents(search or None, page_size, cursor or None)
        lines = [line for raw in page["agents"] if (line := _agent_line(raw))]
        following = (
            _next_list_call(search, page_size, page["next_cursor"])
            if page["has_more"] and page["next_cursor"]
            else None
        )
        text = [
            f"{a.agent_id}  {a.name or '(no name)'}"
            + (f"  [{', '.join(a.tags)}]" if a.tags else "")
            + (f"  created {a.created}" if a.created else "")
            for a in lines
        ]
        if not text:
            text = ["No agents" + (f" match {search!r}." if search else ".")]
        text.append(f"More: {following}" if following else "No more agents.")
        return result(
            AgentsPage(agents=lines, has_more=following is not None, next=following),
            "\n".join(text),
        )


# --- get -------------------------------------------------------------------------------------


async def get_agent(
    agent_id: AgentId,
    section: Annotated[
        Literal["prompt", "full"] | None,
        Field(description="prompt: all of it; full: raw config"),
    ] = None,
    page: Annotated[int, Field(ge=1)] = 1,
    *,
    ctx: Context,
) -> CallToolResult:
    """What decides an agent's behaviour, compactly: prompt (clipped), first message, LLM, tools,
    knowledge base, {{variables}}, tests, voice."""
    async with tool_call("get_agent", agent_id):
        validate_agent_id(agent_id)
        if section is None and page > 1:  # the overview has one page: say so, do not ignore it
            raise ToolError(
                f"page={page} needs a section: get_agent(agent_id={agent_id!r}, "
                f"section='prompt', page={page}) pages the prompt, section='full' the raw config."
            )
        api = _config_api(ctx)
        doc = await api.get_agent(agent_id)
        if section is not None:
            text = view.prompt_of(doc) if section == "prompt" else view.full_text(doc)
            size = view.PROMPT_PAGE if section == "prompt" else view.FULL_PAGE
            try:
                part = view.section_page(agent_id, section, text, page, size)
            except ValueError as exc:
                raise ToolError(f"{exc}; call again with a smaller page.") from None
            lines = [f"Agent {agent_id}, {section} page {part.page} of {part.pages}:", part.text]
            lines.append(f"Next: {part.next}" if part.next else "(end)")
            return result(part, "\n".join(lines))
        names = view.workspace_tool_names(await api.list_tools()) if view.tool_ids(doc) else {}
        o = view.overview(agent_id, doc, names)
        return result(o, view.overview_text(o))


# --- update ----------------------------------------------------------------------------------


UpdateStatus = Literal["updated", "unchanged", "needs_confirmation", "declined", "cancelled"]


class UpdateResult(BaseModel):
    agent_id: str
    status: UpdateStatus
    fields: list[str]  # the fields changed (or that would change)
    diff: str  # old -> new per field


class ConfirmUpdate(BaseModel):
    """The form a client with elicitation shows the user."""

    confirm: bool = Field(description="Yes, apply these changes to the agent")


@dataclass
class UpdatePlan:
    """What update_agent would do: worked out (one GET) before the user is asked."""

    agent_id: str
    branch_id: str | None
    body: dict[str, Any]
    name: str | None
    found: list[diff.FieldChange] = field(default_factory=list)
    shown: str = ""
    source: str = "changes"


async def candidate_config(state: AppState, run_id: str) -> dict[str, Any]:
    """The agent_config_override a stored test run ran its candidate with.

    The seam to the test-run store: ``state.test_runs.candidate_config(run_id)`` (sync or async)
    returns the override dict, or None (or ``{}``) when the run used the agent as stored, and
    raises LookupError when no such run is stored.
    """
    lookup = getattr(getattr(state, "test_runs", None), "candidate_config", None)
    if lookup is None:
        raise ToolError(
            "from_run_id needs the stored test runs of run_tests, which this server does not "
            "have; pass the fields to change as `changes` instead."
        )
    try:
        found = lookup(run_id)
        if inspect.isawaitable(found):
            found = await found
    except LookupError:
        raise ToolError(
            f"No stored test run {run_id!r}: check the run_id that run_tests returned."
        ) from None
    if not found:
        raise ToolError(
            f"Test run {run_id!r} ran the agent as stored (no agent_config_override): there is "
            "no candidate config to promote."
        )
    return dict(found)


async def _tested_agent(state: AppState, run_id: str) -> str | None:
    """The agent a stored run tested, when the store can say (promoting a run onto another
    agent is allowed, e.g. from a copy to its original, but the preview says so)."""
    getter = getattr(getattr(state, "test_runs", None), "get", None)
    if getter is None:
        return None
    try:
        record = await getter(run_id)
    except LookupError:
        return None
    tested = getattr(record, "agent_id", None)
    return tested if isinstance(tested, str) else None


async def _plan(
    agent_id: str,
    changes: dict[str, Any],
    from_run_id: str,
    branch_id: str,
    ctx: Context,
) -> UpdatePlan:
    """Runs before the tool body (and before any question): check the arguments, validate the
    changes, read the agent and work out each field's old -> new. Nothing is changed here."""
    branch = branch_id or None
    try:
        validate_agent_id(agent_id)
        if branch is not None:
            try:
                validate_branch_id(branch)
            except RequestValidationError as exc:
                raise ToolError(exc.detail) from None
        if bool(changes) == bool(from_run_id):
            raise ToolError(
                "Give exactly one of `changes` (the fields to change, in the API's shape) or "
                "`from_run_id` (a stored test run whose candidate config to apply). Nothing was "
                "sent."
            )
        source = "changes"
        if from_run_id:
            if len(from_run_id) > _MAX_RUN_ID:
                raise ToolError("from_run_id is not a run id. Nothing was sent.")
            changes = await candidate_config(_state(ctx), from_run_id)
            source = f"test run {from_run_id}"
            tested = await _tested_agent(_state(ctx), from_run_id)
            if tested and tested != agent_id:
                source += f" (which tested agent {tested}, not this one)"
        try:
            body = validate_changes(changes)
        except RequestValidationError as exc:
            raise ToolError(_invalid_changes(exc)) from None
        current = await _config_api(ctx).get_agent(agent_id, branch)
    except ToolError as exc:
        log_tool_call("update_agent", agent_id, "tool_error", 0.0)
        raise ToolError(redact(str(exc))) from None
    except APIError as exc:
        log_tool_call("update_agent", agent_id, outcome_of(exc), 0.0)
        raise tool_error(exc, tool="update_agent", agent_id=agent_id) from None
    found = diff.field_changes(body, current)
    name = current.get("name") if isinstance(current.get("name"), str) else None
    return UpdatePlan(
        agent_id, branch, body, name, found, diff.render(found) if found else "", source
    )


def _invalid_changes(exc: RequestValidationError) -> str:
    """Each bad field of `changes` (the caller's values are not echoed)."""
    if not exc.errors:
        return exc.detail
    shown = "; ".join(f"{e.location}: {e.reason}" for e in exc.errors[:6])
    more = f"; and {len(exc.errors) - 6} more" if len(exc.errors) > 6 else ""
    return f"Invalid changes, nothing was sent: {shown.rstrip('.')}{more}. Fix them and call again."


async def _ask_to_update(
    plan: Annotated[UpdatePlan, Resolve(_plan)], ctx: Context
) -> Elicit[ConfirmUpdate] | NoDialog:
    """Shows the change to the user when the client can ask (nothing to ask for no change)."""
    if not plan.found or not _client_can_ask(ctx):
        return NoDialog()
    branch = f" on branch {plan.branch_id}" if plan.branch_id else ""
    return Elicit(
        f"Change the ElevenLabs agent {_label(plan.agent_id, plan.name)}{branch}? "
        f"{len(plan.found)} field(s), from {plan.source}:\n{plan.shown}",
        ConfirmUpdate,
    )


def _update_result(
    plan: UpdatePlan, status: UpdateStatus, text: str, shown: str = ""
) -> CallToolResult:
    return result(
        UpdateResult(
            agent_id=plan.agent_id,
            status=status,
            fields=[c.path for c in plan.found],
            diff=shown or plan.shown,
        ),
        text,
    )


async def _read_back(api: AgentConfigAPI, plan: UpdatePlan, lost: UpstreamError) -> dict[str, Any]:
    """The agent after a PATCH that failed or lost its answer, if it holds the change; else a
    ToolError that says whether sending it again is safe."""
    what = view.clip(" ".join(lost.detail.split()).rstrip("."), 240)
    try:
        after = await api.get_agent(plan.agent_id, plan.branch_id)
    except APIError:
        raise ToolError(
            f"The update may or may not have been applied: it failed or its answer was lost "
            f"({what}), and reading the agent back failed too. Call get_agent to check before "
            "calling update_agent again."
        ) from None
    missing = diff.mismatches(plan.body, after)
    if missing:
        raise ToolError(
            f"The update was not applied: it failed or its answer was lost ({what}); the agent, "
            f"read back, does not hold it ({missing[0]} differs). Nothing is half-applied: "
            "calling update_agent again is safe."
        )
    return after


async def update_agent(
    agent_id: AgentId,
    changes: Annotated[
        dict[str, Any],
        Field(
            default_factory=dict,
            description="Partial config: {conversation_config,platform_settings,name,tags}",
        ),
    ],
    from_run_id: Annotated[str, Field(description="Apply this test run's candidate config")] = "",
    branch_id: str = "",
    confirm: Annotated[bool, Field(description="true only after the user agreed")] = False,
    *,
    ctx: Context,
    plan: Annotated[UpdatePlan, Resolve(_plan)],
    approval: Annotated[ElicitationResult[ConfirmUpdate], Resolve(_ask_to_update)],
) -> CallToolResult:
    """Change only the given fields of an agent, after the user saw each as old -> new and
    agreed (a dialog, else confirm=true)."""
    async with tool_call("update_agent", agent_id) as call:
        who = _label(agent_id, plan.name)
        if not plan.found:
            call.outcome = "unchanged"
            return _update_result(
                plan, "unchanged", f"Nothing to change: agent {who} already has these values."
            )
        if isinstance(approval, AcceptedElicitation) and isinstance(approval.data, NoDialog):
            if not confirm:
                call.outcome = "not_confirmed"
                return _update_result(
                    plan,
                    "needs_confirmation",
                    f"Not changed yet. The change to agent {who}, from {plan.source}:\n"
                    f"{plan.shown}\nShow it to the "
                    "user; once they agree, call update_agent again with the same arguments and "
                    "confirm=true.",
                )
        elif isinstance(approval, AcceptedElicitation):
            if not approval.data.confirm:
                call.outcome = "declined"
                return _update_result(
                    plan, "declined", f"Not changed: the user did not confirm changing {who}."
                )
        elif isinstance(approval, DeclinedElicitation):
            call.outcome = "declined"
            return _update_result(
                plan,
                "declined",
                f"Not changed: the user declined changing {who}. Do not retry unless the user "
                "asks again.",
            )
        else:
            call.outcome = "cancelled"
            return _update_result(
                plan, "cancelled", f"Not changed: the user dismissed the confirmation for {who}."
            )

        api = _config_api(ctx)
        note = ""
        try:
            after = await api.update_agent(agent_id, plan.body, plan.branch_id)
        except RequestValidationError as exc:
            raise ToolError(
                f"{error_text(exc, tool='update_agent', agent_id=agent_id)} Nothing was changed: "
                "the API refuses an update whole."
            ) from None
        except UpstreamError as exc:
            after = await _read_back(api, plan, exc)
            note = " (its answer was lost; the agent was read back and holds the change)"
        if "conversation_config" not in after and "name" not in after:
            after = await api.get_agent(agent_id, plan.branch_id)
        done = [diff.FieldChange(c.path, c.old, diff.value_at(after, c.path)) for c in plan.found]
        shown = diff.render(done)
        return _update_result(
            plan,
            "updated",
            f"Updated agent {who}{note}: {len(done)} field(s), every other field kept.\n{shown}",
            shown,
        )


# --- definitions ---------------------------------------------------------------------------


TOOLS: tuple[ToolDefinition, ...] = (
    ToolDefinition(
        name="list_agents",
        handler=list_agents,
        title="List agents",
        annotations=ToolAnnotations(read_only_hint=True),  # open world: the spec's default
        instructions="list_agents finds agents by name.",
        signature="list_agents(search=None, page_size=30, cursor=None)",
        summary="One line per agent (id, name, tags, created); names the next page's call.",
    ),
    ToolDefinition(
        name="get_agent",
        handler=get_agent,
        title="Get agent",
        annotations=ToolAnnotations(read_only_hint=True),
        instructions=(
            "get_agent shows what decides an agent's behaviour compactly; section='prompt' or "
            "'full' pages through the rest."
        ),
        signature="get_agent(agent_id, section=None, page=1)",
        summary=(
            "A compact view: name, first message, language, LLM, clipped prompt, tools by name, "
            "knowledge base, variables, tests, voice; `section` pages the prompt or raw config."
        ),
    ),
    ToolDefinition(
        name="update_agent",
        handler=update_agent,
        title="Update agent",
        # destructive and open world are the spec's defaults: not sent
        annotations=ToolAnnotations(read_only_hint=False, idempotent_hint=True),
        mutating=True,
        instructions=(
            "update_agent changes only the fields given, after the user saw old -> new and "
            "confirmed (a dialog, or ask the user then pass confirm=true)."
        ),
        signature=(
            "update_agent(agent_id, changes=None, from_run_id=None, branch_id=None, confirm=false)"
        ),
        summary=(
            "Changes the fields given (validated first); shows each as old -> new and asks the "
            "user to confirm before one update; `from_run_id` promotes a tested config."
        ),
    ),
)
