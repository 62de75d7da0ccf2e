"""Reading a stored agent document: the persona, company, prompt, first message, tools (as
ToolSpec), evaluation criteria, data collection and dynamic-variable placeholders. Documents are
stored as given, so every level is checked before use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agents_mcp.jsontypes import JSONObject


@dataclass
class ToolSpec:
    name: str
    kind: str  # webhook | client | system | api_integration_webhook
    description: str
    params: list[tuple[str, JSONObject, str]]  # (name, schema, where: path|query|body)
    method: str = "POST"
    url: str = ""


@dataclass
class AgentView:
    agent_id: str
    persona: str
    company: str
    prompt: str
    first_message: str
    llm: str
    tools: list[ToolSpec]
    end_call: bool
    criteria: list[JSONObject]
    data_collection: dict[str, JSONObject]
    placeholders: JSONObject


def read_agent(doc: JSONObject) -> AgentView:
    """The parts of a stored agent document the engine uses (any shape: created agents are
    stored as given, so every level is checked before use)."""
    agent = _obj(_obj(doc.get("conversation_config")).get("agent"))
    prompt_cfg = _obj(agent.get("prompt"))
    prompt = _str(prompt_cfg.get("prompt"))
    tools: list[ToolSpec] = []
    end_call = False
    for raw in _list(prompt_cfg.get("tools")):
        spec = _tool_spec(raw)
        if spec is None:
            continue
        if spec.kind == "system":
            end_call = end_call or spec.name == "end_call"
            continue
        tools.append(spec)
    end_call = end_call or bool(_obj(prompt_cfg.get("built_in_tools")).get("end_call"))
    settings = _obj(doc.get("platform_settings"))
    criteria = [
        c for c in _list(_obj(settings.get("evaluation")).get("criteria")) if isinstance(c, dict)
    ]
    placeholders = _obj(_obj(agent.get("dynamic_variables")).get("dynamic_variable_placeholders"))
    first_message = _str(agent.get("first_message"))
    persona = _first(re.findall(r"\b[Yy]ou are ([A-Z][a-z]+)\b", prompt)) or "the assistant"
    company = _company(prompt) or _company(first_message) or _str(doc.get("name"))
    return AgentView(
        agent_id=str(doc["agent_id"]),
        persona=persona,
        company=company,
        prompt=prompt,
        first_message=first_message,
        llm=_str(prompt_cfg.get("llm")) or "gemini-2.0-flash",
        tools=tools,
        end_call=end_call,
        criteria=criteria,
        data_collection={
            str(k): v
            for k, v in _obj(settings.get("data_collection")).items()
            if isinstance(v, dict)
        },
        placeholders=dict(placeholders),
    )


def _obj(value: Any) -> JSONObject:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _tool_spec(raw: Any) -> ToolSpec | None:
    if not isinstance(raw, dict) or not _str(raw.get("name")):
        return None
    kind = _str(raw.get("type")) or ("webhook" if "api_schema" in raw else "client")
    params: list[tuple[str, JSONObject, str]] = []
    method, url = "POST", ""

    def add(props: Any, where: str) -> None:
        for name, prop in _obj(props).items():
            params.append((str(name), _obj(prop), where))

    if kind == "webhook":
        schema = _obj(raw.get("api_schema"))
        method, url = (_str(schema.get("method")) or "GET").upper(), _str(schema.get("url"))
        add(schema.get("path_params_schema"), "path")
        add(_obj(schema.get("query_params_schema")).get("properties"), "query")
        add(_obj(schema.get("request_body_schema")).get("properties"), "body")
    elif kind == "client":
        add(_obj(raw.get("parameters")).get("properties"), "body")
    return ToolSpec(raw["name"], kind, _str(raw.get("description")), params, method, url)


def _first(items: list[str]) -> str | None:
    bad = {"A", "An", "The", "Your", "Very", "Not", "Now", "Here", "Helpful", "Friendly"}
    return next((i for i in items if i not in bad), None)


def _company(text: str) -> str | None:
    match = re.search(r"\b(?:at|for|from|with|of) ((?:[A-Z][\w'&-]+)(?: [A-Z][\w'&-]+){0,3})", text)
    return match.group(1) if match else None
