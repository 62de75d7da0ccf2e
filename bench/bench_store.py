"""The job store: write rate under 100 concurrent jobs (SQLite and PostgreSQL), and how long a
replica takes to take over a test run after its owner is killed (SIGKILL) or stopped (SIGTERM).

    python bench/bench_store.py                 # about a minute on a small machine
    python bench/bench_store.py --jobs 100 --seconds 3 --no-takeover

Set-up: PostgreSQL is a throwaway cluster started on loopback with the tests' fixture
(tests/postgres_fixture.py; fsync off, as in the tests), SQLite a file in a temp dir. Each job
writes its record (a 4 KB document, like a simulation with a few turns) as fast as it can; a
running job writes at most one checkpoint a second, so "headroom" is how many such jobs the store
could carry. The takeover runs two real replica processes on the sandbox's agent-testing API.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from agents_mcp.stores import SQLiteStore, Store  # noqa: E402
from agents_mcp.stores.postgres import PostgresStore  # noqa: E402

DOCUMENT = {
    "agent_id": "agent_demo_support",
    "turns": [{"role": "agent", "message": "x" * 180, "time_in_call_secs": i} for i in range(20)],
}


async def write_rate(store: Store, jobs: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def job(n: int) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            await store.put(
                "simulation", f"job{n}", DOCUMENT, status="running", created_at=1, lease_seconds=30
            )
            latencies.append(time.perf_counter() - started)
            await anyio.lowlevel.checkpoint()  # SQLite's calls do not yield on their own

    await store.open()
    began = time.monotonic()
    async with anyio.create_task_group() as tg:
        for n in range(jobs):
            tg.start_soon(job, n)
    elapsed = time.monotonic() - began
    await store.close()
    latencies.sort()
    return {
        "writes_per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95)] * 1000,
    }


async def takeover(pg_url: str, sandbox: Any, tmp: Path, sig: int) -> tuple[float, float]:
    """(seconds until the other replica took the job over, seconds until it was done)."""
    from http_sidecar import TOKEN, Sidecar, clean_env, mcp_client

    def env(name: str) -> dict[str, str]:
        (tmp / name).mkdir(exist_ok=True)
        return clean_env(
            ELEVENLABS_BASE_URL=sandbox.base_url,
            ELEVENLABS_API_KEY=sandbox.api_key,
            AGENTS_MCP_AUTH_TOKEN=TOKEN,
            AGENTS_MCP_DATA_DIR=str(tmp / name),
            AGENTS_MCP_DATABASE_URL=pg_url,
            AGENTS_MCP_SIMULATION_BACKEND="tests",
            AGENTS_MCP_POLL_SECONDS="0.5",
        )

    import psycopg

    a = Sidecar.serve(env=env("a")).start()
    b = Sidecar.serve(env=env("b")).start()
    try:
        async with mcp_client(a.url) as on_a:
            started = await on_a.call_tool(
                "simulate_conversation",
                {"agent_id": "agent_demo_support", "user_prompt": "Refund.", "wait_seconds": 0},
            )
            sim_id = started.structured_content["simulation_id"]
            for _ in range(200):  # until A has stored its invocation id
                with psycopg.connect(pg_url) as conn:
                    row = conn.execute(
                        "SELECT data->'upstream'->>'invocation_id' FROM agents_mcp_records "
                        "WHERE record_id = %s",
                        (sim_id,),
                    ).fetchone()
                if row and row[0]:
                    break
                await anyio.sleep(0.05)
        a.stop(sig)
        stopped = time.monotonic()
        taken = None
        async with mcp_client(b.url) as on_b, anyio.create_task_group() as tg:

            async def watch() -> None:
                nonlocal taken
                for _ in range(2400):  # 120 s at most
                    if "taking over" in b.log():
                        taken = time.monotonic() - stopped
                        return
                    await anyio.sleep(0.05)

            tg.start_soon(watch)
            done = await on_b.call_tool(
                "get_simulation", {"simulation_id": sim_id, "wait_seconds": 60}
            )
            finished = time.monotonic() - stopped
            tg.cancel_scope.cancel()
        assert done.structured_content["status"] == "done", done.structured_content
        return (taken if taken is not None else float("nan")), finished
    finally:
        a.stop(signal.SIGKILL)
        b.stop()


async def main(args: argparse.Namespace) -> None:
    from postgres_fixture import PostgresServer

    server = PostgresServer().start()
    results: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, store in (
                ("sqlite", SQLiteStore(tmp)),
                ("postgres", PostgresStore(server.create_database())),
            ):
                figures = await write_rate(store, args.jobs, args.seconds)
                figures["headroom_jobs_at_1_write_per_s"] = figures["writes_per_s"]
                results[name] = figures
                print(
                    f"{name:9s} {args.jobs} concurrent jobs: {figures['writes_per_s']:8.0f} "
                    f"writes/s  p50 {figures['p50_ms']:.2f} ms  p95 {figures['p95_ms']:.2f} ms"
                )
            if args.takeover:
                from sandbox_fixture import SandboxHandle

                from agents_mcp.sandbox import SandboxServer

                with SandboxServer(api_key="sk_bench_store") as sandbox_server:
                    sandbox = SandboxHandle(sandbox_server)
                    sandbox.configure(run_delay=args.run_delay)
                    for label, sig in (("SIGKILL", signal.SIGKILL), ("SIGTERM", signal.SIGTERM)):
                        url = server.create_database()
                        taken, done = await takeover(url, sandbox, Path(tmp), sig)
                        results[f"takeover_{label}"] = {"taken_s": taken, "done_s": done}
                        print(
                            f"takeover after {label}: taken over in {taken:.1f} s, run done "
                            f"{done:.1f} s after the stop (test run {args.run_delay:g} s)"
                        )
                    sandbox.close()
    finally:
        server.cleanup()
    if args.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--run-delay", type=float, default=4.0, help="sandbox test run duration")
    parser.add_argument("--no-takeover", dest="takeover", action="store_false")
    parser.add_argument("--json", action="store_true")
    anyio.run(main, parser.parse_args())
