"""How long one poll of a 1,000-run invocation blocks the event loop, and what it allocates.

The sandbox runs in its own process (bench/bench_http_load.Process); this process creates 100
tests, runs them with repeat 10 and waits until every run is finished, then GETs the finished
invocation (about 16 MB of JSON) several times each way, a probe task in the same event loop
waking every millisecond. For each way it prints the longest gap the probe saw (the loop
blocked), the CPU time of a poll and the peak Python allocation of a poll (tracemalloc):

- "whole": json.loads + TestInvocation.model_validate of the body (how a poll read it before);
- "compact, first": get_invocation_compact with no previous document (every run packed);
- "compact, again": get_invocation_compact with the previous one (finished runs reused: what
  every poll after a run finished costs).

    python bench/bench_poll_block.py [--tests 100 --repeat 10 --polls 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_http_load import Process, base_env  # noqa: E402

from agents_mcp.api import AgentsAPI  # noqa: E402
from agents_mcp.api.testing_models import TestInvocation  # noqa: E402
from agents_mcp.sandbox import DEFAULT_API_KEY  # noqa: E402
from agents_mcp.testing.suite import plan_tests, scenario_body  # noqa: E402

AGENT = "agent_demo_support"


async def _measure(poll: Callable[[], Awaitable[Any]], traced: bool) -> tuple[float, float]:
    """(longest loop gap, CPU seconds) of one poll; traced: (0, peak MB traced) instead
    (tracemalloc slows every allocation: it is not on while timing)."""
    gaps: list[float] = []
    done = anyio.Event()

    async def probe() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await anyio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    if traced:
        tracemalloc.start()
    cpu = time.process_time()
    async with anyio.create_task_group() as tg:
        tg.start_soon(probe)
        await anyio.sleep(0.01)
        await poll()
        done.set()
    cpu = time.process_time() - cpu
    if traced:
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        return 0.0, peak
    return max(gaps), cpu


async def main(args: argparse.Namespace) -> None:
    sandbox = Process(
        [sys.executable, "-m", "agents_mcp", "sandbox", "--port", "0"],
        base_env(),
        r"listening on (http://127\.0\.0\.1:\d+)",
    )
    try:
        async with httpx2.AsyncClient(headers={"xi-api-key": DEFAULT_API_KEY}, timeout=60) as http:
            config = {"run_delay": 1, "turn_delay": 0}
            (await http.post(f"{sandbox.url}/_sandbox/config", json=config)).raise_for_status()
            api = AgentsAPI(http, api_key=DEFAULT_API_KEY, base_url=sandbox.url)
            items = [
                {"name": f"scenario {i:03d}", "user_prompt": f"Caller {i} wants a refund."}
                for i in range(args.tests)
            ]
            planned = plan_tests(items, [])
            ids = [await api.create_test(scenario_body(p, p.name, {})) for p in planned]
            started = await api.run_tests(AGENT, tests=ids, repeat_count=args.repeat)
            for _ in range(600):
                if (await api.get_invocation(started.id)).done:
                    break
                await anyio.sleep(0.5)
            url = f"{sandbox.url}/v1/convai/test-invocations/{started.id}"
            size = len((await http.get(url)).content)

            async def whole() -> None:
                body = (await http.get(url)).content
                TestInvocation.model_validate(json.loads(body))

            previous = await api.get_invocation_compact(started.id)

            async def first() -> None:
                await api.get_invocation_compact(started.id)

            async def again() -> None:
                await api.get_invocation_compact(started.id, previous)

            print(
                f"{args.tests} tests x {args.repeat} repeats, invocation {size / 1e6:.1f} MB, "
                f"{args.polls} polls each (longest / median over polls)"
            )
            ways = (("whole", whole), ("compact, first", first), ("compact, again", again))
            for name, poll in ways:
                rows = [await _measure(poll, traced=False) for _ in range(args.polls)]
                gap = sorted(r[0] for r in rows)
                cpu = sorted(r[1] for r in rows)
                mid = len(rows) // 2
                peak = (await _measure(poll, traced=True))[1]
                print(
                    f"  {name:15s} loop blocked {gap[-1] * 1e3:6.1f} / {gap[mid] * 1e3:6.1f} ms"
                    f"   CPU {cpu[mid] * 1e3:6.0f} ms   traced peak {peak:5.1f} MB"
                )
    finally:
        sandbox.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--polls", type=int, default=5)
    anyio.run(main, parser.parse_args())
