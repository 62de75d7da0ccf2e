"""The tool catalogue: every tool as tools/list sends it, shipped as data (`catalogue.json`).

Building the list from the definitions imports every tool module (the API client, the
simulations, the test runner) and has the SDK build an argument model and a JSON schema per
tool: about a fifth of the server's start-up. The server answers `initialize` and `tools/list`
from this file, and loads the definitions afterwards (agents_mcp/warmup.py).

The file is generated from the definitions (`generate`) and is the tools' snapshot:
tests/unit/tools/test_surface.py fails with a diff when it differs from what the definitions
give, and rewrites it with

    AGENTS_MCP_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -q tests/unit/tools/test_surface.py

Each entry is the tool's compact wire form (`wire`: no titles on schema nodes, no null branch
for an optional argument, no output schema) plus what the server derives from the definition
before any module is loaded: `mutating` (hidden by AGENTS_MCP_READ_ONLY) and its sentence in the
server instructions.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.types import Tool

CATALOGUE = Path(__file__).with_name("catalogue.json")
INSTRUCTIONS_PREAMBLE = "Manage and test ElevenLabs voice agents."


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    name: str
    module: str  # the tool module whose TOOLS holds the definition (loaded on its first call)
    mutating: bool
    instructions: str
    wire: dict[str, Any]  # exactly what tools/list sends for this tool (camelCase)

    def to_json(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "mutating": self.mutating,
            "instructions": self.instructions,
            "wire": self.wire,
        }


@cache
def entries() -> tuple[CatalogueEntry, ...]:
    """The committed catalogue, in the definitions' order."""
    data = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    return tuple(
        CatalogueEntry(
            name=item["wire"]["name"],
            module=item["module"],
            mutating=item["mutating"],
            instructions=item["instructions"],
            wire=item["wire"],
        )
        for item in data["tools"]
    )


def tool_names() -> tuple[str, ...]:
    """The valid tool names, in order (AGENTS_MCP_TOOLS picks among them)."""
    return tuple(entry.name for entry in entries())


def mutating_tools() -> frozenset[str]:
    """The tools that change agents: AGENTS_MCP_READ_ONLY does not offer them."""
    return frozenset(entry.name for entry in entries() if entry.mutating)


def instructions(enabled: Collection[str]) -> str:
    """The server instructions: the preamble, then one sentence per enabled tool."""
    parts = [INSTRUCTIONS_PREAMBLE]
    parts.extend(entry.instructions for entry in entries() if entry.name in enabled)
    return " ".join(parts)


def wire_list(enabled: Collection[str]) -> list[dict[str, Any]]:
    """The enabled tools exactly as tools/list sends them (JSON values)."""
    return [entry.wire for entry in entries() if entry.name in enabled]


def listed(enabled: Collection[str]) -> list[Tool]:
    """The tools/list answer for the enabled tools."""
    return list(_listed(frozenset(enabled)))


@cache
def _listed(enabled: frozenset[str]) -> tuple[Tool, ...]:
    from mcp.types import Tool

    return tuple(Tool.model_validate(wire) for wire in wire_list(enabled))


def module_of(name: str) -> str:
    """The module that defines tool `name` (KeyError for a tool the catalogue does not have)."""
    return _by_name()[name].module


def argument_names(name: str) -> tuple[str, ...] | None:
    """The arguments a tool takes (None for a tool the catalogue does not have)."""
    entry = _by_name().get(name)
    return None if entry is None else tuple(entry.wire["inputSchema"].get("properties", {}))


@cache
def _by_name() -> dict[str, CatalogueEntry]:
    return {entry.name: entry for entry in entries()}


def render(items: Collection[CatalogueEntry]) -> str:
    """The catalogue file's text for `items` (stable, reviewable like code)."""
    body = {"tools": [item.to_json() for item in items]}
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


async def generate() -> tuple[CatalogueEntry, ...]:
    """The catalogue as the definitions give it now: each tool registered on a bare MCPServer
    (the SDK builds the argument schema from the handler's signature), listed and compacted."""
    from mcp.server import MCPServer

    from agents_mcp.tools import registry

    definitions = registry.definitions_by_module()
    server: MCPServer[Any] = MCPServer(name="catalogue")
    for _, definition in definitions:
        registry.add_to(server, definition)
    by_name = {listed.name: listed for listed in await server.list_tools()}
    out: list[CatalogueEntry] = []
    for module, definition in definitions:
        sdk_tool = by_name[definition.name]
        compacted = sdk_tool.model_copy(
            update={"input_schema": compact_schema(sdk_tool.input_schema)}
        )
        wire = compacted.model_dump(mode="json", by_alias=True, exclude_none=True)
        wire.pop("outputSchema", None)  # structured content is sent; its schema is not listed
        out.append(
            CatalogueEntry(
                name=definition.name,
                module=module,
                mutating=definition.mutating,
                instructions=definition.instructions,
                wire=wire,
            )
        )
    return tuple(out)


def compact_schema(schema: Any) -> Any:
    """Drop what a model does not need to call the tool (every byte is paid per conversation).

    - the `title` pydantic puts on every schema node (property names say the same thing); only
      schema-level `title` keys go: a property that is *named* "title" is kept;
    - the `{"anyOf": [X, {"type": "null"}], "default": null}` of an optional argument becomes X:
      leaving it out says the same, and the server still accepts an explicit null.
    """
    if isinstance(schema, list):
        return [compact_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = _without_null_branch(schema)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in ("properties", "$defs", "definitions", "patternProperties") and isinstance(
            value, dict
        ):
            out[key] = {name: compact_schema(sub) for name, sub in value.items()}
        elif key in ("default", "const", "enum", "examples", "required"):
            out[key] = value  # data, not schema
        else:
            out[key] = compact_schema(value)
    return out


def _without_null_branch(schema: dict[str, Any]) -> dict[str, Any]:
    branches = schema.get("anyOf")
    if not (
        isinstance(branches, list)
        and len(branches) == 2
        and {"type": "null"} in branches
        and "default" in schema
        and schema["default"] is None
    ):
        return schema
    (kept,) = [branch for branch in branches if branch != {"type": "null"}]
    merged = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    return {**kept, **merged}
