"""The one list of tools, and everything derived from it.

`all_tools()` gathers the `TOOLS` tuple of every module in `TOOL_MODULES`, in order, and checks
that names are unique. From that list come: the registration on the MCPServer (`register`), the
README's tool table (`readme_table`, written by scripts/gen_readme_tools.py) and the tool
catalogue (catalogue.py: the generated tools/list). Nothing else names a tool.

What start-up needs is read from the catalogue (catalogue.py; re-exported here), not the tool
modules (they pull in the API client, the simulations and the test runner): the valid names of
AGENTS_MCP_TOOLS (`tool_names`), the tools AGENTS_MCP_READ_ONLY hides (`mutating_tools`) and
the server instructions (`instructions`).

How to add a tool:
1. In a module of this package, write the handler: `async def my_tool(arg: Annotated[str,
   Field(description=...)], *, ctx: Context) -> Annotated[CallToolResult, MyResult]` with a
   one-sentence docstring (it becomes the description in tools/list: every byte counts).
2. Add `ToolDefinition(name=..., handler=..., title=..., annotations=ToolAnnotations(
   read_only_hint=..., ...), mutating=..., instructions=..., signature=..., summary=...,
   output=MyResult)` to that module's `TOOLS` tuple (read-only hint always explicit).
3. A new module: add its dotted name to `TOOL_MODULES`. A module that also serves resources
   defines `register_resources(mcp, enabled)`; it is called with the set of enabled tools.
4. Run `python scripts/gen_readme_tools.py` (README table) and
   `AGENTS_MCP_UPDATE_SNAPSHOTS=1 pytest tests/unit/tools/test_surface.py` (the catalogue,
   agents_mcp/tools/catalogue.json: the tool as tools/list sends it), and review both diffs.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from functools import cache
from types import ModuleType

from mcp.server import MCPServer

from agents_mcp.tools import catalogue
from agents_mcp.tools.catalogue import instructions as instructions  # re-exported
from agents_mcp.tools.catalogue import mutating_tools as mutating_tools
from agents_mcp.tools.catalogue import tool_names as tool_names
from agents_mcp.tools.definition import ToolDefinition

TOOL_MODULES: tuple[str, ...] = (
    "agents_mcp.tools.agents",
    "agents_mcp.tools.agent_config",
    "agents_mcp.tools.simulations",
    "agents_mcp.tools.testing",
)


@cache
def _modules() -> tuple[ModuleType, ...]:
    return tuple(importlib.import_module(name) for name in TOOL_MODULES)


@cache
def all_tools() -> tuple[ToolDefinition, ...]:
    """Every tool of the product, in the order of TOOL_MODULES and of each module's TOOLS."""
    tools: list[ToolDefinition] = []
    seen: set[str] = set()
    for module in _modules():
        for tool in module.TOOLS:
            if not isinstance(tool, ToolDefinition):
                raise TypeError(f"{module.__name__}.TOOLS holds {tool!r}, not a ToolDefinition")
            if tool.name in seen:
                raise ValueError(f"two tools are named {tool.name!r}")
            seen.add(tool.name)
            tools.append(tool)
    return tuple(tools)


def add_to(mcp: MCPServer, tool: ToolDefinition) -> None:
    """Register one definition's handler on `mcp` (the SDK builds its argument model)."""
    mcp.add_tool(
        tool.handler,
        name=tool.name,
        title=tool.title,
        description=tool.wire_description(),
        annotations=tool.annotations,
        meta=tool.meta,
    )


def definition(name: str) -> ToolDefinition:
    """One tool's definition, importing only its module (named in the catalogue)."""
    module = importlib.import_module(catalogue.module_of(name))
    for tool in module.TOOLS:
        if tool.name == name:
            return tool  # type: ignore[no-any-return]
    raise LookupError(f"{module.__name__}.TOOLS has no tool named {name!r}")


def definitions_by_module() -> list[tuple[str, ToolDefinition]]:
    """Every definition with the module that holds it (the catalogue records it)."""
    all_tools()  # checks names are unique
    return [(module.__name__, tool) for module in _modules() for tool in module.TOOLS]


def register(mcp: MCPServer, enabled: Collection[str], *, already: Collection[str] = ()) -> None:
    """Add the enabled tools to `mcp` (but those `already` registered), then each module's
    resources."""
    for tool in all_tools():
        if tool.name in enabled and tool.name not in already:
            add_to(mcp, tool)
    register_resources(mcp, enabled)


def register_resources(mcp: MCPServer, enabled: Collection[str]) -> None:
    """Each tool module's resources (`register_resources(mcp, enabled)` where it has one)."""
    chosen = frozenset(enabled)
    for module in _modules():
        register_resources = getattr(module, "register_resources", None)
        if register_resources is not None:
            register_resources(mcp, chosen)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _hints(tool: ToolDefinition) -> str:
    """What the annotations and `mutating` say, in words (appended to the README summary)."""
    a = tool.annotations
    if tool.read_only:
        words = ["Read-only."]
    elif a.destructive_hint is not False:  # the spec's default for a tool that writes is true
        words = ["Destructive, idempotent." if a.idempotent_hint else "Destructive."]
    else:
        words = []
    if tool.mutating:
        words.append("Not offered with `AGENTS_MCP_READ_ONLY=1`.")
    return " ".join(words)


def readme_table() -> str:
    """README's tool table (markdown), one row per tool."""
    lines = ["| tool | what it does |", "|---|---|"]
    for t in all_tools():
        summary = " ".join(part for part in (t.summary, _hints(t)) if part)
        lines.append(f"| `{_cell(t.signature)}` | {_cell(summary)} |")
    return "\n".join(lines) + "\n"
