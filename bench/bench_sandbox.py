"""How many simulations per second the sandbox sustains with 100 concurrent streams at zero delay,
and how much memory it uses doing so.

The sandbox runs as its own process (`python -m agents_mcp sandbox --port 0`), as a user would run
it; its resident memory is read from /proc (VmRSS now, VmHWM peak). The load generator is one
asyncio process with 100 keep-alive connections and a minimal HTTP/1.1 client. Both share this
machine's cores, so the figures are a floor for the sandbox alone.

    python bench/bench_sandbox.py [--concurrency 100] [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx2

AGENT = "agent_demo_support"


def start_sandbox() -> tuple[subprocess.Popen[str], str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ELEVENLABS_API_KEY"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agents_mcp", "sandbox", "--port", "0", "--turn-delay", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = re.search(r"(http://\S+) \(xi-api-key: (\S+);", line)
    if not match:
        proc.kill()
        raise SystemExit(f"the sandbox did not start: {line!r}")
    return proc, match.group(1), match.group(2)


def memory_kib(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    return {k: int(v) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def body(i: int, turns: int | None) -> dict:
    prompt = f"You are customer {i}, upset that your boots arrived damaged; you want a refund."
    if turns is not None:
        prompt += f" [turns={turns}]"
    return {
        "simulation_specification": {
            "simulated_user_config": {"prompt": {"prompt": prompt, "llm": "gpt-4o-mini"}},
            "tool_mock_config": {"lookup_order": {"default_return_value": '{"status": "shipped"}'}},
        }
    }


class RawConnection:
    """A minimal keep-alive HTTP/1.1 client: the load generator must cost less than the server.

    (httpx2 costs more CPU per request than the sandbox itself on this machine.)"""

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port, self.key = host, port, key
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, payload: dict) -> tuple[int, int, int]:
        """POST; returns (status, body bytes, chunks). Chunks are frames on the stream."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        data = json.dumps(payload).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nxi-api-key: {self.key}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(data)}\r\n\r\n"
        )
        self.writer.write(head.encode() + data)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if not chunked:
            await self.reader.readexactly(length)
            return status, length, 0
        size = chunks = 0
        while True:
            n = int((await self.reader.readline()).split(b";")[0], 16)
            await self.reader.readexactly(n + 2)
            if n == 0:
                return status, size, chunks
            size, chunks = size + n, chunks + 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def load(
    url: str, key: str, *, concurrency: int, seconds: float, streamed: bool, turns: int | None
) -> dict[str, float]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    path = f"/v1/convai/agents/{AGENT}/simulate-conversation" + ("/stream" if streamed else "")
    done = frames = errors = received = 0
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def worker(n: int) -> None:
        nonlocal done, frames, errors, received
        conn = RawConnection(host, int(port), key)
        i = n
        try:
            while time.monotonic() < deadline:
                started = time.monotonic()
                status, size, chunks = await conn.post(path, body(i, turns))
                received += size
                if status != 200:
                    errors += 1
                    continue
                frames += chunks
                latencies.append(time.monotonic() - started)
                done += 1
                i += concurrency
        finally:
            conn.close()

    started = time.monotonic()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "sims_per_s": done / elapsed,
        "frames_per_s": frames / elapsed,
        "mb_per_s": received / elapsed / 1e6,
        "kb_per_sim": received / max(done, 1) / 1e3,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else 0.0,
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))] if latencies else 0.0,
        "errors": errors,
        "done": done,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()

    proc, url, key = start_sandbox()
    try:
        idle = memory_kib(proc.pid)
        httpx2.post(
            f"{url}/_sandbox/config", headers={"xi-api-key": key}, json={"max_concurrent": 100_000}
        ).raise_for_status()
        print(f"sandbox pid {proc.pid} at {url}; idle RSS {idle['VmRSS'] / 1024:.1f} MiB")
        runs = [
            ("streamed, natural length (~12 turns + tools)", True, None),
            ("streamed, 20 turns + tools", True, 20),
            ("non-streamed, natural length", False, None),
        ]
        for label, streamed, turns in runs:
            seconds = args.seconds if streamed and turns is None else args.seconds / 2
            cpu = cpu_seconds(proc.pid)
            figures = asyncio.run(
                load(
                    url,
                    key,
                    concurrency=args.concurrency,
                    seconds=seconds,
                    streamed=streamed,
                    turns=turns,
                )
            )
            cpu_ms = 1000 * (cpu_seconds(proc.pid) - cpu) / max(figures["done"], 1)
            mem = memory_kib(proc.pid)
            print(
                f"{label:46s} {args.concurrency} concurrent: {figures['sims_per_s']:7.1f} sims/s, "
                f"{figures['frames_per_s']:8.0f} frames/s, {figures['mb_per_s']:5.1f} MB/s, "
                f"{figures['kb_per_sim']:5.1f} KB/sim, p50 {figures['p50_ms']:6.0f} ms, "
                f"p95 {figures['p95_ms']:6.0f} ms, errors {figures['errors']}, "
                f"RSS {mem['VmRSS'] / 1024:.1f} MiB; sandbox CPU {cpu_ms:.1f} ms/sim "
                f"(~{1000 / max(cpu_ms, 1e-9):.0f} sims/s per core)"
            )
        final = memory_kib(proc.pid)
        print(
            f"sandbox memory: idle {idle['VmRSS'] / 1024:.1f} MiB, "
            f"after load {final['VmRSS'] / 1024:.1f} MiB, peak {final['VmHWM'] / 1024:.1f} MiB"
        )
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
