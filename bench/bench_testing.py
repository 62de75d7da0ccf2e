"""What a test suite costs a conversation: the run_tests result for 3 tests x 3 repeats with a
live baseline, next to the raw invocations it summarizes, and the size of tools/list.

Through the real server over stdio and the real MCP client, against an embedded sandbox on
loopback (no network, no credits). Prints bytes received per detail level (text + compact
structured content; budget 3,000 for the summary) and the raw invocation JSON it stands for.

    python bench/bench_testing.py
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
from mcp import Client, StdioServerParameters, stdio_client

from agents_mcp.sandbox import SandboxServer

REPO = Path(__file__).resolve().parent.parent
SUMMARY_BUDGET = 3_000
TOOLS_LIST_BUDGET = 8_192
TESTS = [
    {
        "name": "refund for a damaged order",
        "user_prompt": "Your tent (order 1234) arrived torn; you want a refund. [flaky=0.6]",
        "criteria": ["The agent looks up the order before discussing it", "The agent is polite"],
    },
    {
        "name": "late delivery",
        "user_prompt": "Your order 5678 is a week late; you ask where it is.",
        "criteria": ["The agent tells the customer the delivery status"],
    },
    {
        "name": "discount for the wait",
        "user_prompt": "You are unhappy about a late delivery and want something for it.",
        "criteria": ["[requires: offer a discount code]"],
    },
]


def received(result: Any) -> int:
    text = "\n".join(getattr(block, "text", "") for block in result.content)
    structured = json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode()) + len(structured.encode())


async def main() -> int:
    with SandboxServer(api_key="sk_bench") as sandbox, tempfile.TemporaryDirectory() as data:
        env = {
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
            "ELEVENLABS_BASE_URL": sandbox.base_url,
            "ELEVENLABS_API_KEY": "sk_bench",
            "AGENTS_MCP_DATA_DIR": data,
            "AGENTS_MCP_POLL_SECONDS": "0.1",
            "AGENTS_MCP_LOG_LEVEL": "WARNING",
        }
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "agents_mcp", "serve"], env=env, cwd=REPO
        )
        async with Client(stdio_client(params)) as client:
            tools = (await client.list_tools()).tools
            listed = {
                "tools": [
                    t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools
                ]
            }
            tools_bytes = len(json.dumps(listed, separators=(",", ":")).encode())
            start = time.perf_counter()
            result = await client.call_tool(
                "run_tests",
                {"agent_id": "agent_demo_support", "tests": TESTS, "repeat": 3, "baseline": {}},
            )
            seconds = time.perf_counter() - start
            run_id = result.structured_content["run_id"]
            runs = await client.call_tool("get_test_results", {"run_id": run_id, "detail": "runs"})
            transcript = await client.call_tool(
                "get_test_results",
                {"run_id": run_id, "detail": "transcript", "test": TESTS[0]["name"]},
            )
            read = await client.read_resource(f"test-run://{run_id}")
            doc = json.loads(read.contents[0].text)
    raw = len(json.dumps(doc["invocation"], separators=(",", ":")).encode())
    raw += len(json.dumps(doc["baseline"]["invocation"], separators=(",", ":")).encode())
    summary = received(result)
    print(f"tools/list: {tools_bytes} bytes for {len(tools)} tools (budget {TOOLS_LIST_BUDGET})")
    print(f"run_tests, 3 tests x 3 repeats + live baseline ({seconds:.1f} s on the sandbox):")
    print(f"  summary            {summary:>7} bytes (budget {SUMMARY_BUDGET})")
    print(f"  detail=runs        {received(runs):>7} bytes (page 1)")
    print(f"  detail=transcript  {received(transcript):>7} bytes (page 1, one test)")
    print(f"  raw invocations    {raw:>7} bytes (both sides), {raw / summary:.0f}x the summary")
    ok = summary <= SUMMARY_BUDGET and tools_bytes <= TOOLS_LIST_BUDGET
    print(f"  within budgets: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(anyio.run(main))
