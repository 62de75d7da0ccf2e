"""The conversation engine: believable, deterministic simulated conversations without any ML.

`simulate(agent, request)` plays the agent (its persona, first message and tools, read from the
stored agent document) against a simulated user (its prompt), using templates and keyword
heuristics. Everything random comes from one `random.Random` seeded with the agent id and the
request body, so the same request always gives the same conversation, streamed or not.

Length: the conversation ends naturally after 10-14 new message turns; a simulated user prompt
containing `[turns=N]` asks for exactly N new turns; `new_turns_limit` caps either. A "turn" is a
user or agent message; the tool-call and tool-result entries that precede an agent message belong
to that turn. The agent's first message (or the partial history) is returned but not counted.

Modules, one job each: vocabulary, agent_doc (reading the agent document), dialogue (planning
and playing the conversation), tool_calls, records (turn records), judging, text (heuristics),
agent_tests (agent-testing runs on top of simulate).
"""

from agents_mcp.sandbox.engine.agent_doc import AgentView, ToolSpec, read_agent
from agents_mcp.sandbox.engine.dialogue import seed_for, simulate
from agents_mcp.sandbox.engine.records import MockResolver, Simulation
from agents_mcp.sandbox.engine.vocabulary import (
    MAX_TURNS,
    RESULT_DIRECTIVE,
    TURN_DIRECTIVE,
    VARIABLE,
)

__all__ = [
    "MAX_TURNS",
    "RESULT_DIRECTIVE",
    "TURN_DIRECTIVE",
    "VARIABLE",
    "AgentView",
    "MockResolver",
    "Simulation",
    "ToolSpec",
    "read_agent",
    "seed_for",
    "simulate",
]
