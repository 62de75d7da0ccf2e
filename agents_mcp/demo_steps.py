"""The demo's steps, one function each: the agent-testing loop told through the MCP tools.

Each step calls the tools as a model would (through the real MCP client), prints a few lines a
person can follow, and returns what the next step needs. Steps print compact results, never raw
API bodies, and name the sizes where they make a point. The scenarios lean on the sandbox's
markers (docs/sandbox.md): `[requires: PHRASE]` makes a test fail until the prompt asks for
PHRASE, which the candidate prompt does; the agent's own test `test_demo_delivery_date_flaky`
(`[flaky=0.6]`, a fixed id, so fixed draws) passes 3 runs in 4 whatever the config.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import httpx2

if TYPE_CHECKING:
    from mcp import Client
    from mcp.shared.dispatcher import ProgressFnT
    from mcp.types import CallToolResult

DEMO_AGENT = "agent_demo_support"
USER_PROMPT = (
    "You are Sam, a customer whose hiking boots arrived damaged. You are impatient and want a "
    "refund today; give your order number when asked."
)
CRITERIA = [
    {"id": "asked_order_number", "goal": "The agent asks for the order number before acting"},
    {"id": "confirmed_refund", "goal": "The agent confirms the refund amount and when it arrives"},
]
# The order system is down: how does the agent cope when its lookup tool fails?
TOOL_MOCKS = {"lookup_order": {"return": "Order service timed out (503)", "is_error": True}}

# run_tests: two scenarios and one of the agent's own tests, each REPEAT times, on the stored
# agent (the baseline) and on the candidate prompt, side by side.
REPEAT = 4  # 3 tests x 4 repeats x 2 sides = 24 runs, below AGENTS_MCP_MAX_RUNS (30)
LATE_PARCEL = "late parcel: goodwill code"
SUITE: list[str | dict[str, Any]] = [
    {
        "name": "refund for a torn jacket",
        "user_prompt": (
            "You bought a rain jacket, order NW-12345, and it arrived torn. You want a refund. "
            "Give the order number when asked."
        ),
        "criteria": ["The agent resolves the refund", "The agent stays polite and empathetic"],
        "max_turns": 12,
    },
    {
        "name": LATE_PARCEL,
        "user_prompt": (
            "Your order NW-20417 is four days late and you need it for a hike this weekend. "
            "You are annoyed. Ask where it is."
        ),
        "criteria": [
            "The agent tells the customer where the order is",
            "The agent must [requires: offer a discount code] when a delivery is late",
        ],
        "max_turns": 12,
    },
    "test_demo_delivery_date_flaky",
]
PROMPT_FIX = (
    "When a delivery is late, apologise and offer a discount code (LATE10) for the next order."
)

Say = Callable[[str], None]


class Bar(Protocol):
    """What the steps need of a progress display (demo.ProgressBar)."""

    frames: int

    def update(self, progress: float, total: float | None, message: str | None) -> None: ...

    def finish(self, note: str) -> None: ...


class DemoError(RuntimeError):
    pass


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def size_of(result: CallToolResult) -> int:
    """The bytes a model reads: the text plus the compact structured content."""
    structured = result.structured_content
    size = len(text_of(result).encode())
    if structured is not None:
        size += len(json.dumps(structured, ensure_ascii=False, separators=(",", ":")).encode())
    return size


def checked(result: CallToolResult, what: str) -> dict[str, Any]:
    if result.is_error:
        raise DemoError(f"{what} failed: {text_of(result)}")
    return result.structured_content or {}


def indented(text: str, pad: str = "   ") -> str:
    return pad + text.replace("\n", "\n" + pad)


def _async(fn: Callable[[float, float | None, str | None], None]) -> ProgressFnT:
    async def call(progress: float, total: float | None, message: str | None) -> None:
        fn(progress, total, message)

    return call


async def read_agent(client: Client, agent_id: str, say: Say) -> str:
    """get_agent's compact view (a few lines of it), and the whole prompt read page by page:
    the candidate is written from it."""
    view = await client.call_tool("get_agent", {"agent_id": agent_id})
    o = checked(view, "get_agent")
    raw = await _section(client, agent_id, "full")
    tools = ", ".join(t["name"] for t in o.get("tools", []))
    say(f"4. Read it (get_agent): {size_of(view):,} B vs {raw:,} chars of raw config:")
    say(f"   {o.get('llm')} at temperature {o.get('temperature')}; tools {tools}")
    excerpt = str(o.get("prompt_excerpt", ""))[:90].rstrip()
    say(f'   Prompt ({o.get("prompt_chars", 0):,} chars, clipped): "{excerpt}…"')
    say(f"   Its tests: {', '.join(o.get('tests', []))}")
    parts: list[str] = []
    page, pages = 1, 1
    while page <= pages:
        part = checked(
            await client.call_tool(
                "get_agent", {"agent_id": agent_id, "section": "prompt", "page": page}
            ),
            "get_agent",
        )
        parts.append(str(part.get("text", "")))
        pages = int(part.get("pages", 1))
        page += 1
    return "".join(parts)


async def _section(client: Client, agent_id: str, section: str) -> int:
    """The length in characters of a get_agent section: its page count and its last page."""
    first = checked(
        await client.call_tool("get_agent", {"agent_id": agent_id, "section": section}),
        "get_agent",
    )
    pages = int(first.get("pages", 1))
    last = first
    if pages > 1:
        args = {"agent_id": agent_id, "section": section, "page": pages}
        last = checked(await client.call_tool("get_agent", args), "get_agent")
    return len(str(first.get("text", ""))) * (pages - 1) + len(str(last.get("text", "")))


async def simulate(client: Client, agent_id: str, bar: Bar) -> tuple[CallToolResult, str]:
    """Run the demo scenario to its end (waiting through get_simulation when needed)."""
    args = {
        "agent_id": agent_id,
        "user_prompt": USER_PROMPT,
        "criteria": CRITERIA,
        "tool_mocks": TOOL_MOCKS,
        "wait_seconds": 45,
    }
    result = await client.call_tool(
        "simulate_conversation", args, progress_callback=_async(bar.update)
    )
    structured = result.structured_content or {}
    sid = structured.get("simulation_id")
    while not result.is_error and structured.get("status") in ("queued", "running"):
        result = await client.call_tool(
            "get_simulation",
            {"simulation_id": sid, "wait_seconds": 45},
            progress_callback=_async(bar.update),
        )
        structured = result.structured_content or {}
    bar.finish(f"{structured.get('status', '?')} after {bar.frames} progress events")
    checked(result, "simulate_conversation")
    return result, str(sid)


async def show_simulation(client: Client, result: CallToolResult, sid: str, say: Say) -> None:
    """The compact result's head (outcome, criteria, tool errors) and its size vs the raw one."""
    full = checked(
        await client.call_tool("get_simulation", {"simulation_id": sid, "detail": "full"}),
        "get_simulation",
    )
    lines = text_of(result).splitlines()
    cut = next((i for i, line in enumerate(lines) if line.startswith("LLM:")), len(lines))
    shown = [line for line in lines[:cut] if not line.startswith(("Summary:", "Data:"))]
    say("   The compact result the model reads (head):")
    say(indented("\n".join(shown), "     "))
    compact, raw = size_of(result), int(full.get("bytes") or full.get("chars") or 0)
    ratio = f" ({raw / compact:.1f}x smaller)" if compact else ""
    say(f"   Size: {compact:,} B (text + structured content) vs {raw:,} B raw API response{ratio}")


