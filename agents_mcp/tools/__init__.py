"""The MCP tools. Each module has `register(mcp, enabled)` and registers the tools for which
`enabled(name)` is true; the names below are the complete, fixed product surface."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

AGENT_TOOLS: tuple[str, ...] = ("delete_agent", "duplicate_agent", "get_agent_link")
SIMULATION_TOOLS: tuple[str, ...] = ("simulate_conversation", "get_simulation")
ALL_TOOLS: tuple[str, ...] = AGENT_TOOLS + SIMULATION_TOOLS

# Removed by AGENTS_MCP_READ_ONLY: the tools that change agents. (A simulation costs credits but
# changes no agent, so it stays.)
MUTATING_TOOLS: frozenset[str] = frozenset({"delete_agent", "duplicate_agent"})


def result(structured: BaseModel, text: str) -> CallToolResult:
    """A tool result: a short text for the model, plus the structured content (output schema)."""
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=structured.model_dump(mode="json"),
    )


def describe(fn: Callable[..., object]) -> str:
    """A tool's description from its docstring, on one line (every byte is in tools/list)."""
    return " ".join(inspect.cleandoc(fn.__doc__ or "").split())
