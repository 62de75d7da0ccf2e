"""`completion/complete`: suggested values for prompt arguments and resource-template variables.

- `agent_id` (any prompt): ids of the workspace's agents whose id starts with, or whose name
  contains, what was typed (one upstream page of GET /v1/convai/agents, searched by name).
- `simulation_id` (`simulation://{simulation_id}`, prompts): stored simulations, newest first.
- `run_id` (`test-run://{run_id}`, prompts): stored test runs, newest first.
- `detail` (prompts): the detail levels of get_test_results, or of get_simulation for a prompt
  about a simulation.

Rules: a completion never fails the client: an unknown prompt, template or argument, an
upstream error or a slow API answers an empty list (the error is logged). At most 100 values
(the protocol's cap), with `has_more` when there were more. Nothing here changes anything.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server import MCPServer
from mcp.types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
)

if TYPE_CHECKING:
    from agents_mcp.api import AgentsAPI
    from agents_mcp.state import AppState

logger = logging.getLogger("agents_mcp.completions")

MAX_VALUES = 100  # the protocol's cap on completion values
UPSTREAM_TIMEOUT = 5.0  # a completion is typed interactively: do not hang on a slow API
AGENT_PAGE_SIZE = 100

SIMULATION_DETAILS = ("summary", "transcript", "full")
TEST_RESULT_DETAILS = ("summary", "runs", "transcript")

TEMPLATE_ARGUMENTS = {
    "simulation://{simulation_id}": "simulation_id",
    "test-run://{run_id}": "run_id",
}

# Prompts whose `detail` argument is get_simulation's (the others: get_test_results').
SIMULATION_DETAIL_PROMPTS: frozenset[str] = frozenset()


# --- where the values come from (each a small function the merge can point elsewhere) -----------


async def list_agents_page(api: AgentsAPI, search: str | None) -> list[dict[str, Any]]:
    """One page of the agents list (raw dicts with `agent_id` and `name`).

    AgentConfigAPI.list_agents when the API layer has it; until then the same GET
    /v1/convai/agents through the client's retry machinery.
    """
    try:
        from agents_mcp.api.agent_config import AgentConfigAPI
    except ImportError:
        return await _list_agents_directly(api, search)
    page = await AgentConfigAPI(api).list_agents(search=search, page_size=AGENT_PAGE_SIZE)
    return list(page["agents"])


async def _list_agents_directly(api: AgentsAPI, search: str | None) -> list[dict[str, Any]]:
    from agents_mcp.api.client import AGENTS_PATH, _json_or_none
    from agents_mcp.api.failures import Operation

    params = {"page_size": str(AGENT_PAGE_SIZE)}
    if search:
        params["search"] = search[:100]
    op = Operation("list_agents", "", idempotent=True)
    raw = await api._call(op, "GET", f"{api.base_url}{AGENTS_PATH}", params=params)
    data = _json_or_none(raw)
    agents = data.get("agents") if isinstance(data, dict) else None
    return [a for a in agents if isinstance(a, dict)] if isinstance(agents, list) else []


async def stored_simulation_ids(state: AppState) -> list[str]:
    """Stored simulations, newest first."""
    return await state.simulations.store.ids()


async def stored_run_ids(state: AppState) -> list[str]:
    """Stored test runs, newest first (none when the server has no test-run manager)."""
    if state.test_runs is None:
        return []
    return await state.test_runs.ids()


# --- matching ------------------------------------------------------------------------------------


def _cap(values: list[str]) -> Completion:
    unique = list(dict.fromkeys(values))
    return Completion(
        values=unique[:MAX_VALUES], total=len(unique), has_more=len(unique) > MAX_VALUES
    )


def starting_with(values: list[str], typed: str) -> Completion:
    return _cap([v for v in values if v.lower().startswith(typed.lower())])


async def agent_ids(api: AgentsAPI, typed: str) -> Completion:
    """Agent ids starting with `typed`, then those whose name contains it."""
    typed = typed.strip()
    agents = await list_agents_page(api, None)
    if typed and len(agents) >= AGENT_PAGE_SIZE:  # more than one page: let the API search names
        agents = agents + await list_agents_page(api, typed)
    low = typed.lower()
    by_id = [a["agent_id"] for a in agents if str(a.get("agent_id", "")).lower().startswith(low)]
    by_name = [a["agent_id"] for a in agents if low in str(a.get("name") or "").lower()]
    return _cap([str(v) for v in by_id + by_name if isinstance(v, str)])


# --- the handler ---------------------------------------------------------------------------------


Source = Callable[["AppState", str], Awaitable[Completion]]


async def _agents(state: AppState, typed: str) -> Completion:
    return await agent_ids(state.api, typed)


async def _simulations(state: AppState, typed: str) -> Completion:
    return starting_with(await stored_simulation_ids(state), typed)


async def _runs(state: AppState, typed: str) -> Completion:
    return starting_with(await stored_run_ids(state), typed)


SOURCES: dict[str, Source] = {
    "agent_id": _agents,
    "simulation_id": _simulations,
    "run_id": _runs,
}


def _empty() -> Completion:
    return Completion(values=[], total=0, has_more=False)


def install(mcp: MCPServer[Any], state: Callable[[], AppState | None]) -> None:
    """Answer `completion/complete` on `mcp` (declares the completions capability).

    `state` returns the running lifespan's AppState (None outside it).
    """

    @mcp.completion()  # type: ignore[untyped-decorator, no-untyped-call]  # untyped in the SDK
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion:
        if isinstance(ref, ResourceTemplateReference):
            name = TEMPLATE_ARGUMENTS.get(ref.uri)
            if name is None or argument.name != name:
                return _empty()
        else:
            name = argument.name
            if name == "detail":
                simulation = ref.name in SIMULATION_DETAIL_PROMPTS
                details = SIMULATION_DETAILS if simulation else TEST_RESULT_DETAILS
                return starting_with(list(details), argument.value)
        source = SOURCES.get(name)
        current = state()
        if source is None or current is None:
            return _empty()
        try:
            with anyio.fail_after(UPSTREAM_TIMEOUT):
                return await source(current, argument.value)
        except Exception as exc:  # an API error or a slow answer: no suggestions, not a failure
            logger.warning("no completions for %s: %s", name, type(exc).__name__)
            return _empty()
