"""How much smaller the simulation results are than the raw API response.

For simulations of 2, 20 and 200 turns against the sandbox (through the real server over stdio,
the real MCP client), prints the raw API bytes (the non-streamed endpoint's body for the same
request, and the streamed body), the bytes a client receives per detail level (text + compact
structured content), the number of pages, and the ratio raw / summary.

    python bench/bench_results.py
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
import httpx
from mcp import Client, StdioServerParameters, stdio_client

from agents_mcp.sandbox import SandboxServer

AGENT = "agent_demo_support"
TURNS = (2, 20, 200)
CRITERIA = ["The agent apologises for the damaged item", "The agent offers a callback"]
MOCKS = {"lookup_order": {"return": "Order service timed out (503)", "is_error": True}}


def received(result: Any) -> int:
    text = "\n".join(getattr(block, "text", "") for block in result.content)
    structured = json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode()) + len(structured.encode())


def raw_bytes(sandbox: SandboxServer, body: dict[str, Any]) -> tuple[int, int]:
    """(non-streamed body, streamed body) for the same request: the sandbox is deterministic."""
    url = f"{sandbox.base_url}/v1/convai/agents/{AGENT}/simulate-conversation"
    headers = {"xi-api-key": sandbox.api_key}
    with httpx.Client(timeout=60, headers=headers) as http:
        plain = http.post(url, json=body)
        streamed = http.post(url + "/stream", json=body)
    plain.raise_for_status()
    streamed.raise_for_status()
    return len(plain.content), len(streamed.content)


async def measure(sandbox: SandboxServer, data_dir: Path, log: Any) -> list[dict[str, Any]]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "ELEVENLABS_BASE_URL": sandbox.base_url,
        "ELEVENLABS_API_KEY": sandbox.api_key,
        "AGENTS_MCP_DATA_DIR": str(data_dir),
        "AGENTS_MCP_LOG_LEVEL": "WARNING",
    }
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "agents_mcp", "serve"], env=env
    )
    rows = []
    async with Client(stdio_client(params, errlog=log)) as client:
        for turns in TURNS:
            frames = 0

            async def count(*_: Any) -> None:
                nonlocal frames
                frames += 1

            args = {
                "agent_id": AGENT,
                "user_prompt": f"An impatient caller with a damaged order [turns={turns}]",
                "criteria": CRITERIA,
                "tool_mocks": MOCKS,
            }
            started = time.perf_counter()
            summary = await client.call_tool("simulate_conversation", args, progress_callback=count)
            elapsed = time.perf_counter() - started
            if summary.is_error:
                raise RuntimeError(f"simulation failed: {summary.content}")
            sid = summary.structured_content["simulation_id"]
            transcript = await client.call_tool(
                "get_simulation", {"simulation_id": sid, "detail": "transcript"}
            )
            full = await client.call_tool(
                "get_simulation", {"simulation_id": sid, "detail": "full"}
            )
            resource = await client.read_resource(f"simulation://{sid}")
            request = json.loads(resource.contents[0].text)["request"]
            plain, streamed = raw_bytes(sandbox, request)
            rows.append(
                {
                    "turns": turns,
                    "entries": summary.structured_content["turns"]["total"],
                    "frames": frames,
                    "seconds": elapsed,
                    "raw": plain,
                    "raw_stream": streamed,
                    "summary": received(summary),
                    "transcript": received(transcript),
                    "transcript_pages": transcript.structured_content["pages"],
                    "full": received(full),
                    "full_pages": full.structured_content["pages"],
                }
            )
    return rows


def main() -> int:
    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxServer(api_key="sk_bench_key_0001") as sb,
        (Path(tmp) / "server.log").open("w") as log,
    ):
        rows = anyio.run(measure, sb, Path(tmp) / "data", log)
    print("Simulation result sizes (bytes a client receives: text + compact structured content)")
    print(
        f"{'turns':>5} {'entries':>7} {'frames':>6} {'raw API':>9} {'raw stream':>10} "
        f"{'summary':>8} {'transcript p1':>14} {'full p1':>12} {'raw/summary':>11}"
    )
    for r in rows:
        print(
            f"{r['turns']:>5} {r['entries']:>7} {r['frames']:>6} {r['raw']:>9,} "
            f"{r['raw_stream']:>10,} {r['summary']:>8,} "
            f"{r['transcript']:>8,} ({r['transcript_pages']:>2}p) "
            f"{r['full']:>7,} ({r['full_pages']:>2}p) {r['raw'] / r['summary']:>10.1f}x"
        )
    print(
        "entries: transcript entries (tool calls and results are entries of their own); "
        "frames: progress notifications received; raw API: the non-streamed endpoint's body."
    )
    print(
        "Targets: the 20-turn summary <= 3,000 bytes, the 200-turn summary < 6,000 bytes, "
        "every page well under 25,000 tokens."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
