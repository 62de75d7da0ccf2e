"""One big suite in one sidecar: run_tests with 100 scenarios x 10 repeats (1,000 runs in flight).

Prints the peak resident memory (VmHWM) of the server process, the GETs of the invocation per
poll interval (coalesced polling: one GET per invocation per interval, never one per run), the
wall time until the run is done, and checks the result (1,000 runs, all finished).

    python bench/bench_suite_scale.py                          # 100 x 10, run_delay 3 s
    python bench/bench_suite_scale.py --tests 20 --repeat 5    # smaller

Set-up: the sandbox (`agents-mcp sandbox`, run_delay given, its request log counts the GETs)
and the server (`agents-mcp serve --transport http`) run as their own processes on 127.0.0.1.
The call passes confirm=true (1,000 runs are past AGENTS_MCP_MAX_RUNS) and waits for the end.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_http_load import TOKEN, Process, base_env  # noqa: E402

from agents_mcp.sandbox import DEFAULT_API_KEY  # noqa: E402

AGENT = "agent_demo_support"
RSS_BUDGET_MIB = 200


def scenarios(count: int) -> list[dict[str, object]]:
    return [
        {
            "name": f"scenario {i:03d}",
            "user_prompt": f"Caller {i} wants a refund for order {1000 + i}.",
            "criteria": ["The agent is polite"],
        }
        for i in range(count)
    ]


async def bench(args: argparse.Namespace) -> int:
    admin = {"xi-api-key": DEFAULT_API_KEY}
    with tempfile.TemporaryDirectory() as data:
        sandbox = Process(
            [sys.executable, "-m", "agents_mcp", "sandbox", "--port", "0"],
            base_env(),
            r"listening on (http://127\.0\.0\.1:\d+)",
        )
        try:
            async with httpx2.AsyncClient(headers=admin) as http:
                config = {"run_delay": args.run_delay, "turn_delay": 0}
                (await http.post(f"{sandbox.url}/_sandbox/config", json=config)).raise_for_status()
            server = Process(
                [sys.executable, "-m", "agents_mcp", "serve", "--transport", "http", "--port", "0"],
                base_env(
                    ELEVENLABS_BASE_URL=sandbox.url,
                    ELEVENLABS_API_KEY=DEFAULT_API_KEY,
                    AGENTS_MCP_AUTH_TOKEN=TOKEN,
                    AGENTS_MCP_DATA_DIR=data,
                    AGENTS_MCP_POLL_SECONDS=str(args.poll),
                ),
                r"listening on (http://127\.0\.0\.1:\d+/mcp)",
            )
            try:
                return await _measure(args, sandbox, server)
            finally:
                server.stop()
        finally:
            sandbox.stop()


async def _measure(args: argparse.Namespace, sandbox: Process, server: Process) -> int:
    admin = {"xi-api-key": DEFAULT_API_KEY}
    runs = args.tests * args.repeat
    timeout = httpx2.Timeout(30, read=600)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http2,
        Client(streamable_http_client(server.url, http_client=http2)) as client,
    ):
        await client.list_tools()
        idle = server.memory_kib("VmRSS")
        cleared = server.reset_peak()
        async with httpx2.AsyncClient(headers=admin) as http:
            await http.delete(f"{sandbox.url}/_sandbox/requests")
        start = time.perf_counter()
        timeline: list[tuple[float, int]] = []

        async def sample() -> None:
            while True:
                timeline.append((time.perf_counter() - start, server.memory_kib("VmRSS")))
                await anyio.sleep(0.1)

        sampler = anyio.create_task_group()
        await sampler.__aenter__()
        sampler.start_soon(sample)
        result = await client.call_tool(
            "run_tests",
            {
                "agent_id": AGENT,
                "tests": scenarios(args.tests),
                "repeat": args.repeat,
                "confirm": True,
                "wait_seconds": 55,
            },
        )
        if result.is_error:
            print(result.content[0].text)  # type: ignore[union-attr]
            return 1
        run_id = result.structured_content["run_id"]
        status = result.structured_content.get("status")
        while status not in ("done", "failed", "cancelled"):
            again = await client.call_tool(
                "get_test_results", {"run_id": run_id, "wait_seconds": 55}
            )
            status = again.structured_content.get("status")
        wall = time.perf_counter() - start
        sampler.cancel_scope.cancel()
        await sampler.__aexit__(None, None, None)
        if args.timeline:
            print(" ".join(f"{at:.1f}s:{kib >> 10}" for at, kib in timeline))
        peak = server.memory_kib("VmHWM")
        page = await client.call_tool("get_test_results", {"run_id": run_id, "detail": "runs"})
    async with httpx2.AsyncClient(headers=admin) as http:
        log = (await http.get(f"{sandbox.url}/_sandbox/requests")).json()
    paths = [e.get("path", "") for e in log if e.get("method") == "GET"]
    gets = [p for p in paths if "/test-invocations/" in p]
    per_run = [p for p in paths if "/test-runs/" in p]
    per_poll = len(gets) / max(1.0, wall / args.poll)  # poll intervals elapsed
    print(
        f"{args.tests} scenarios x {args.repeat} repeats = {runs} runs in one run_tests "
        f"(sandbox run_delay {args.run_delay} s, AGENTS_MCP_POLL_SECONDS={args.poll})"
    )
    print(f"  status {status}; wall time {wall:.1f} s")
    print(
        f"  server RSS: {idle / 1024:.1f} MiB idle, peak {peak / 1024:.1f} MiB during the run "
        f"(budget {RSS_BUDGET_MIB})" + ("" if cleared else " (peak since start-up)")
    )
    print(
        f"  invocation GETs: {len(gets)} in all over {wall / args.poll:.0f} poll intervals = "
        f"{per_poll:.2f} per interval (one invocation: at most 1); per-run GETs: {len(per_run)}"
    )
    print(f"  sandbox requests in all: {len(log)}; detail=runs page is_error={page.is_error}")
    ok = status == "done" and peak / 1024 <= RSS_BUDGET_MIB and per_poll <= 1.05 and not per_run
    print(f"  within budgets: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--run-delay", type=float, default=3.0)
    parser.add_argument("--timeline", action="store_true", help="print RSS (MiB) every 0.1 s")
    parser.add_argument("--poll", type=float, default=0.5, help="AGENTS_MCP_POLL_SECONDS")
    sys.exit(anyio.run(bench, parser.parse_args()))


if __name__ == "__main__":
    main()
