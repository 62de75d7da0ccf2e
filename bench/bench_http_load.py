"""Load on the HTTP sidecar over loopback: 200 concurrent simulate_conversation calls, then 200
concurrent get_agent_link calls, from MCP clients sending the bearer token. Prints calls/s,
p50/p95 latency and the peak memory (VmHWM) of the server process. Asserts only correctness.

    python bench/bench_http_load.py                 # about 20-30 s on a small machine
    python bench/bench_http_load.py --calls 400 --clients 40 --mode legacy

Set-up: the sandbox (`agents-mcp sandbox`) and the server (`agents-mcp serve --transport http`)
run as their own processes. Limits are raised for the benchmark and printed:
- the server's AGENTS_MCP_MAX_CONCURRENT_SIMULATIONS is set to 100 (its maximum; 4 by default),
  so 100 simulations stream at once and the other 100 wait in its queue (2 x 100);
- the sandbox's concurrency limit (10 by default, like a plan's) is raised to 1000 through its
  /_sandbox/config endpoint, and its turn delay is 0.
Calls are spread over --clients MCP client sessions, each with calls/clients calls in flight.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents_mcp.sandbox import DEFAULT_API_KEY  # noqa: E402

AGENT = "agent_demo_support"
TOKEN = secrets.token_urlsafe(32)
SERVER_MAX_SIMULATIONS = 100
SANDBOX_MAX_CONCURRENT = 1000
PHASE_TIMEOUT = 60


class Process:
    """A child process whose stderr is drained into `lines`; `url` is found by `pattern`."""

    def __init__(self, argv: list[str], env: dict[str, str], pattern: str) -> None:
        self.lines: list[str] = []
        self.url = ""
        self._pattern = re.compile(pattern)
        self.proc = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + 30
        while not self.url:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit("failed to start:\n" + "\n".join(self.lines[-20:]))
            time.sleep(0.02)

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip())
            found = self._pattern.search(line)
            if found and not self.url:
                self.url = found.group(1)

    def memory_kib(self, field: str) -> int:
        """VmHWM (peak resident set) or VmRSS (now) of the process, in KiB (Linux)."""
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def cpu_seconds(self) -> float:
        """User + system CPU time the process used so far (Linux)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return 0.0

    def reset_peak(self) -> bool:
        """Start a new VmHWM window (Linux: write 5 to clear_refs)."""
        try:
            Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "AGENTS_MCP_"))}
    env.update(extra)
    return env


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run_phase(
    url: str,
    calls: int,
    clients: int,
    mode: str,
    call: Callable[[Client, int], Awaitable[Any]],
) -> tuple[float, list[float], list[Any]]:
    """`calls` calls spread over `clients` sessions, all in flight at once; (wall s, latencies)."""
    latencies: list[float] = []
    results: list[Any] = []
    ready = anyio.Event()
    connected = 0
    per_client = [calls // clients + (1 if i < calls % clients else 0) for i in range(clients)]
    started_at = 0.0

    async def one_client(n: int) -> None:
        nonlocal connected
        timeout = httpx2.Timeout(30, read=120)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
            Client(streamable_http_client(url, http_client=http), mode=mode) as client,
        ):
            connected += 1
            if connected == clients:
                ready.set()
            await ready.wait()  # every session is open before the first call: only calls are timed

            async def timed(i: int) -> None:
                t0 = time.perf_counter()
                results.append(await call(client, i))
                latencies.append(time.perf_counter() - t0)

            async with anyio.create_task_group() as tg:
                for i in range(n):
                    tg.start_soon(timed, i)

    with anyio.fail_after(PHASE_TIMEOUT):
        async with anyio.create_task_group() as tg:
            for n in per_client:
                tg.start_soon(one_client, n)
            await ready.wait()
            started_at = time.perf_counter()
    wall = time.perf_counter() - started_at
    return wall, latencies, results


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def report(
    name: str,
    calls: int,
    wall: float,
    latencies: list[float],
    peak_kib: int,
    cpu: dict[str, float],
) -> None:
    print(
        f"{name:22s} {calls:4d} calls  {calls / wall:6.1f} calls/s  "
        f"p50 {percentile(latencies, 0.5) * 1000:6.0f} ms  "
        f"p95 {percentile(latencies, 0.95) * 1000:6.0f} ms  "
        f"server peak RSS {peak_kib / 1024:5.1f} MiB"
    )
    shares = ", ".join(f"{who} {seconds * 1000 / calls:.1f}" for who, seconds in cpu.items())
    print(f"{'':22s} CPU ms per call: {shares} (wall {wall:.2f} s)")


