"""How much smaller the simulation results are than the raw API response, on both backends.

For simulations of 2, 20 and 200 turns against the sandbox (through the real server over stdio,
the real MCP client), on the stream backend and on the agent-testing API (the sandbox's simulate
endpoints off; its runs stop at max_turns=50, the API's upper bound), prints the raw API bytes
(stream: the non-streamed endpoint's body for the same request, and the streamed body; tests: the
invocation's GET answer), the bytes a client receives per detail level (text + compact structured
content), the number of pages and the ratio raw / summary. Then, for the 20-turn summaries, what
each part costs: the text line by line group and the structured content field by field.

    python bench/bench_results.py

Target: every summary <= 1,500 bytes (exit 1 when over).
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
TURNS = (2, 20, 200)
TESTS_MAX_TURNS = 50  # the agent-testing API refuses more
CRITERIA = ["The agent apologises for the damaged item", "The agent offers a callback"]
MOCKS = {"lookup_order": {"return": "Order service timed out (503)", "is_error": True}}
TARGET = 1_500


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def text_of(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def received(result: Any) -> int:
    return len(text_of(result).encode()) + len(compact(result.structured_content).encode())


def text_parts(text: str) -> dict[str, int]:
    """Bytes of the text per group of lines: a heading line and the "- " lines under it."""
    parts: dict[str, int] = {}
    group = "header"
    for index, line in enumerate(text.split("\n")):
        if index and not line.startswith("- "):
            group = line.split(":", 1)[0].split(" (", 1)[0] if ":" in line else line[:20]
            group = "next call" if line.startswith(("Every turn", "Not finished")) else group
        parts[group] = parts.get(group, 0) + len(line.encode()) + 1  # the newline
    return parts


def structured_parts(structured: dict[str, Any]) -> dict[str, int]:
    """Bytes of the compact structured content per top-level field ("key":value,)."""
    return {k: len(compact({k: v}).encode()) - 1 for k, v in structured.items()}


def raw_stream_bytes(sandbox: SandboxServer, body: dict[str, Any]) -> tuple[int, int]:
    """(non-streamed body, streamed body) for the same request: the sandbox is deterministic."""
    url = f"{sandbox.base_url}/v1/convai/agents/{AGENT}/simulate-conversation"
    headers = {"xi-api-key": sandbox.api_key}
    with httpx2.Client(timeout=60, headers=headers) as http:
        plain = http.post(url, json=body)
        streamed = http.post(url + "/stream", json=body)
    plain.raise_for_status()
    streamed.raise_for_status()
    return len(plain.content), len(streamed.content)


def raw_invocation_bytes(sandbox: SandboxServer, invocation_id: str) -> int:
    url = f"{sandbox.base_url}/v1/convai/test-invocations/{invocation_id}"
    with httpx2.Client(timeout=30, headers={"xi-api-key": sandbox.api_key}) as http:
        answer = http.get(url)
    answer.raise_for_status()
    return len(answer.content)


async def measure(
    sandbox: SandboxServer, backend: str, data_dir: Path, log: Any
) -> list[dict[str, Any]]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "ELEVENLABS_BASE_URL": sandbox.base_url,
        "ELEVENLABS_API_KEY": sandbox.api_key,
        "AGENTS_MCP_DATA_DIR": str(data_dir),
        "AGENTS_MCP_LOG_LEVEL": "WARNING",
        "AGENTS_MCP_SIMULATION_BACKEND": backend,
        "AGENTS_MCP_POLL_SECONDS": "0.1",
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

            args: dict[str, Any] = {
                "agent_id": AGENT,
                "user_prompt": f"An impatient caller with a damaged order [turns={turns}]",
                "criteria": CRITERIA,
                "tool_mocks": MOCKS,
            }
            if backend == "tests":
                args["max_turns"] = TESTS_MAX_TURNS
            started = time.perf_counter()
            summary = await client.call_tool("simulate_conversation", args, progress_callback=count)
            elapsed = time.perf_counter() - started
            if summary.is_error:
                raise RuntimeError(f"simulation failed: {text_of(summary)}")
            sid = summary.structured_content["simulation_id"]
            transcript = await client.call_tool(
                "get_simulation", {"simulation_id": sid, "detail": "transcript"}
            )
            full = await client.call_tool(
                "get_simulation", {"simulation_id": sid, "detail": "full"}
            )
            resource = await client.read_resource(f"simulation://{sid}")
            stored = json.loads(resource.contents[0].text)
            if backend == "tests":
                plain = raw_invocation_bytes(sandbox, stored["upstream"]["invocation_id"])
                streamed = None
            else:
                plain, streamed = raw_stream_bytes(sandbox, stored["request"])
            rows.append(
                {
                    "backend": summary.structured_content["backend"],
                    "turns": turns,
                    "entries": summary.structured_content["turns"]["total"],
                    "frames": frames,
                    "seconds": elapsed,
                    "raw": plain,
                    "raw_stream": streamed,
                    "summary": received(summary),
                    "text": text_of(summary),
                    "structured": summary.structured_content,
                    "transcript": received(transcript),
                    "transcript_pages": transcript.structured_content["pages"],
                    "full": received(full),
                    "full_pages": full.structured_content["pages"],
                }
            )
    return rows


def run(backend: str) -> list[dict[str, Any]]:
    options: dict[str, Any] = {"legacy_simulate": False, "run_delay": 0.2}
    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxServer(api_key="sk_bench_key_0001", **(options if backend == "tests" else {})) as sb,
        (Path(tmp) / "server.log").open("w") as log,
    ):
        return anyio.run(measure, sb, backend, Path(tmp) / "data", log)


def breakdown(row: dict[str, Any]) -> None:
    text, structured = row["text"], row["structured"]
    text_bytes = len(text.encode())
    structured_bytes = len(compact(structured).encode())
    print(
        f"\n{row['backend']}, {row['turns']} turns: summary {row['summary']:,} B = "
        f"text {text_bytes:,} + structured {structured_bytes:,}"
    )
    print("  text (the model's read):")
    for name, size in text_parts(text).items():
        print(f"    {name:<22} {size:>5}")
    print("  structured content (machine fields):")
    for name, size in structured_parts(structured).items():
        print(f"    {name:<22} {size:>5}")


def main() -> int:
    rows = run("stream") + run("tests")
    print("Simulation result sizes (bytes a client receives: text + compact structured content)")
    print(
        f"{'backend':>7} {'turns':>5} {'entries':>7} {'frames':>6} {'raw API':>9} "
        f"{'raw stream':>10} {'summary':>8} {'transcript p1':>14} {'full p1':>12} "
        f"{'raw/summary':>11}"
    )
    for r in rows:
        stream = f"{r['raw_stream']:>10,}" if r["raw_stream"] is not None else f"{'-':>10}"
        print(
            f"{r['backend']:>7} {r['turns']:>5} {r['entries']:>7} {r['frames']:>6} "
            f"{r['raw']:>9,} {stream} {r['summary']:>8,} "
            f"{r['transcript']:>8,} ({r['transcript_pages']:>2}p) "
            f"{r['full']:>7,} ({r['full_pages']:>2}p) {r['raw'] / r['summary']:>10.1f}x"
        )
    print(
        "turns: asked for ([turns=N]; the tests backend stops at max_turns=50); entries: "
        "transcript entries (tool calls and results are entries of their own); frames: progress "
        "notifications; raw API: the non-streamed endpoint's body (stream) or the invocation's "
        "GET answer (tests)."
    )
    for r in rows:
        if r["turns"] == 20:
            breakdown(r)
    worst = max(r["summary"] for r in rows)
    verdict = "ok" if worst <= TARGET else "OVER"
    print(f"\nTarget: every summary <= {TARGET:,} bytes: the largest is {worst:,} ({verdict}).")
    print("Every page stays well under 25,000 tokens (transcript 20,000 B, full 12,000 chars).")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
