"""`agents-mcp demo`: the whole product end to end, offline, in one command.

Starts the sandbox, starts the MCP server as a subprocess pointed at it (a temporary data dir),
connects as an MCP client over stdio, duplicates the demo agent, shows the copy's link, runs a
streamed simulation with a live progress bar, prints the compact result and its size next to the
raw API response's; then turns the sandbox's simulate endpoints off (as upstream after their
removal) and runs the same scenario again, which the server (backend `auto`) now runs on the
agent-testing API (a temporary test, polled, then deleted); then deletes the copy. Output goes
to stdout; the server's own log is kept aside and shown only if something fails.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

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
EXPECTED_TURNS = 16  # for the bar only; the conversation ends when it ends
RUN_DELAY = 1.5  # seconds a sandbox test run takes, so that a few polls show
POLL_SECONDS = "0.4"


class ProgressBar:
    """A one-line bar redrawn with \\r on a terminal; plain lines when not a terminal."""

    def __init__(self, out: TextIO, total: int, width: int = 24) -> None:
        self.out = out
        self.total = total
        self.width = width
        self.tty = out.isatty()
        self.frames = 0
        self.started = time.monotonic()

    def update(self, progress: float, total: float | None, message: str | None) -> None:
        self.frames += 1
        message = message or ""
        turns = _leading_int(message)
        if not self.tty:
            print(f"  progress {int(progress):>3}: {message}", file=self.out, flush=True)
            return
        done = min(turns, self.total) if turns is not None else 0
        filled = round(self.width * done / self.total) if self.total else 0
        bar = "█" * filled + "░" * (self.width - filled)
        elapsed = time.monotonic() - self.started
        line = f"  [{bar}] {elapsed:4.1f}s {message}"
        columns = _columns()
        if len(line) > columns - 1:
            line = line[: columns - 2] + "…"
        self.out.write("\r\033[K" + line)
        self.out.flush()

    def finish(self, note: str) -> None:
        if self.tty:
            bar = "█" * self.width
            line = f"  [{bar}] {time.monotonic() - self.started:4.1f}s {note}"
            self.out.write("\r\033[K" + line + "\n")
        else:
            print(f"  {note}", file=self.out)
        self.out.flush()


def _leading_int(text: str) -> int | None:
    digits = ""
    for ch in text:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else None


def _columns() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 100


def _text(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def _size(result: Any) -> int:
    structured = result.structured_content
    size = len(_text(result).encode())
    if structured is not None:
        size += len(json.dumps(structured, ensure_ascii=False, separators=(",", ":")).encode())
    return size


class DemoError(RuntimeError):
    pass


def _check(result: Any, what: str) -> dict[str, Any]:
    if result.is_error:
        raise DemoError(f"{what} failed: {_text(result)}")
    return result.structured_content or {}


async def _session(
    base_url: str, api_key: str, data_dir: Path, errlog: TextIO, out: TextIO
) -> None:
    from mcp import Client, StdioServerParameters, stdio_client

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "AGENTS_MCP_"))},
        "ELEVENLABS_BASE_URL": base_url,
        "ELEVENLABS_API_KEY": api_key,
        "AGENTS_MCP_DATA_DIR": str(data_dir),
        "AGENTS_MCP_POLL_SECONDS": POLL_SECONDS,
        "PYTHONUNBUFFERED": "1",
    }
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "agents_mcp", "serve"], env=env
    )

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    started = time.monotonic()
    async with Client(stdio_client(params, errlog=errlog)) as client:
        tools = await client.list_tools()
        names = ", ".join(t.name for t in tools.tools)
        say(f"2. MCP server running over stdio ({time.monotonic() - started:.1f}s): {names}")

        copy = _check(
            await client.call_tool(
                "duplicate_agent", {"agent_id": DEMO_AGENT, "name": "Support agent (demo copy)"}
            ),
            "duplicate_agent",
        )
        agent_id = copy["agent_id"]
        say(f"3. Duplicated {DEMO_AGENT} -> {agent_id}")
        try:
            link = _check(
                await client.call_tool("get_agent_link", {"agent_id": agent_id}), "get_agent_link"
            )
            say(f"4. Talk to it: {link['url']}")
            say(
                "5. Simulating an impatient caller while the order lookup tool fails "
                "(streamed, one progress event per frame):"
            )
            result, sid = await _simulate(client, agent_id, ProgressBar(out, EXPECTED_TURNS))
            say()
            say("6. The compact result the model reads:")
            say("   " + _text(result).replace("\n", "\n   "))
            full = _check(
                await client.call_tool("get_simulation", {"simulation_id": sid, "detail": "full"}),
                "get_simulation",
            )
            compact = _size(result)
            raw = int(full.get("bytes") or full.get("chars") or 0)
            ratio = f"{raw / compact:.1f}x smaller" if compact else ""
            say()
            say(
                f"   Size: {compact:,} bytes (text + structured content) vs {raw:,} bytes of raw "
                f"API response — {ratio}."
            )
            say(f'   More: get_simulation(simulation_id="{sid}", detail="transcript")')
            say()
            await _sandbox_config(
                base_url, api_key, {"legacy_simulate": False, "run_delay": RUN_DELAY}
            )
            say(
                "7. The simulate endpoints are now off (as upstream after their removal): the "
                "same scenario on the agent-testing API (one progress event per poll):"
            )
            result, sid = await _simulate(client, agent_id, ProgressBar(out, EXPECTED_TURNS))
            say()
            say("8. The same compact result, from a temporary test that is deleted afterwards:")
            say("   " + _text(result).replace("\n", "\n   "))
            say(f"   Size: {_size(result):,} bytes (text + structured content).")
        finally:
            deleted = await client.call_tool(
                "delete_agent", {"agent_id": agent_id, "confirm": True}
            )
            if deleted.is_error:
                say(f"9. Could not delete {agent_id}: {_text(deleted)}")
            else:
                say(f"9. Deleted the copy {agent_id} (confirm=true).")


async def _simulate(client: Any, agent_id: str, bar: ProgressBar) -> tuple[Any, str]:
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
    _check(result, "simulate_conversation")
    return result, str(sid)


async def _sandbox_config(base_url: str, api_key: str, settings: dict[str, Any]) -> None:
    """Change the sandbox's settings through its admin endpoint (loopback only)."""
    import httpx

    async with httpx.AsyncClient(headers={"xi-api-key": api_key}, timeout=10) as http:
        (await http.post(f"{base_url}/_sandbox/config", json=settings)).raise_for_status()