def cpu_used(before: tuple[float, float, float], server: Process, sandbox: Process) -> dict:
    return {
        "server": server.cpu_seconds() - before[0],
        "sandbox": sandbox.cpu_seconds() - before[1],
        "clients": own_cpu() - before[2],
    }


async def bench(args: argparse.Namespace) -> None:
    progress = {"n": 0}

    async def count_progress(value: float, total: float | None, message: str | None) -> None:
        progress["n"] += 1

    async def simulate(client: Client, i: int) -> Any:
        return await client.call_tool(
            "simulate_conversation",
            {"agent_id": AGENT, "user_prompt": f"Caller {i} wants a refund.", "wait_seconds": 55},
            progress_callback=count_progress,
        )

    async def link(client: Client, i: int) -> Any:
        return await client.call_tool("get_agent_link", {"agent_id": AGENT})

    with tempfile.TemporaryDirectory() as data:
        sandbox = Process(
            [sys.executable, "-m", "agents_mcp", "sandbox", "--port", "0"],
            base_env(),
            r"listening on (http://127\.0\.0\.1:\d+)",
        )
        try:
            async with httpx2.AsyncClient() as http:
                response = await http.post(
                    f"{sandbox.url}/_sandbox/config",
                    json={"max_concurrent": SANDBOX_MAX_CONCURRENT, "turn_delay": 0},
                    headers={"xi-api-key": DEFAULT_API_KEY},
                )
                response.raise_for_status()
            server = Process(
                [sys.executable, "-m", "agents_mcp", "serve", "--transport", "http", "--port", "0"],
                base_env(
                    ELEVENLABS_BASE_URL=sandbox.url,
                    ELEVENLABS_API_KEY=DEFAULT_API_KEY,
                    AGENTS_MCP_AUTH_TOKEN=TOKEN,
                    AGENTS_MCP_DATA_DIR=data,
                    AGENTS_MCP_MAX_CONCURRENT_SIMULATIONS=str(SERVER_MAX_SIMULATIONS),
                ),
                r"listening on (http://127\.0\.0\.1:\d+/mcp)",
            )
            try:
                print(
                    f"server: max_concurrent_simulations={SERVER_MAX_SIMULATIONS} (queue "
                    f"{2 * SERVER_MAX_SIMULATIONS}); sandbox: max_concurrent="
                    f"{SANDBOX_MAX_CONCURRENT}, turn_delay=0; {args.calls} calls over "
                    f"{args.clients} client sessions ({args.mode} mode)"
                )
                # warm-up: imports, first connections, first SQLite writes
                await run_phase(server.url, 2, 1, args.mode, simulate)
                await run_phase(server.url, 2, 1, args.mode, link)
                idle = server.memory_kib("VmRSS")
                print(f"server RSS after warm-up: {idle / 1024:.1f} MiB")

                progress["n"] = 0
                cleared = server.reset_peak()
                cpu0 = (server.cpu_seconds(), sandbox.cpu_seconds(), own_cpu())
                wall, lat, results = await run_phase(
                    server.url, args.calls, args.clients, args.mode, simulate
                )
                bad = [r for r in results if r.is_error or r.structured_content["status"] != "done"]
                ids = {r.structured_content["simulation_id"] for r in results}
                assert len(results) == args.calls and not bad, bad[:3]
                assert len(ids) == args.calls, "every call ran its own simulation"
                cpu = cpu_used(cpu0, server, sandbox)
                peak = server.memory_kib("VmHWM")
                report("simulate_conversation", args.calls, wall, lat, peak, cpu)
                print(f"{'':22s} {progress['n']} progress notifications received, all done")

                server.reset_peak()
                cpu0 = (server.cpu_seconds(), sandbox.cpu_seconds(), own_cpu())
                wall, lat, results = await run_phase(
                    server.url, args.calls, args.clients, args.mode, link
                )
                bad = [
                    r for r in results if r.is_error or r.structured_content["agent_id"] != AGENT
                ]
                assert len(results) == args.calls and not bad, bad[:3]
                cpu = cpu_used(cpu0, server, sandbox)
                report("get_agent_link", args.calls, wall, lat, server.memory_kib("VmHWM"), cpu)
                if not cleared:
                    print("(peak RSS is since start-up: /proc/PID/clear_refs not writable here)")
                errors = [line for line in server.lines if "ERROR" in line or "Traceback" in line]
                print(f"server error lines: {len(errors)}")
            finally:
                server.stop()
        finally:
            sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--mode", default="auto", help="auto (2026-07-28 if offered) or legacy")
    args = parser.parse_args()
    anyio.run(bench, args)


if __name__ == "__main__":
    main()
