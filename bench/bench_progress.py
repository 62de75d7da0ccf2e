"""First progress notification after the first upstream frame, and the sidecar's peak memory.

    python bench/bench_progress.py [--sims 1,100] [--turn-delay 0.2] [--first-frame-delay 1]

For each count in `--sims`, one agents-mcp server (`python -m agents_mcp serve`, the real MCP
client over stdio, AGENTS_MCP_MAX_CONCURRENT_SIMULATIONS=100) runs that many streamed
simulate_conversation calls at once against the sandbox (a child process on loopback, turns
paced by `--turn-delay` seconds, the first one held `--first-frame-delay` seconds: the live API
thinks before its first turn, while the sandbox would answer in the middle of the burst of calls
still being started; 0 measures that worst case). Each call's first_message is a unique marker;
the sandbox's bench layer (sandbox_proc.py) stamps the wall-clock time it hands the first
frame of that stream to the socket, the client stamps the arrival of the call's first progress
notification.
Both clocks are the same machine's time.time(). Prints p50 / p99 / max of (arrival - stamp).

It also prints the server process's peak resident memory (VmHWM in /proc, Linux) after the
largest batch: the scale of one sidecar with 100 simulations streaming at once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from mcp import Client, StdioServerParameters, stdio_client  # noqa: E402
from sandbox_proc import SandboxProcess  # noqa: E402

AGENT = "agent_demo_support"
MAX_SIMS = 100


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def server_params(sb: SandboxProcess, data_dir: Path) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "AGENTS_MCP_"))}
    env |= {
        "ELEVENLABS_BASE_URL": sb.base_url,
        "ELEVENLABS_API_KEY": sb.api_key,
        "AGENTS_MCP_DATA_DIR": str(data_dir),
        "AGENTS_MCP_MAX_CONCURRENT_SIMULATIONS": str(MAX_SIMS),
    }
    return StdioServerParameters(
        command=sys.executable, args=["-m", "agents_mcp", "serve"], env=env, cwd=str(ROOT)
    )


def server_pid() -> int | None:
    """The agents-mcp child of this process (Linux /proc)."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == me and b"agents_mcp" in cmdline and b"serve" in cmdline:
            return int(entry)
    return None


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def batch(client: Client, n: int, arrivals: dict[str, float]) -> list[str]:
    """`n` simulate_conversation calls at once; returns their markers."""
    markers = [f"bench-{uuid.uuid4().hex}" for _ in range(n)]

    async def one(marker: str) -> None:
        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            arrivals.setdefault(marker, time.time())

        result = await client.call_tool(
            "simulate_conversation",
            {
                "agent_id": AGENT,
                "user_prompt": "A caller checking an order [turns=6]",
                "first_message": marker,
                "wait_seconds": 55,
            },
            read_timeout_seconds=120,
            progress_callback=on_progress,
        )
        if result.is_error:
            raise RuntimeError(f"simulation failed: {result.content}")

    await asyncio.gather(*(one(m) for m in markers))
    return markers


async def run(args: argparse.Namespace) -> None:
    counts = [int(n) for n in args.sims.split(",")]
    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxProcess(
            turn_delay=args.turn_delay,
            max_concurrent=2 * MAX_SIMS,
            first_frame_delay=args.first_frame_delay,
        ) as sb,
        open(os.devnull, "w") as devnull,  # noqa: ASYNC230 - opened once, before any call
    ):
        transport = stdio_client(server_params(sb, Path(tmp)), errlog=devnull)
        async with Client(transport) as client:
            pid = server_pid()
            await batch(client, 2, {})  # warm-up
            for n in counts:
                delays: list[float] = []
                for _ in range(args.rounds):
                    arrivals: dict[str, float] = {}
                    started = time.perf_counter()
                    markers = await batch(client, n, arrivals)
                    took = time.perf_counter() - started
                    stamps = sb.stamps()
                    missing = [m for m in markers if m not in arrivals or m not in stamps]
                    if missing:
                        raise RuntimeError(f"{len(missing)} simulations had no progress or stamp")
                    delays.extend(arrivals[m] - stamps[m] for m in markers)
                print(
                    f"first frame held {args.first_frame_delay:g} s; "
                    f"{n:>4} simulations at once ({args.rounds} rounds, last took {took:.1f} s): "
                    f"first progress after first frame p50 {pct(delays, 0.5) * 1000:.1f} ms, "
                    f"p99 {pct(delays, 0.99) * 1000:.1f} ms, max {max(delays) * 1000:.1f} ms"
                )
            if pid is not None:
                print(f"server peak RSS (VmHWM): {peak_rss_mb(pid):.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sims", default="1,100", help="simulations at once, comma-separated")
    parser.add_argument("--turn-delay", type=float, default=0.2, help="sandbox seconds per turn")
    parser.add_argument("--first-frame-delay", type=float, default=1.0, help="seconds")
    parser.add_argument("--rounds", type=int, default=2)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
