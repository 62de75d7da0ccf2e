"""How large simulate_conversation's result is on the agent-testing API (the tests backend).

Runs simulations of 2, 20 and 50 turns against a sandbox whose simulate endpoints are off
(`legacy_simulate=False`, so `auto` switches to the agent-testing API), through the real server
over stdio and the real MCP client, and prints per run: the backend, the progress notifications
(one per poll), the seconds, the bytes of the raw invocation (the API's GET answer), the bytes a
client receives for the summary (text + compact structured content) and the raw/summary ratio.

    python bench/bench_tests_backend.py

Target: the 20-turn summary <= 1,500 bytes.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client, StdioServerParameters, stdio_client

from agents_mcp.sandbox import SandboxServer

AGENT = "agent_demo_support"
TURNS = (2, 20, 50)
CRITERIA = [
    "The agent apologises for the damaged item",
    "The agent offers a replacement or a refund",
    {"id": "callback", "name": "Callback offered", "goal": "The agent offers a callback [failure]"},
]
TARGET_20 = 1_500


def received(result: Any) -> int:
    text = "\n".join(getattr(block, "text", "") for block in result.content)
    structured = json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode()) + len(structured.encode())


def invocation_bytes(sandbox: SandboxServer, invocation_id: str) -> int:
    url = f"{sandbox.base_url}/v1/convai/test-invocations/{invocation_id}"
    with httpx2.Client(timeout=30, headers={"xi-api-key": sandbox.api_key}) as http:
        answer = http.get(url)
    answer.raise_for_status()
    return len(answer.content)


async def measure(sandbox: SandboxServer, data_dir: Path, log: Any) -> list[dict[str, Any]]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "ELEVENLABS_BASE_URL": sandbox.base_url,
        "ELEVENLABS_API_KEY": sandbox.api_key,
        "AGENTS_MCP_DATA_DIR": str(data_dir),
        "AGENTS_MCP_LOG_LEVEL": "WARNING",
        "AGENTS_MCP_POLL_SECONDS": "0.1",
    }
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "agents_mcp", "serve"], env=env
    )
    rows = []
    async with Client(stdio_client(params, errlog=log)) as client:
        for turns in TURNS:
            polls = 0

            async def count(*_: Any) -> None:
                nonlocal polls
                polls += 1

            args = {
                "agent_id": AGENT,
                "user_prompt": f"An impatient caller with a damaged order [turns={turns}]",
                "criteria": CRITERIA,
                "max_turns": 50,
            }
            started = time.perf_counter()
            summary = await client.call_tool("simulate_conversation", args, progress_callback=count)
            elapsed = time.perf_counter() - started
            if summary.is_error:
                raise RuntimeError(f"simulation failed: {summary.content}")
            s = summary.structured_content
            resource = await client.read_resource(f"simulation://{s['simulation_id']}")
            upstream = json.loads(resource.contents[0].text)["upstream"]
            raw = invocation_bytes(sandbox, upstream["invocation_id"])
            rows.append(
                {
                    "turns": turns,
                    "entries": s["turns"]["total"],
                    "backend": s["backend"],
                    "criteria": len(s.get("criteria", [])),
                    "polls": polls,
                    "seconds": elapsed,
                    "raw": raw,
                    "summary": received(summary),
                }
            )
    return rows


def main() -> int:
    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxServer(api_key="sk_bench_key_0001", legacy_simulate=False, run_delay=0.3) as sb,
        (Path(tmp) / "server.log").open("w") as log,
    ):
        rows = anyio.run(measure, sb, Path(tmp) / "data", log)
    print("simulate_conversation on the agent-testing API (simulate endpoints off, backend auto)")
    print(
        f"{'turns':>5} {'entries':>7} {'backend':>7} {'criteria':>8} {'polls':>5} "
        f"{'seconds':>7} {'raw invocation':>14} {'summary':>8} {'raw/summary':>11}"
    )
    for r in rows:
        print(
            f"{r['turns']:>5} {r['entries']:>7} {r['backend']:>7} {r['criteria']:>8} "
            f"{r['polls']:>5} {r['seconds']:>7.2f} {r['raw']:>14,} {r['summary']:>8,} "
            f"{r['raw'] / r['summary']:>10.1f}x"
        )
    twenty = next(r for r in rows if r["turns"] == 20)["summary"]
    verdict = "ok" if twenty <= TARGET_20 else "OVER"
    print(f"Target: the 20-turn summary <= {TARGET_20:,} bytes: {twenty:,} ({verdict}).")
    return 0 if twenty <= TARGET_20 else 1


if __name__ == "__main__":
    sys.exit(main())