def _async(fn: Any) -> Any:
    async def call(*args: Any) -> None:
        fn(*args)

    return call


def _reason(exc: BaseException) -> str:
    """The innermost error of an exception group (task groups wrap them), as one line."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}" if not isinstance(exc, DemoError) else str(exc)


def run_demo(turn_delay: float = 0.15, out: TextIO | None = None) -> int:
    """Run the demo; returns the exit code (0 on success)."""
    import anyio

    from agents_mcp.sandbox import DEFAULT_API_KEY, SandboxServer

    out = out or sys.stdout
    print("agents-mcp demo: everything below runs offline, on this machine.", file=out)
    with tempfile.TemporaryDirectory(prefix="agents-mcp-demo-") as tmp:
        tmp_path = Path(tmp)
        log_path = tmp_path / "server.log"
        try:
            with SandboxServer(api_key=DEFAULT_API_KEY, turn_delay=turn_delay) as sandbox:
                print(f"1. Sandbox API at {sandbox.base_url}", file=out, flush=True)
                with log_path.open("w", encoding="utf-8") as errlog:
                    anyio.run(
                        _session, sandbox.base_url, sandbox.api_key, tmp_path / "data", errlog, out
                    )
        except Exception as exc:  # show what went wrong, with the server's log tail
            print(f"\ndemo failed: {_reason(exc)}", file=sys.stderr)
            if log_path.exists():
                tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
                if tail:
                    print("server log (last lines):", *tail, sep="\n  ", file=sys.stderr)
            return 1
    print("Done.", file=out)
    return 0
