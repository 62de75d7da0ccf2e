"""`ToolDefinition`, the one value a tool is, and the helpers tool handlers share."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolDefinition:
    """One tool, complete. Rules, checked on creation:

    - `annotations.read_only_hint` is always explicit (True or False), never left to the
      client's default; a tool that reads is read-only, a side effect gets its own tool.
    - `mutating` (changes agents; hidden by AGENTS_MCP_READ_ONLY) implies not read-only.
    - `readme` is the README table row: `signature` as users call it, `summary` on one line.
    """

    name: str
    handler: Callable[..., Awaitable[Any]]
    title: str
    annotations: ToolAnnotations
    instructions: str  # its sentence in the server instructions (sent once, at initialize)
    signature: str  # README: "delete_agent(agent_id, confirm=false, force=false)"
    summary: str  # README: what it does, one line
    mutating: bool = False
    output: type[BaseModel] | None = None  # the structured content's model (outputSchema)
    meta: dict[str, Any] | None = None  # the tool's `_meta` (e.g. MCP Apps `ui.resourceUri`)
    description: str | None = None  # default: the handler's docstring on one line

    def __post_init__(self) -> None:
        read_only = self.annotations.read_only_hint
        if read_only is None:
            raise ValueError(f"{self.name}: set annotations.read_only_hint explicitly")
        if self.mutating and read_only:
            raise ValueError(f"{self.name}: a tool that changes agents is not read-only")
        if self.annotations.title is not None:
            raise ValueError(f"{self.name}: give the title as ToolDefinition.title only")
        if not self.signature.startswith(f"{self.name}("):
            raise ValueError(f"{self.name}: the README signature must start with '{self.name}('")
        if not self.instructions or "\n" in self.summary:
            raise ValueError(f"{self.name}: an instructions sentence and a one-line summary")

    @property
    def read_only(self) -> bool:
        return bool(self.annotations.read_only_hint)

    def wire_description(self) -> str:
        """The description in tools/list: `description`, or the handler's docstring."""
        return self.description or describe(self.handler)


def result(structured: BaseModel, text: str) -> CallToolResult:
    """A tool result: a short text for the model, plus the structured content (output schema)."""
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=structured.model_dump(mode="json"),
    )


def describe(fn: Callable[..., object]) -> str:
    """A tool's description from its docstring, on one line (every byte is in tools/list)."""
    return " ".join(inspect.cleandoc(fn.__doc__ or "").split())
