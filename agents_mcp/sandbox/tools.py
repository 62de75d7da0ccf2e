"""Tool ids of the sandbox: every non-system tool of a stored agent has one, as upstream.

Upstream, tools live in their own collection (`GET /v1/convai/tools`) and an agent refers to
them from `conversation_config.agent.prompt.tool_ids`; tests name tools by these ids
(`tool_mock_config.mocked_tool_ids`, `tool_mock_overrides`). The sandbox keeps the tools inline
in the agent document (`prompt.tools`, the older shape the engine reads) and derives each id from
the tool name, so ids are stable across restarts and the same in the demo files.
System tools (end_call, ...) are built in upstream and get no id.
"""

from __future__ import annotations

import hashlib

from agents_mcp.jsontypes import JSONObject
from agents_mcp.sandbox.store import ACCESS_INFO

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def tool_id(name: str) -> str:
    """`tool_` + 28 lowercase alphanumerics, derived from the tool name alone: agents with a
    tool of the same name share it, as agents referring to one upstream tool do."""
    number = int.from_bytes(hashlib.sha256(f"tool\n{name}".encode()).digest(), "big")
    chars = []
    for _ in range(28):
        number, digit = divmod(number, 36)
        chars.append(_ALPHABET[digit])
    return "tool_" + "".join(chars)


def _prompt(doc: JSONObject) -> JSONObject | None:
    config = doc.get("conversation_config")
    agent = config.get("agent") if isinstance(config, dict) else None
    prompt = agent.get("prompt") if isinstance(agent, dict) else None
    return prompt if isinstance(prompt, dict) else None


def agent_tools(doc: JSONObject) -> list[tuple[str, JSONObject]]:
    """(tool id, tool config) for each non-system tool of an agent document, in order."""
    prompt = _prompt(doc)
    tools = prompt.get("tools") if prompt else None
    out = []
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            continue
        if tool.get("type") == "system":
            continue
        out.append((tool_id(tool["name"]), tool))
    return out


def assign_tool_ids(doc: JSONObject) -> JSONObject:
    """Set `prompt.tool_ids` to the ids of the document's inline tools (in place; returns doc)."""
    prompt = _prompt(doc)
    if prompt is not None and isinstance(prompt.get("tools"), list):
        prompt["tool_ids"] = [tid for tid, _ in agent_tools(doc)]
    return doc


def tool_names(doc: JSONObject) -> dict[str, str]:
    """Tool id -> tool name, for an agent document."""
    return {tid: tool["name"] for tid, tool in agent_tools(doc)}


def tool_listing(
    docs: list[JSONObject], *, search: str | None = None, types: list[str] | None = None
) -> list[JSONObject]:
    """ToolResponseModel entries for the tools of these agents (the first owner wins a tie)."""
    seen: dict[str, JSONObject] = {}
    for doc in docs:
        for tid, tool in agent_tools(doc):
            if tid in seen:
                continue
            if search and search.lower() not in tool["name"].lower():
                continue
            if types and tool.get("type", "webhook") not in types:
                continue
            config = {k: v for k, v in tool.items() if k not in ("id", "tool_id", "response_mocks")}
            config.setdefault("description", "")
            seen[tid] = {
                "id": tid,
                "tool_config": config,
                "access_info": dict(ACCESS_INFO),
                "usage_stats": {"total_calls": 0, "avg_latency_secs": 0.0},
            }
    return list(seen.values())
