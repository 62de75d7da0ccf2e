"""agents-mcp next to a generic peer: FastMCP 4.1's OpenAPI bridge over the same OpenAPI file.

    python bench/bench_peers.py [--calls 300] [--runs 5] [--modes keepalive,close]

In one run, both servers over stdio (the real MCP client, the real server processes) against
the same sandbox on loopback (a child process, see sandbox_proc.py):

1. tools/list: bytes of the whole result as compact JSON (sent to the model every conversation);
2. start-up: process spawn -> tools/list answered (raw JSON-RPC, no client library in the way),
   `--runs` times each, alternating, median; and spawn -> the first get_agent_link answered
   (initialize, tools/list and the call written at once: what a client waits for its first
   result, whatever a server defers past its listing);
3. get_agent_link: p50 / p99 over `--calls` calls on one warm session each, calls alternating
   A/B so that the load of a shared machine hits both equally; once with the sandbox keeping
   connections alive, once with it answering `Connection: close` to every request. Beside it,
   each server process's CPU time per call (Linux): the part of a call's latency that is the
   server's own, without the client, the upstream and the pipes both share.

Prints every figure and the ratio agents-mcp / peer (below 1: agents-mcp is faster or smaller).

The peer is installed on first use into its own virtual environment under .cache/bench-peers/
(gitignored; `pip install "fastmcp>=4.1,<4.2"` from the package index), never into the project's
environment. A tiny bridge server script is written next to it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from contextlib import AsyncExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_tools_list import REQUESTS, answer_timed, compact, list_tools_timed  # noqa: E402
from mcp import Client, StdioServerParameters, stdio_client  # noqa: E402
from sandbox_proc import SandboxProcess  # noqa: E402

CACHE = ROOT / ".cache" / "bench-peers"
PEER_VENV = CACHE / "fastmcp-venv"
PEER_REQUIREMENT = "fastmcp>=4.1,<4.2"
BRIDGE = CACHE / "fastmcp_bridge.py"
SPEC = ROOT / "agents_mcp" / "data" / "agents-api.openapi.json"
AGENT = "agent_demo_support"
FIRST_CALL = [
    *REQUESTS,
    {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "get_agent_link", "arguments": {"agent_id": AGENT}},
    },
]

BRIDGE_SCRIPT = '''"""FastMCP's OpenAPI bridge over agents-mcp's spec (from bench_peers.py)."""
import json
import os

import httpx2
from fastmcp import FastMCP

spec = json.loads(open(os.environ["BRIDGE_SPEC"], encoding="utf-8").read())
client = httpx2.AsyncClient(
    base_url=os.environ["BRIDGE_BASE_URL"],
    headers={"xi-api-key": os.environ["BRIDGE_API_KEY"]},
    timeout=30,
)
names = {
    "get": "get_agent_link",
    "delete": "delete_agent",
    "duplicate": "duplicate_agent",
    "simulate-conversation": "simulate_conversation",
    "simulate-conversation-stream": "simulate_conversation_stream",
}
mcp = FastMCP.from_openapi(spec, client=client, name="openapi-bridge", mcp_names=names)
mcp.run(show_banner=False)
'''


def peer_python() -> Path:
    """The peer venv's interpreter, creating the venv and installing the peer the first time."""
    python = PEER_VENV / "bin" / "python"
    marker = PEER_VENV / ".installed"
    if not marker.exists():
        print(f"installing {PEER_REQUIREMENT} into {PEER_VENV} ...", file=sys.stderr)
        venv.create(PEER_VENV, with_pip=True, clear=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", PEER_REQUIREMENT], check=True)
        marker.write_text("")
    BRIDGE.write_text(BRIDGE_SCRIPT, encoding="utf-8")
    return python


def peer_version(python: Path) -> str:
    out = subprocess.run(
        [str(python), "-c", "import fastmcp; print(fastmcp.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ELEVENLABS_", "AGENTS_MCP_", "BRIDGE_", "FASTMCP_"))
    }


class Contender:
    """One server under test: how to start it, with which environment."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        self.name, self.cmd, self.env = name, cmd, env

    def params(self) -> StdioServerParameters:
        return StdioServerParameters(
            command=self.cmd[0], args=self.cmd[1:], env=self.env, cwd=str(ROOT)
        )


def contenders(sb: SandboxProcess, data_dir: Path, python: Path) -> list[Contender]:
    ours_env = clean_env() | {
        "ELEVENLABS_BASE_URL": sb.base_url,
        "ELEVENLABS_API_KEY": sb.api_key,
        "AGENTS_MCP_DATA_DIR": str(data_dir),
    }
    peer_env = clean_env() | {
        "BRIDGE_SPEC": str(SPEC),
        "BRIDGE_BASE_URL": sb.base_url,
        "BRIDGE_API_KEY": sb.api_key,
        "FASTMCP_SHOW_SERVER_BANNER": "false",
    }
    return [
        Contender("agents-mcp", [sys.executable, "-m", "agents_mcp", "serve"], ours_env),
        Contender("fastmcp-bridge", [str(python), str(BRIDGE)], peer_env),
    ]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pids(pair: list[Contender]) -> dict[str, int]:
    """The pid of each contender's server process (a child of this one, found by command line)."""
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if ppid != os.getpid():
            continue
        for c in pair:
            if [a.decode() for a in argv[: len(c.cmd)]] == c.cmd:
                found[c.name] = int(entry.name)
    return found


