"""A bounded soak: mixed traffic over stdio and HTTP against the sandbox; does memory stay flat?

Starts the sandbox (loopback, ephemeral port), `agents-mcp serve` over stdio and
`agents-mcp serve --transport http` (both real subprocesses), then runs workers on each
transport until the time is up: share links (found and unknown), duplicate + delete, simulations
(clean, failing mid-stream, stalled and cancelled by the caller, cancelled with cancel_simulation),
and every detail level of get_simulation. Prints the resident memory (RSS) of both server
processes after warm-up and at the end, and the difference in % (target: within 10%).

Run: python bench/bench_soak.py [--seconds 150] [--warmup 20] [--workers 4]
Loopback only; not part of CI (it runs for minutes by design). Nothing timing-related is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

REPO = Path(__file__).resolve().parent.parent
KEY = "sk_soak_local_key_0123456789"
TOKEN = "soak-token-4c1f9e2b7a6d5e3f"
DEMO = "agent_demo_support"
SERVE = [sys.executable, "-m", "agents_mcp", "serve"]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def server_env(base_url: str, data_dir: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "AGENTS_MCP_"))}
    return {
        **keep,
        "ELEVENLABS_BASE_URL": base_url,
        "ELEVENLABS_API_KEY": KEY,
        "AGENTS_MCP_AUTH_TOKEN": TOKEN,
        "AGENTS_MCP_DATA_DIR": str(data_dir),
        "AGENTS_MCP_MAX_RETRIES": "1",
        "AGENTS_MCP_STALL_TIMEOUT": "30",
        "AGENTS_MCP_MAX_CONCURRENT_SIMULATIONS": "8",
        "AGENTS_MCP_LOG_LEVEL": "ERROR",
        "PYTHONUNBUFFERED": "1",
    }


# --- the servers -----------------------------------------------------------------------------


class Sandbox:
    def __init__(self) -> None:
        from agents_mcp.sandbox import SandboxServer

        self.server = SandboxServer(api_key=KEY, max_concurrent=200)
        self.http: httpx2.Client | None = None

    def __enter__(self) -> Sandbox:
        self.server.__enter__()
        self.http = httpx2.Client(
            base_url=self.server.base_url, headers={"xi-api-key": KEY}, timeout=10
        )
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.http is not None
        self.http.close()
        self.server.__exit__(None, None, None)

    def new_agent(self, name: str) -> str:
        assert self.http is not None
        made = self.http.post(f"/v1/convai/agents/{DEMO}/duplicate", json={"name": name})
        return made.raise_for_status().json()["agent_id"]

    def arm(self, fault: str, agent: str, **params: Any) -> None:
        assert self.http is not None
        body = {"fault": fault, "match": {"path_contains": agent}, "times": None, **params}
        self.http.post("/_sandbox/faults", json=body).raise_for_status()

    def clear_log(self) -> None:  # the request log is bounded, but keep the sandbox small too
        assert self.http is not None
        self.http.delete("/_sandbox/requests")


class HttpSidecar:
    def __init__(self, env: dict[str, str]) -> None:
        port = _free_port()
        self.proc = subprocess.Popen(
            [*SERVE, "--transport", "http", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.url = f"http://127.0.0.1:{port}/mcp"
        self.errors: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + 30
        while not self._healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the HTTP server did not start:\n" + "\n".join(self.errors))
            time.sleep(0.05)

    def _healthy(self) -> bool:
        try:
            return httpx2.get(self.url.replace("/mcp", "/healthz"), timeout=1).status_code == 200
        except httpx2.HTTPError:
            return False

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if "Traceback" in line or " ERROR " in line:
                self.errors.append(line.rstrip())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children() -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                    found.add(int(entry.name))
    return found


@contextlib.asynccontextmanager
async def http_client(url: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=httpx2.Timeout(30, read=120)
        ) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


# --- the traffic -----------------------------------------------------------------------------


class Traffic:
    def __init__(self, agents: dict[str, list[str]], seed: int) -> None:
        self.agents = agents
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self.sims: dict[str, list[str]] = {"stdio": [], "http": []}  # each server its own

    async def call(self, client: Client, transport: str, tool: str, args: dict[str, Any]) -> Any:
        result = await client.call_tool(tool, args)
        self.counts[f"{transport} {tool} {'error' if result.is_error else 'ok'}"] += 1
        return result

    async def step(self, client: Client, transport: str, i: int) -> None:
        pick = self.rng.choice
        kind = i % 12
        if kind in (0, 1):
            await self.call(client, transport, "get_agent_link", {"agent_id": DEMO})
        elif kind == 2:
            await self.call(client, transport, "get_agent_link", {"agent_id": "agent_unknown_1"})
        elif kind == 3:
            made = await self.call(client, transport, "duplicate_agent", {"agent_id": DEMO})
            copy = (made.structured_content or {}).get("agent_id")
            if copy:
                args = {"agent_id": copy, "confirm": True}
                await self.call(client, transport, "delete_agent", args)
        elif kind in (4, 5):
            got = await self.call(
                client,
                transport,
                "simulate_conversation",
                {
                    "agent_id": pick(self.agents["clean"]),
                    "user_prompt": "caller",
                    "wait_seconds": 20,
                },
            )
            sim = (got.structured_content or {}).get("simulation_id")
            if sim:
                self.sims[transport] = [*self.sims[transport][-50:], sim]
        elif kind == 6:
            await self.call(
                client,
                transport,
                "simulate_conversation",
                {"agent_id": pick(self.agents["broken"]), "user_prompt": "x", "wait_seconds": 20},
            )
        elif kind == 7:
            with anyio.move_on_after(0.1 + self.rng.random() * 0.2) as scope:
                await client.call_tool(
                    "simulate_conversation",
                    {"agent_id": pick(self.agents["stall"]), "user_prompt": "x"},
                )
            self.counts[f"{transport} simulate_conversation cancelled"] += scope.cancelled_caught
        elif kind == 8:
            got = await self.call(
                client,
                transport,
                "simulate_conversation",
                {"agent_id": pick(self.agents["stall"]), "user_prompt": "x", "wait_seconds": 0},
            )
            sim = (got.structured_content or {}).get("simulation_id")
            if sim:
                await anyio.sleep(0.05)
                await self.call(client, transport, "cancel_simulation", {"simulation_id": sim})
        elif self.sims[transport]:
            detail = pick(["summary", "transcript", "full"])
            args = {"simulation_id": pick(self.sims[transport]), "detail": detail}
            await self.call(client, transport, "get_simulation", args)


async def soak(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="agents-mcp-soak-") as tmp, Sandbox() as sandbox:
        base = sandbox.server.base_url
        agents = {
            "clean": [sandbox.new_agent(f"soak clean {i}") for i in range(3)],
            "broken": [sandbox.new_agent(f"soak broken {i}") for i in range(3)],
            "stall": [sandbox.new_agent(f"soak stall {i}") for i in range(3)],
        }
        for i, agent in enumerate(agents["broken"]):
            fault = ("drop_mid_stream", "malformed_frame", "no_analysis")[i]
            sandbox.arm(fault, agent, **({} if fault == "no_analysis" else {"after_frames": 2}))
        for agent in agents["stall"]:
            sandbox.arm("stall", agent, seconds=10.0, after_frames=1)

        http_server = HttpSidecar(server_env(base, Path(tmp) / "http"))
        before = _children()
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "agents_mcp", "serve"],
            env=server_env(base, Path(tmp) / "stdio"),
            cwd=REPO,
        )
        try:
            async with contextlib.AsyncExitStack() as stack:
                stdio = await stack.enter_async_context(Client(params, read_timeout_seconds=120))
                stdio_pid = next(iter(_children() - before - {http_server.proc.pid}))
                https = [
                    await stack.enter_async_context(http_client(http_server.url))
                    for _ in range(args.workers)
                ]
                pids = {"stdio server": stdio_pid, "http server": http_server.proc.pid}
                return await _run(args, sandbox, agents, stdio, https, pids, http_server)
        finally:
            http_server.stop()


async def _run(
    args: argparse.Namespace,
    sandbox: Sandbox,
    agents: dict[str, list[str]],
    stdio: Client,
    https: list[Client],
    pids: dict[str, int],
    http_server: HttpSidecar,
) -> int:
    traffic = Traffic(agents, seed=11)
    start = time.monotonic()
    end = start + args.seconds
    warm_at = start + args.warmup
    marks: dict[str, dict[str, int]] = {}
    calls_at_warmup = 0

    async def worker(client: Client, transport: str, n: int) -> None:
        i = n
        while time.monotonic() < end:
            await traffic.step(client, transport, i)
            i += 1

    async def sampler() -> None:
        nonlocal calls_at_warmup
        await anyio.sleep(max(0.0, warm_at - time.monotonic()))
        marks["warm"] = {name: rss_kib(pid) for name, pid in pids.items()}
        calls_at_warmup = sum(traffic.counts.values())
        while time.monotonic() < end:
            await anyio.sleep(min(15.0, max(0.1, end - time.monotonic())))
            await anyio.to_thread.run_sync(sandbox.clear_log)
            done = sum(traffic.counts.values())
            now = {name: rss_kib(pid) for name, pid in pids.items()}
            shown = ", ".join(f"{k} {v / 1024:.1f} MiB" for k, v in now.items())
            print(f"  t={time.monotonic() - start:5.0f}s  {done} calls  {shown}", flush=True)

    print(
        f"soak: {args.seconds:g}s (warm-up {args.warmup:g}s), {args.workers} workers on stdio "
        f"(one session) and {args.workers} on HTTP (one session each), sandbox at zero delay",
        flush=True,
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(sampler)
        for n in range(args.workers):
            tg.start_soon(worker, stdio, "stdio", n)
            tg.start_soon(worker, https[n], "http", n)
    await anyio.sleep(1.0)  # let cancelled jobs finish closing
    final = {name: rss_kib(pid) for name, pid in pids.items()}
    total = sum(traffic.counts.values())
    elapsed = time.monotonic() - start

    print(f"\n{total} calls in {elapsed:.0f} s ({total / elapsed:.0f} calls/s)")
    for key, value in sorted(traffic.counts.items()):
        print(f"  {key:48s} {value:7d}")
    print("\nmemory (RSS)            after warm-up      at the end     change")
    worst = 0.0
    for name in pids:
        warm, last = marks["warm"][name], final[name]
        change = (last - warm) / warm * 100 if warm else 0.0
        worst = max(worst, abs(change))
        print(f"  {name:20s} {warm / 1024:10.1f} MiB {last / 1024:10.1f} MiB {change:+9.1f} %")
    print(f"  calls after warm-up: {total - calls_at_warmup}")
    verdict = "within" if worst <= 10 else "OUTSIDE"
    print(f"\nlargest change {worst:.1f} %: {verdict} the 10 % target")
    if http_server.errors:
        first = http_server.errors[0]
        print(f"\nHTTP server errors logged: {len(http_server.errors)}; first: {first}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=150.0, help="total duration (150)")
    parser.add_argument("--warmup", type=float, default=20.0, help="warm-up before measuring (20)")
    parser.add_argument("--workers", type=int, default=4, help="workers per transport (4)")
    args = parser.parse_args()
    if args.warmup >= args.seconds:
        parser.error("--warmup must be shorter than --seconds")
    # The sandbox's stalled streams write into sockets the servers closed when they cancelled:
    # asyncio warns about each one; that is the point of the exercise, not news.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    return asyncio.run(soak(args))


if __name__ == "__main__":
    sys.exit(main())