async def test_change(
    client: Client, agent_id: str, prompt: str, bar: Bar, say: Say
) -> tuple[str, bool]:
    """run_tests: the suite on the stored agent (baseline) and on the candidate prompt; prints
    the pass-rate table with deltas, the flaky test and the triage hints. Returns the run id and
    whether the candidate is worth promoting (something improved, nothing regressed)."""
    candidate = {
        "conversation_config": {"agent": {"prompt": {"prompt": f"{prompt}\n\n{PROMPT_FIX}"}}}
    }
    args = {
        "agent_id": agent_id,
        "tests": SUITE,
        "repeat": REPEAT,
        "baseline": {},
        "agent_config_override": candidate,
    }
    result = await client.call_tool("run_tests", args, progress_callback=_async(bar.update))
    o = checked(result, "run_tests")
    run_id = str(o.get("run_id"))
    while o.get("status") == "running":
        result = await client.call_tool(
            "get_test_results",
            {"run_id": run_id, "wait_seconds": 45},
            progress_callback=_async(bar.update),
        )
        o = checked(result, "get_test_results")
    bar.finish(f"{o.get('status', '?')} after {bar.frames} progress events")
    say(indented(text_of(result)))
    say(f"   So: {_verdict(o)}")
    raw = await client.read_resource(f"test-run://{run_id}")
    raw_size = sum(len(getattr(c, "text", "").encode()) for c in raw.contents)
    say(
        f"   Size: {size_of(result):,} B (text + structured content) vs {raw_size:,} B of the "
        f"whole run (test-run://{run_id}: every transcript and verdict)"
    )
    improved = any(t.get("change") == "improved" for t in o.get("tests") or [])
    return run_id, improved and not o.get("regressions")


