"""`agents-mcp demo`: the agent-testing loop end to end, offline, in one command.

Starts the sandbox, starts the MCP server as a subprocess pointed at it (a temporary data dir),
connects as an MCP client over stdio, and tells the loop through the tools (demo_steps.py, one
function per step): duplicate the demo agent; read the copy compactly; one streamed simulated
call with a live progress bar, its compact result and its size next to the raw response's; then
run_tests with a baseline (the stored agent) and a candidate prompt, each test several times:
pass rates with deltas, the flaky test, triage hints; promote the candidate with
update_agent(from_run_id=...), diff first, then confirmed; turn the sandbox's simulate endpoints
off (as upstream after their removal) and run the same call again, which the server (backend
`auto`) now runs on the agent-testing API; delete the copy. Output goes to stdout; the server's
own log is kept aside and shown only if something fails.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from agents_mcp import demo_steps as step

EXPECTED_TURNS = 16  # for the simulation's bar only; the conversation ends when it ends
RUN_DELAY = 1.0  # seconds a sandbox test run takes, so that a few polls show
POLL_SECONDS = "0.4"


class ProgressBar:
    """A one-line bar redrawn with \\r on a terminal; plain lines when not a terminal. Filled
    by progress/total when the server gives a total (test runs), else by the turns the message
    starts with against `total` expected (a simulation)."""

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
        if not self.tty:
            print(f"  progress {int(progress):>3}: {message}", file=self.out, flush=True)
            return
        if total:  # runs done of runs total
            self.total, done = int(total), int(progress)
        else:  # turns so far (from the message) of the turns expected
            turns = _leading_int(message)
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
        say(
            f"2. MCP server over stdio ({time.monotonic() - started:.1f}s), "
            f"{len(tools.tools)} tools: {', '.join(t.name for t in tools.tools)}"
        )
        copy = step.checked(
            await client.call_tool(
                "duplicate_agent",
                {"agent_id": step.DEMO_AGENT, "name": "Support agent (demo copy)"},
            ),
            "duplicate_agent",
        )
        agent_id = copy["agent_id"]
        say(f"3. Duplicated {step.DEMO_AGENT} -> {agent_id}")
        try:
            link = step.checked(
                await client.call_tool("get_agent_link", {"agent_id": agent_id}), "get_agent_link"
            )
            say(f"   Talk to it: {link['url']}")
            prompt = await step.read_agent(client, agent_id, say)
            say(
                "5. One simulated call: an impatient caller while lookup_order fails "
                "(streamed, one progress event per frame):"
            )
            result, sid = await step.simulate(client, agent_id, ProgressBar(out, EXPECTED_TURNS))
            await step.show_simulation(client, result, sid, say)
            await step.sandbox_config(base_url, api_key, {"run_delay": RUN_DELAY})
            say(
                f"6. One call proves little. run_tests: {len(step.SUITE)} tests x {step.REPEAT} "
                "repeats, the stored agent (baseline) vs a candidate prompt, one line added:"
            )
            say(f"   + {step.PROMPT_FIX}")
            run_id, better = await step.test_change(
                client, agent_id, prompt, ProgressBar(out, 0), say
            )
            if not better:
                raise step.DemoError(f"the candidate did not do better in {run_id}")
            say("7. Promote what passed onto the copy:")
            await step.promote(client, agent_id, run_id, say)
            await step.sandbox_config(base_url, api_key, {"legacy_simulate": False})
            say(
                "8. Simulate endpoints off (as upstream after their removal): the same call, "
                "backend auto, now on the agent-testing API:"
            )
            await step.on_agent_testing(client, agent_id, ProgressBar(out, EXPECTED_TURNS), say)
        finally:
            deleted = await client.call_tool(
                "delete_agent", {"agent_id": agent_id, "confirm": True}
            )
            if deleted.is_error:
                say(f"9. Could not delete {agent_id}: {step.text_of(deleted)}")
            else:
                say(f"9. Deleted the copy {agent_id} (confirm=true).")


def _reason(exc: BaseException) -> str:
    """The innermost error of an exception group (task groups wrap them), as one line."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}" if not isinstance(exc, step.DemoError) else str(exc)


def run_demo(turn_delay: float = 0.15, out: TextIO | None = None) -> int:
    """Run the demo; returns the exit code (0 on success)."""
    import anyio

    from agents_mcp.sandbox import DEFAULT_API_KEY, SandboxServer

    out = out or sys.stdout
    started = time.monotonic()
    print(
        "agents-mcp demo: test a voice agent, change it, compare, promote; offline, on this "
        "machine.",
        file=out,
    )
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
    print(f"Done in {time.monotonic() - started:.1f}s.", file=out)
    return 0