async def link_latencies(
    pair: list[Contender], calls: int
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Seconds per get_agent_link call for each contender, calls alternating between them, and
    each server's CPU seconds per call (Linux only: empty elsewhere)."""
    times: dict[str, list[float]] = {c.name: [] for c in pair}
    cpu: dict[str, float] = {}
    with open(os.devnull, "w") as devnull:  # noqa: ASYNC230 - opened once, before any call
        async with AsyncExitStack() as stack:
            clients: list[tuple[str, Client]] = []
            for c in pair:
                transport = stdio_client(c.params(), errlog=devnull)
                clients.append((c.name, await stack.enter_async_context(Client(transport))))
            for name, client in clients:  # warm-up: connection, caches, first-call imports
                for _ in range(5):
                    await call_link(client, name)
            pids = server_pids(pair) if sys.platform == "linux" else {}
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            for i in range(calls):
                order = clients if i % 2 == 0 else clients[::-1]
                for name, client in order:
                    start = time.perf_counter()
                    await call_link(client, name)
                    times[name].append(time.perf_counter() - start)
            cpu = {name: (cpu_seconds(pid) - before[name]) / calls for name, pid in pids.items()}
    return times, cpu


async def call_link(client: Client, name: str) -> None:
    result = await client.call_tool("get_agent_link", {"agent_id": AGENT})
    if result.is_error:
        raise RuntimeError(f"{name}: get_agent_link failed: {result.content}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="get_agent_link calls per server")
    parser.add_argument("--runs", type=int, default=5, help="start-up measurements per server")
    parser.add_argument("--modes", default="keepalive,close")
    args = parser.parse_args()

    python = peer_python()
    print(f"peer: fastmcp {peer_version(python)} (FastMCP.from_openapi over {SPEC.name})")
    with tempfile.TemporaryDirectory() as tmp:
        # --- tools/list and start-up (the upstream is only called by the first-call runs) ------
        with SandboxProcess() as sb:
            pair = contenders(sb, Path(tmp) / "data", python)
            sizes: dict[str, int] = {}
            starts: dict[str, list[float]] = {c.name: [] for c in pair}
            firsts: dict[str, list[float]] = {c.name: [] for c in pair}
            for c in pair:  # warm-up: page cache, .pyc files
                _, listed = list_tools_timed(c.cmd, c.env)
                sizes[c.name] = len(compact(listed))
                answer_timed(c.cmd, c.env, FIRST_CALL, answer_id=3)
            for _ in range(args.runs):
                for c in pair:
                    starts[c.name].append(list_tools_timed(c.cmd, c.env)[0])
                    firsts[c.name].append(answer_timed(c.cmd, c.env, FIRST_CALL, answer_id=3)[0])
        ours, peer = pair[0].name, pair[1].name
        print(
            f"tools/list bytes:  {ours} {sizes[ours]:>7,}   {peer} {sizes[peer]:>7,}   "
            f"ratio {sizes[ours] / sizes[peer]:.3f}"
        )
        med = {n: statistics.median(v) for n, v in starts.items()}
        print(
            f"start-up median of {args.runs} (spawn -> tools/list answered):  "
            f"{ours} {med[ours] * 1000:.0f} ms   {peer} {med[peer] * 1000:.0f} ms   "
            f"ratio {med[ours] / med[peer]:.2f}"
        )
        med = {n: statistics.median(v) for n, v in firsts.items()}
        print(
            f"start-up median of {args.runs} (spawn -> first get_agent_link answered):  "
            f"{ours} {med[ours] * 1000:.0f} ms   {peer} {med[peer] * 1000:.0f} ms   "
            f"ratio {med[ours] / med[peer]:.2f}"
        )

        # --- get_agent_link latency, per upstream connection mode --------------------------
        for mode in args.modes.split(","):
            with SandboxProcess(close_connections=(mode == "close")) as sb:
                pair = contenders(sb, Path(tmp) / f"data-{mode}", python)
                times, cpu = asyncio.run(link_latencies(pair, args.calls))
            p50 = {n: pct(v, 0.5) for n, v in times.items()}
            p99 = {n: pct(v, 0.99) for n, v in times.items()}
            print(
                f"get_agent_link, upstream {mode:<9} ({args.calls} calls each, A/B):  "
                f"{ours} p50 {p50[ours] * 1000:.2f} ms p99 {p99[ours] * 1000:.2f} ms   "
                f"{peer} p50 {p50[peer] * 1000:.2f} ms p99 {p99[peer] * 1000:.2f} ms   "
                f"ratio p50 {p50[ours] / p50[peer]:.2f} p99 {p99[ours] / p99[peer]:.2f}"
            )
            if len(cpu) == 2:
                print(
                    f"  server CPU per call (user+system, /proc):  {ours} "
                    f"{cpu[ours] * 1000:.2f} ms   {peer} {cpu[peer] * 1000:.2f} ms   "
                    f"ratio {cpu[ours] / cpu[peer]:.2f}"
                )


if __name__ == "__main__":
    main()