def _verdict(summary: dict[str, Any]) -> str:
    """One line from the structured summary: what improved, what regressed, what is flaky."""
    tests = summary.get("tests") or []
    improved = [f"{t['name']} ({t['delta']})" for t in tests if t.get("change") == "improved"]
    flaky = [t["name"] for t in tests if t.get("flaky") and t.get("change") == "same"]
    regressed = summary.get("regressions") or []
    parts = [f"improved {', '.join(improved) or 'nothing'}"]
    parts.append(f"regressed {', '.join(regressed) or 'nothing'}")
    if flaky:
        parts.append(f"flaky on both sides: {', '.join(flaky)}")
    return "; ".join(parts) + "."


async def promote(client: Client, agent_id: str, run_id: str, say: Say) -> None:
    """update_agent(from_run_id): first without confirm (the old -> new diff the user sees),
    then confirm=true."""
    args: dict[str, Any] = {"agent_id": agent_id, "from_run_id": run_id}
    asked = checked(await client.call_tool("update_agent", args), "update_agent")
    if asked.get("status") != "needs_confirmation":
        raise DemoError(f"update_agent did not ask first: {asked.get('status')}")
    say(f"   update_agent(from_run_id='{run_id}') shows the change first (needs_confirmation):")
    say(indented(str(asked.get("diff", "")), "     "))
    done = checked(
        await client.call_tool("update_agent", {**args, "confirm": True}), "update_agent"
    )
    say(
        f"   Then confirm=true: {done.get('status')} {', '.join(done.get('fields', []))}; "
        "every other field kept."
    )


async def sandbox_config(base_url: str, api_key: str, settings: dict[str, Any]) -> None:
    """Change the sandbox's settings through its admin endpoint (loopback only)."""
    async with httpx2.AsyncClient(headers={"xi-api-key": api_key}, timeout=10) as http:
        (await http.post(f"{base_url}/_sandbox/config", json=settings)).raise_for_status()


async def on_agent_testing(client: Client, agent_id: str, bar: Bar, say: Say) -> None:
    """The same scenario, now that simulate is gone upstream: the head of its compact result."""
    result, _ = await simulate(client, agent_id, bar)
    lines = text_of(result).splitlines()
    say(indented(lines[0]))
    for start in ("Criteria", "Tool calls"):  # each block on one line
        block = next((i for i, line in enumerate(lines) if line.startswith(start)), None)
        if block is not None:
            items: list[str] = []
            for line in lines[block + 1 :]:
                if not line.startswith("- "):
                    break
                items.append(line[2:])
            say(indented(f"{lines[block]} {', '.join(items)}"))
    say(f"   Size: {size_of(result):,} B (text + structured content).")
