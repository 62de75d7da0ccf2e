"""The job store: write rate under 100 concurrent jobs (SQLite and PostgreSQL), and how long a
replica takes to take over a test run after its owner is killed (SIGKILL) or stopped (SIGTERM).

    python bench/bench_store.py                 # about a minute on a small machine
    python bench/bench_store.py --jobs 100 --seconds 3 --no-takeover

Set-up: PostgreSQL is a throwaway cluster started on loopback with the tests' fixture
(tests/support/postgres_fixture.py; fsync off, as in the tests), SQLite a file in a temp dir.
Each job writes its record (a 4 KB document, like a simulation with a few turns) as fast as it
can; a running job writes at most one checkpoint a second, so "headroom" is how many such jobs the
store could carry. The takeover runs two real replica processes on the sandbox's agent-testing API.
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


def replica_env(pg_url: str, sandbox: Any, data_dir: Path, backend: str) -> dict[str, str]:
    from tests.support.http_sidecar import TOKEN, clean_env

    data_dir.mkdir(exist_ok=True)
    return clean_env(
        ELEVENLABS_BASE_URL=sandbox.base_url,
        ELEVENLABS_API_KEY=sandbox.api_key,
        AGENTS_MCP_AUTH_TOKEN=TOKEN,
        AGENTS_MCP_DATA_DIR=str(data_dir),
        AGENTS_MCP_DATABASE_URL=pg_url,
        AGENTS_MCP_SIMULATION_BACKEND=backend,
        AGENTS_MCP_POLL_SECONDS="0.5",
    )


async def cross_replica_wait(pg_url: str, sandbox: Any, tmp: Path, runs: int) -> list[float]:
    """Seconds between a result being stored by A and B's waiting get_simulation returning it."""
    import psycopg

    from tests.support.http_sidecar import Sidecar, mcp_client

    lags: list[float] = []
    with (
        Sidecar.serve(env=replica_env(pg_url, sandbox, tmp / "wa", "stream")) as a,
        Sidecar.serve(env=replica_env(pg_url, sandbox, tmp / "wb", "stream")) as b,
    ):
        async with mcp_client(a.url) as on_a, mcp_client(b.url) as on_b:
            for _ in range(runs):
                started = await on_a.call_tool(
                    "simulate_conversation",
                    {"agent_id": "agent_demo_support", "user_prompt": "Hi [turns=100]",
                     "wait_seconds": 0},
                )  # fmt: skip
                sim_id = started.structured_content["simulation_id"]
                wait = {"simulation_id": sim_id, "wait_seconds": 60}
                await on_b.call_tool("get_simulation", wait)
                returned = time.time()
                with psycopg.connect(pg_url) as conn:
                    row = conn.execute(
                        "SELECT updated_at FROM agents_mcp_records WHERE record_id = %s", (sim_id,)
                    ).fetchone()
                assert row is not None
                lags.append(returned - row[0])
    return lags


async def takeover(pg_url: str, sandbox: Any, tmp: Path, sig: int) -> tuple[float, float]:
    """(seconds until the other replica took the job over, seconds until it was done)."""
    import psycopg

    from tests.support.http_sidecar import Sidecar, mcp_client

    a = Sidecar.serve(env=replica_env(pg_url, sandbox, tmp / "a", "tests")).start()
    b = Sidecar.serve(env=replica_env(pg_url, sandbox, tmp / "b", "tests")).start()
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
    from tests.support.postgres_fixture import PostgresServer

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
                from agents_mcp.sandbox import SandboxServer
                from tests.support.sandbox_fixture import SandboxHandle

                with SandboxServer(api_key="sk_bench_store") as sandbox_server:
                    sandbox = SandboxHandle(sandbox_server)
                    sandbox.configure(run_delay=args.run_delay, turn_delay=0.02)
                    lags = await cross_replica_wait(server.create_database(), sandbox, Path(tmp), 5)
                    results["cross_replica_wait_lag_s"] = lags
                    print(
                        f"cross-replica wait: result seen {statistics.mean(lags):.2f} s (max "
                        f"{max(lags):.2f} s) after the owner stored it (polling every 0.5 s)"
                    )
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
