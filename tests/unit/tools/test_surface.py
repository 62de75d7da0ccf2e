"""The tool surface as clients see it, pinned: the tool catalogue, the server instructions,
the byte budgets, the rules every tool definition follows, and README's generated tool table.

The catalogue (agents_mcp/tools/catalogue.json) is the tools' snapshot: the compacted wire form
of each tool (name, title, description, inputSchema, annotations, _meta), which the server
lists without loading the tools. It must be what the definitions give now (each handler
registered on the SDK, listed and compacted: `catalogue.generate`); a difference fails with a
unified diff. tools/list itself is taken through the real MCP client talking to the server in
memory, with every tool enabled. After a deliberate change, rewrite the catalogue with

    AGENTS_MCP_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -q tests/unit/tools/test_surface.py

and review the diff like code.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from functools import cache
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import ToolAnnotations

from agents_mcp.server import build_server
from agents_mcp.settings import Settings
from agents_mcp.tools import catalogue
from agents_mcp.tools.definition import ToolDefinition
from agents_mcp.tools.registry import all_tools, instructions, tool_names
from tests.support.paths import REPO, SNAPSHOTS

INSTRUCTIONS = SNAPSHOTS / "_instructions.txt"
UPDATE = os.environ.get("AGENTS_MCP_UPDATE_SNAPSHOTS") == "1"
UPDATE_COMMAND = (
    "AGENTS_MCP_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -q tests/unit/tools/test_surface.py"
)

DESCRIPTION_BUDGET = 700  # bytes per tool description
TOOLS_LIST_BUDGET = 8192  # bytes of the whole tools/list result (bench/bench_tools_list.py)


@cache
def wire() -> tuple[dict[str, dict[str, Any]], str]:
    """Every tool as tools/list sends it (camelCase, no nulls), and the server instructions."""

    async def fetch() -> tuple[dict[str, dict[str, Any]], str]:
        settings = Settings(api_key="sk_surface_test", base_url="http://127.0.0.1:9")
        async with Client(build_server(settings)) as client:
            listed = (await client.list_tools()).tools
            return (
                {
                    t.name: t.model_dump(mode="json", by_alias=True, exclude_none=True)
                    for t in listed
                },
                client.instructions or "",
            )

    return anyio.run(fetch)


def _check_snapshot(path: Path, actual: str, source: str) -> None:
    """`path` must hold `actual` (what `source` gives now); UPDATE rewrites it."""
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != actual:
            path.write_text(actual, encoding="utf-8")
        return
    rel = path.relative_to(REPO)
    if not path.exists():
        pytest.fail(f"no snapshot {rel}; write it with:\n  {UPDATE_COMMAND}")
    expected = path.read_text(encoding="utf-8")
    if expected != actual:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                f"{rel} (committed)",
                f"{rel} ({source})",
            )
        )
        pytest.fail(f"{rel} differs from {source}:\n{diff}\nIf intended: {UPDATE_COMMAND}")


# --- snapshots -----------------------------------------------------------------------------------


def test_catalogue_is_what_the_definitions_give() -> None:
    generated = anyio.run(catalogue.generate)
    _check_snapshot(catalogue.CATALOGUE, catalogue.render(generated), "the tool definitions")
    assert [entry.name for entry in generated] == [tool.name for tool in all_tools()]


def test_tools_list_is_the_catalogue() -> None:
    tools, _ = wire()
    assert list(tools.values()) == [entry.wire for entry in catalogue.entries()]


def test_instructions_match_their_snapshot() -> None:
    _, text = wire()
    _check_snapshot(INSTRUCTIONS, text + "\n", "the server's instructions")


def test_every_listed_tool_is_defined() -> None:
    tools, _ = wire()
    assert list(tools) == list(tool_names())  # same tools, in the definitions' order


# --- rules and budgets ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", tool_names())
def test_tool_has_title_explicit_read_only_hint_and_a_short_description(name: str) -> None:
    tool = wire()[0][name]
    assert tool.get("title"), f"{name} has no title"
    assert isinstance(tool.get("annotations", {}).get("readOnlyHint"), bool), (
        f"{name} leaves readOnlyHint to the client's default"
    )
    size = len(tool.get("description", "").encode())
    assert 0 < size <= DESCRIPTION_BUDGET, f"{name}: description of {size} bytes"


def test_tools_list_within_budget() -> None:
    tools, _ = wire()
    payload = {"tools": list(tools.values())}
    size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    assert size <= TOOLS_LIST_BUDGET, f"tools/list is {size} bytes (budget {TOOLS_LIST_BUDGET})"


@pytest.mark.parametrize("name", tool_names())
def test_wire_form_comes_from_the_definition(name: str) -> None:
    """What a definition says is what clients get: annotations, _meta, the output model."""
    definition = {t.name: t for t in all_tools()}[name]
    tool = wire()[0][name]
    assert tool["title"] == definition.title
    assert tool["description"] == definition.wire_description()
    assert tool["annotations"] == definition.annotations.model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    assert tool.get("_meta") == definition.meta
    assert "outputSchema" not in tool  # structured content is sent; its schema is not listed
    if definition.mutating:
        assert tool["annotations"]["readOnlyHint"] is False


def test_instructions_have_one_sentence_per_enabled_tool() -> None:
    _, text = wire()
    assert text == instructions(tool_names())
    for tool in all_tools():
        assert tool.instructions in text
        without = instructions([n for n in tool_names() if n != tool.name])
        assert tool.instructions not in without


def test_a_definition_without_an_explicit_read_only_hint_is_refused() -> None:
    common: dict[str, Any] = {
        "name": "x_tool",
        "handler": test_tools_list_within_budget,
        "title": "X",
        "instructions": "x_tool does x.",
        "signature": "x_tool()",
        "summary": "Does x.",
    }
    with pytest.raises(ValueError, match="read_only_hint explicitly"):
        ToolDefinition(annotations=ToolAnnotations(destructive_hint=False), **common)
    with pytest.raises(ValueError, match="not read-only"):
        ToolDefinition(annotations=ToolAnnotations(read_only_hint=True), mutating=True, **common)
    ToolDefinition(annotations=ToolAnnotations(read_only_hint=True), **common)  # fine


# --- README --------------------------------------------------------------------------------------


def test_readme_tool_table_is_generated_from_the_definitions() -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import gen_readme_tools as gen
    finally:
        sys.path.remove(str(REPO / "scripts"))
    current = gen.README.read_text(encoding="utf-8")
    wanted = gen.render(current)
    if current != wanted:
        pytest.fail(
            f"README.md's tool table differs from the tool definitions:\n"
            f"{gen.diff(current, wanted)}\nFix: .venv/bin/python {gen.COMMAND.split(' ', 1)[1]}"
        )
    for name in tool_names():
        assert f"| `{name}(" in wanted
