"""MCP prompts: the workflows people run by hand, written out as one user message each.

Each prompt names the tools it uses (the fixed names of the product surface) and is offered only
when the tools it needs are enabled (AGENTS_MCP_TOOLS, AGENTS_MCP_READ_ONLY): a read-only server
does not offer the workflow that copies and deletes an agent. Arguments are checked like tool
arguments (an agent id, a run id); a bad one is an invalid-params error that says what a good
one looks like. Rendering is pure: a prompt reads nothing and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver.prompts.base import Prompt
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS
from pydantic import Field

from agents_mcp.api import InvalidAgentIdError, validate_agent_id
from agents_mcp.errors_text import error_text

# The tool names prompts may mention (the fixed product surface, DESIGN.md).
PRODUCT_TOOLS: frozenset[str] = frozenset(
    {
        "delete_agent",
        "duplicate_agent",
        "get_agent_link",
        "simulate_conversation",
        "get_simulation",
        "list_agents",
        "get_agent",
        "update_agent",
        "run_tests",
        "get_test_results",
    }
)

_RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_MAX_TEXT = 4000  # a scenario or a change described in words


def _bad(message: str) -> MCPError:
    return MCPError(code=INVALID_PARAMS, message=message)


def _agent(agent_id: str) -> str:
    try:
        return validate_agent_id(agent_id.strip())
    except InvalidAgentIdError as exc:
        raise _bad(error_text(exc).split(" Nothing was sent.")[0]) from None


def _run(run_id: str) -> str:
    run_id = run_id.strip()
    if not _RUN_ID.fullmatch(run_id):
        raise _bad(
            f"Invalid run id {run_id[:40]!r}: pass the run_id that run_tests returned "
            "(like run_0123456789abcdef)."
        )
    return run_id


def _text(name: str, value: str | None, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise _bad(f"{name} is empty: describe it in a sentence or two.")
    if len(value) > _MAX_TEXT:
        raise _bad(f"{name} is {len(value)} characters long; keep it under {_MAX_TEXT}.")
    return value


def _repeat(value: str | None) -> int:
    text = (value or "").strip() or "3"
    if not text.isdigit() or not 1 <= int(text) <= 20:
        raise _bad(f"repeat must be a whole number from 1 to 20, not {text[:20]!r}.")
    return int(text)


# --- the prompts ---------------------------------------------------------------------------------

AgentId = Annotated[str, Field(description="The agent's id (agent_...); completions list them.")]


def prompt_test_agent(
    agent_id: AgentId,
    scenario: Annotated[str, Field(description="What the simulated caller wants and does.")],
    criteria: Annotated[
        str | None, Field(description="What a good conversation achieves (optional).")
    ] = None,
) -> str:
    agent_id = _agent(agent_id)
    scenario = _text("scenario", scenario)
    criteria = _text("criteria", criteria, required=False)
    judged = (
        f"Judge it with these criteria (one `criteria` entry each): {criteria}"
        if criteria
        else "Propose two or three success criteria from what the agent is for, and use them."
    )
    return (
        f"Test the ElevenLabs agent {agent_id} on one scenario.\n"
        f"1. Call get_agent(agent_id={agent_id!r}) to see what the agent is set up to do.\n"
        f"2. Call simulate_conversation(agent_id={agent_id!r}, user_prompt=...) with a "
        f"user_prompt that plays this caller: {scenario}\n   {judged}\n"
        "3. If the result says the simulation is still running, call "
        "get_simulation(simulation_id=...) until it is done.\n"
        "4. Report the outcome, each failed criterion with its reason and any tool errors; "
        "call get_simulation(simulation_id=..., detail='transcript') only if a failure needs "
        "the conversation to explain it. Do not change the agent."
    )


def prompt_baseline_change_compare(
    agent_id: AgentId,
    change: Annotated[str, Field(description="The change to try, in words.")],
    scenarios: Annotated[
        str, Field(description="The scenarios the change must pass, one per line.")
    ],
    repeat: Annotated[
        str | None, Field(description="Runs per scenario and side (1-20, default 3).")
    ] = None,
) -> str:
    agent_id = _agent(agent_id)
    change = _text("change", change)
    lines = [s.strip() for s in _text("scenarios", scenarios).splitlines() if s.strip()]
    times = _repeat(repeat)
    listed = "\n".join(f"   - {s}" for s in lines)
    return (
        f"Try a change on the ElevenLabs agent {agent_id} and keep it only if it does better.\n"
        f"The change: {change}\nThe scenarios:\n{listed}\n"
        f"1. Call get_agent(agent_id={agent_id!r}) and work out the smallest config change "
        "that does this (the fields and their new values).\n"
        f"2. Call run_tests(agent_id={agent_id!r}, tests=[one scenario each, with criteria], "
        f"repeat={times}, agent_config_override=<the change>, baseline={{}}): the change and "
        "the agent as stored run side by side. Confirm with the user when asked.\n"
        "3. Call get_test_results(run_id=...) until the run is done; compare pass rates and "
        "deltas per scenario, and name any scenario that got worse.\n"
        "4. Only if the change is better and nothing got worse, show the user the change and "
        f"call update_agent(agent_id={agent_id!r}, from_run_id=<run_id>) to promote what "
        "was tested; the user confirms it. Otherwise leave the agent as it is and say why."
    )


def prompt_triage_failing_test(
    run_id: Annotated[str, Field(description="The run_id that run_tests returned.")],
    test: Annotated[
        str | None, Field(description="The failing test's name (optional: the worst one).")
    ] = None,
    detail: Annotated[
        str | None, Field(description="How much to read first: summary, runs or transcript.")
    ] = None,
) -> str:
    run_id = _run(run_id)
    test = _text("test", test, required=False)
    first = (detail or "runs").strip()
    if first not in ("summary", "runs", "transcript"):
        raise _bad(f"detail must be summary, runs or transcript, not {first[:20]!r}.")
    which = f"the test {test!r}" if test else "the test with the lowest pass rate"
    test_arg = f", test={test!r}" if test else ""
    named = test_arg or ", test=<that test's name>"  # a transcript is of one test
    return (
        f"Find out why {which} fails in the test run {run_id}.\n"
        f"1. Call get_test_results(run_id={run_id!r}, detail={first!r}{test_arg}) and read the "
        "failed criteria, their reasons and where the runs diverge.\n"
        f"2. Call get_test_results(run_id={run_id!r}, detail='transcript'{named}) for one "
        "failing run, and find the turn where the agent went wrong.\n"
        "3. Call get_agent(agent_id=<the run's agent>) and find the part of the prompt, a "
        "tool or a setting that explains that turn.\n"
        "4. Say whether it is a flaky failure, an agent problem or a test problem, and "
        "propose the smallest change that would fix it (do not apply it)."
    )


def prompt_work_on_a_copy(
    agent_id: AgentId,
    scenario: Annotated[str, Field(description="What to try on the copy.")],
) -> str:
    agent_id = _agent(agent_id)
    scenario = _text("scenario", scenario)
    return (
        f"Experiment on a copy of the ElevenLabs agent {agent_id}, never on the agent itself.\n"
        f"1. Call duplicate_agent(agent_id={agent_id!r}, name=<a name that says it is a "
        "copy>) and use the new agent id from here on.\n"
        "2. Call simulate_conversation(agent_id=<the copy>, user_prompt=...) with a caller "
        f"who does this: {scenario}; then get_simulation(simulation_id=...) until it is done.\n"
        "3. Call get_agent_link(agent_id=<the copy>) and give the user the link, so they can "
        "talk to the copy themselves.\n"
        "4. When the user is done with it, call delete_agent(agent_id=<the copy>) and let the "
        f"user confirm. Never delete {agent_id}."
    )


# --- registration --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptDefinition:
    name: str
    title: str
    description: str
    render: Callable[..., str]
    needs: frozenset[str]  # the tools it cannot do without
    uses: frozenset[str]  # every tool it names


PROMPTS: tuple[PromptDefinition, ...] = (
    PromptDefinition(
        name="test_agent",
        title="Test an agent on a scenario",
        description="Run one simulated conversation on an agent and report what failed and why.",
        render=prompt_test_agent,
        needs=frozenset({"simulate_conversation", "get_simulation"}),
        uses=frozenset({"get_agent", "simulate_conversation", "get_simulation"}),
    ),
    PromptDefinition(
        name="baseline_change_compare",
        title="Baseline, change and compare",
        description=(
            "Run scenarios on the agent as stored and with a change, side by side; promote the "
            "change only if it does better."
        ),
        render=prompt_baseline_change_compare,
        needs=frozenset({"run_tests", "get_test_results"}),
        uses=frozenset({"get_agent", "run_tests", "get_test_results", "update_agent"}),
    ),
    PromptDefinition(
        name="triage_failing_test",
        title="Triage a failing test",
        description="Find why a test of a run fails, from its results and transcripts.",
        render=prompt_triage_failing_test,
        needs=frozenset({"get_test_results"}),
        uses=frozenset({"get_test_results", "get_agent"}),
    ),
    PromptDefinition(
        name="work_on_a_copy",
        title="Work on a copy",
        description=("Duplicate an agent, test the copy, share its link, then delete the copy."),
        render=prompt_work_on_a_copy,
        needs=frozenset(
            {"duplicate_agent", "simulate_conversation", "get_agent_link", "delete_agent"}
        ),
        uses=frozenset(
            {
                "duplicate_agent",
                "simulate_conversation",
                "get_simulation",
                "get_agent_link",
                "delete_agent",
            }
        ),
    ),
)


def offered(enabled: Collection[str]) -> tuple[PromptDefinition, ...]:
    """The prompts whose needed tools are all enabled."""
    return tuple(p for p in PROMPTS if p.needs <= set(enabled))


def register(mcp: MCPServer[Any], enabled: Collection[str]) -> None:
    """Add the offered prompts to `mcp`."""
    for definition in offered(enabled):
        mcp.add_prompt(
            Prompt.from_function(
                definition.render,
                name=definition.name,
                title=definition.title,
                description=definition.description,
            )
        )
