"""What an agent is, compactly: the overview get_agent shows, and the pages of its long parts.

Pure functions over the agent document the API returns (a tolerant dict: any field may be
missing or of an unexpected type, and nothing here raises for that). The overview keeps what
decides behaviour (name, first message, language, LLM, temperature, the system prompt, tools,
knowledge base, the {{placeholders}} used, attached tests, voice) within a small budget: a long
prompt is clipped and the overview names the exact call that shows the rest.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

PROMPT_EXCERPT = 400  # characters of the prompt in the overview
PROMPT_PAGE = 4000  # characters per page of section="prompt"
FULL_PAGE = 6000  # characters per page of section="full"
_FIRST_MESSAGE = 200
_MAX_LISTED = 12  # tools, documents, variables, tests named in the overview
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.\-]{0,63})\s*\}\}")


class ToolRef(BaseModel):
    name: str
    id: str | None = None  # a workspace tool's id; None for inline and system tools


class DocumentRef(BaseModel):
    name: str
    id: str | None = None


class AgentOverview(BaseModel):
    agent_id: str
    name: str | None
    tags: list[str]
    language: str | None
    first_message: str | None  # clipped
    llm: str | None
    temperature: float | None
    voice_id: str | None
    prompt_excerpt: str  # the first PROMPT_EXCERPT characters
    prompt_chars: int
    tools: list[ToolRef]
    knowledge_base: list[DocumentRef]
    dynamic_variables: list[str]  # placeholders used by the prompt and first message
    tests: list[str]  # ids of the tests attached to the agent
    more: str | None  # the call that shows the rest of the prompt, when clipped


class SectionPage(BaseModel):
    agent_id: str
    section: str
    page: int
    pages: int
    text: str
    next: str | None  # the call for the next page


def _dig(doc: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(key)
    return doc


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending with "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def prompt_of(doc: Mapping[str, Any]) -> str:
    return _str(_dig(doc, "conversation_config", "agent", "prompt", "prompt")) or ""


def placeholders(*texts: str | None) -> list[str]:
    """The {{variable}} names used in ``texts``, in order of first use, without duplicates."""
    seen: dict[str, None] = {}
    for text in texts:
        for match in _PLACEHOLDER.finditer(text or ""):
            seen.setdefault(match.group(1), None)
    return list(seen)


def tool_ids(doc: Mapping[str, Any]) -> list[str]:
    """The workspace tool ids the agent uses (resolved to names through the tools endpoint)."""
    ids = _dig(doc, "conversation_config", "agent", "prompt", "tool_ids")
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def agent_tools(doc: Mapping[str, Any], names: Mapping[str, ToolRef]) -> list[ToolRef]:
    """The agent's tools: workspace tools by id (named through ``names``), inline tools, and the
    built-in system tools that are switched on."""
    prompt = _dig(doc, "conversation_config", "agent", "prompt")
    found: list[ToolRef] = []
    for tool_id in tool_ids(doc):
        known = names.get(tool_id)
        found.append(
            ToolRef(name=known.name, id=tool_id)
            if known
            else ToolRef(name="(unknown: not in the workspace's tools)", id=tool_id)
        )
    named = {t.name for t in found}
    inline = _dig(prompt, "tools")
    for tool in inline if isinstance(inline, list) else []:
        # an agent may carry a workspace tool both by id and inline: name it once
        if isinstance(tool, Mapping) and _str(tool.get("name")) and tool["name"] not in named:
            named.add(tool["name"])
            found.append(ToolRef(name=tool["name"], id=_str(tool.get("id"))))
    built_in = _dig(prompt, "built_in_tools")
    if isinstance(built_in, Mapping):
        found.extend(
            ToolRef(name=name) for name, config in built_in.items() if isinstance(config, Mapping)
        )
    return found


def workspace_tool_names(tools: Iterable[Mapping[str, Any]]) -> dict[str, ToolRef]:
    """{tool id: ToolRef} from the answer of GET /v1/convai/tools."""
    names: dict[str, ToolRef] = {}
    for tool in tools:
        tool_id = _str(tool.get("id"))
        config = tool.get("tool_config")
        name = _str(config.get("name")) if isinstance(config, Mapping) else None
        if tool_id and name:
            names[tool_id] = ToolRef(name=name, id=tool_id)
    return names


def overview(
    agent_id: str, doc: Mapping[str, Any], names: Mapping[str, ToolRef] | None = None
) -> AgentOverview:
    agent = _dig(doc, "conversation_config", "agent")
    prompt_cfg = _dig(agent, "prompt")
    prompt = prompt_of(doc)
    first = _str(_dig(agent, "first_message"))
    temperature = _dig(prompt_cfg, "temperature")
    tags = doc.get("tags")
    kb = _dig(prompt_cfg, "knowledge_base")
    attached = _dig(doc, "platform_settings", "testing", "attached_tests")
    clipped = len(prompt) > PROMPT_EXCERPT
    return AgentOverview(
        agent_id=agent_id,
        name=_str(doc.get("name")),
        tags=[t for t in tags if isinstance(t, str)][:_MAX_LISTED]
        if isinstance(tags, list)
        else [],
        language=_str(_dig(agent, "language")),
        first_message=clip(first, _FIRST_MESSAGE) if first else None,
        llm=_str(_dig(prompt_cfg, "llm")),
        temperature=(
            float(temperature)
            if isinstance(temperature, int | float) and not isinstance(temperature, bool)
            else None
        ),
        voice_id=_str(_dig(doc, "conversation_config", "tts", "voice_id")),
        prompt_excerpt=clip(prompt, PROMPT_EXCERPT),
        prompt_chars=len(prompt),
        tools=agent_tools(doc, names or {})[:_MAX_LISTED],
        knowledge_base=[
            DocumentRef(name=d["name"], id=_str(d.get("id")))
            for d in (kb if isinstance(kb, list) else [])
            if isinstance(d, Mapping) and _str(d.get("name"))
        ][:_MAX_LISTED],
        dynamic_variables=placeholders(prompt, first)[:_MAX_LISTED],
        tests=[
            t["test_id"]
            for t in (attached if isinstance(attached, list) else [])
            if isinstance(t, Mapping) and _str(t.get("test_id"))
        ][:_MAX_LISTED],
        more=(f'get_agent(agent_id="{agent_id}", section="prompt", page=1)' if clipped else None),
    )


def overview_text(o: AgentOverview) -> str:
    """The overview as a few lines for the model (the structured content carries the same)."""
    head = f"Agent {o.agent_id}" + (f" {o.name!r}" if o.name else "")
    if o.tags:
        head += f" [{', '.join(o.tags)}]"
    model = o.llm or "?"
    if o.temperature is not None:
        model += f", temperature {o.temperature:g}"
    lines = [
        head,
        f"LLM {model}; language {o.language or '?'}; voice {o.voice_id or '?'}",
        f"First message: {o.first_message!r}" if o.first_message else "First message: (none)",
    ]
    if o.tools:
        lines.append(
            "Tools: " + ", ".join(f"{t.name} ({t.id})" if t.id else t.name for t in o.tools)
        )
    if o.knowledge_base:
        lines.append("Knowledge base: " + ", ".join(d.name for d in o.knowledge_base))
    if o.dynamic_variables:
        lines.append("Variables used: " + ", ".join(o.dynamic_variables))
    if o.tests:
        lines.append("Attached tests: " + ", ".join(o.tests))
    if o.more is None:
        lines.append(f"System prompt ({o.prompt_chars} chars):\n{o.prompt_excerpt}")
    else:
        lines.append(
            f"System prompt (first {PROMPT_EXCERPT} of {o.prompt_chars} chars):\n"
            f"{o.prompt_excerpt}\nRest of the prompt: {o.more}"
        )
    return "\n".join(lines)


def section_page(agent_id: str, section: str, text: str, page: int, size: int) -> SectionPage:
    """Page ``page`` (1-based) of ``text`` cut into ``size``-character pages. A page past the end
    raises ValueError with a message naming the last page."""
    pages = max(1, math.ceil(len(text) / size))
    if page > pages:
        raise ValueError(f"page {page} is past the end: section {section!r} has {pages} page(s)")
    following = (
        f'get_agent(agent_id="{agent_id}", section="{section}", page={page + 1})'
        if page < pages
        else None
    )
    return SectionPage(
        agent_id=agent_id,
        section=section,
        page=page,
        pages=pages,
        text=text[(page - 1) * size : page * size],
        next=following,
    )


def full_text(doc: Mapping[str, Any]) -> str:
    """The raw config as indented JSON (what section="full" pages through)."""
    return json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=False)
