"""What the server costs a conversation and a desktop client, before any tool is called.

1. The whole tools/list result as compact JSON (every byte of it is sent to the model in every
   conversation): total bytes and bytes per tool. Budget: 8 KB.
2. Start-up time, process start -> tools/list answered, of `python -m agents_mcp serve` next to a
   bare MCPServer with one trivial tool, measured in the same run (alternating), median of runs.

Run: python bench/bench_tools_list.py [--runs N]. Talks JSON-RPC over the child's stdin/stdout,
with nothing but the Python interpreter in between; no network is used.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET = 8192
REPO = Path(__file__).resolve().parent.parent

BARE_SERVER = """
from mcp.server import MCPServer

mcp = MCPServer(name="bare")


@mcp.tool()
def ping() -> str:
    return "pong"


mcp.run()
"""

REQUESTS = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"},
        },
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
]


def list_tools_timed(cmd: list[str], env: dict[str, str]) -> tuple[float, dict]:
    """Seconds from spawning `cmd` to the tools/list answer, and that answer's result."""
    return answer_timed(cmd, env, REQUESTS, answer_id=2)


def answer_timed(
    cmd: list[str], env: dict[str, str], requests: list[dict], answer_id: int
) -> tuple[float, dict]:
    """Seconds from spawning `cmd` (all of `requests` written at once, as a client does) to the
    answer with id `answer_id`, and that answer's result."""
    payload = "".join(json.dumps(r) + "\n" for r in requests).encode()
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=REPO,
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(payload)
        proc.stdin.flush()
        while True:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{cmd} exited before answering request {answer_id}")
            message = json.loads(line)
            if message.get("id") == answer_id:
                elapsed = time.perf_counter() - start
                if "error" in message:
                    raise RuntimeError(f"request {answer_id} failed: {message['error']}")
                return elapsed, message["result"]
    finally:
        proc.stdin.close()  # EOF: the server shuts down
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def compact(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare_server.py"
        bare.write_text(BARE_SERVER)
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "AGENTS_MCP_"))
        }
        env.update(
            {
                # tools/list sends no request; the closed port proves it.
                "ELEVENLABS_BASE_URL": "http://127.0.0.1:9",
                "AGENTS_MCP_DATA_DIR": str(Path(tmp) / "data"),
            }
        )
        ours_cmd = [sys.executable, "-m", "agents_mcp", "serve"]
        bare_cmd = [sys.executable, str(bare)]

        # Warm-up (page cache, .pyc files), not counted.
        _, result = list_tools_timed(ours_cmd, env)
        list_tools_timed(bare_cmd, env)

        ours, bares = [], []
        for _ in range(args.runs):
            ours.append(list_tools_timed(ours_cmd, env)[0])
            bares.append(list_tools_timed(bare_cmd, env)[0])

    tools = result["tools"]
    total = len(compact(result))
    print(f"tools/list (compact JSON): {total} bytes for {len(tools)} tools (budget {BUDGET})")
    for tool in tools:
        parts = {
            key: len(compact(tool.get(key)))
            for key in ("description", "inputSchema", "outputSchema")
            if key in tool
        }
        detail = ", ".join(f"{k} {v}" for k, v in parts.items())
        print(f"  {tool['name']:<24} {len(compact(tool)):>5} bytes  ({detail})")
    print(f"  average per tool: {total / len(tools):.0f} bytes")
    print(f"  within budget: {'yes' if total <= BUDGET else 'NO'}")

    med_ours, med_bare = statistics.median(ours), statistics.median(bares)
    print(f"start-up, process start -> tools/list answered (median of {args.runs}):")
    print(f"  agents-mcp serve:           {med_ours * 1000:7.0f} ms  (min {min(ours) * 1000:.0f})")
    print(f"  bare MCPServer, one tool:   {med_bare * 1000:7.0f} ms  (min {min(bares) * 1000:.0f})")
    print(f"  agents-mcp - bare:          {(med_ours - med_bare) * 1000:+7.0f} ms")
    print(
        "  (agents-mcp answers initialize and tools/list before importing the MCP SDK, which the"
        " bare server must import first: agents_mcp/handshake.py)"
    )


if __name__ == "__main__":
    main()
