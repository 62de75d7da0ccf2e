"""Benchmarks of the API layer: the stream decoder's throughput and the client's per-request
overhead over a bare httpx2 call. Prints figures; asserts nothing about timing.

    python bench/bench_api.py            # about 15 s on a small machine

1. Decoder: a long simulated stream (200 turns with realistic payloads, one frame per turn and the
   analysis last), fed in random-size chunks, in both frame forms. For scale it also times the
   bare work any parser must do (json.loads per frame, then pydantic validation).
2. Client: N get_agent_link calls through AgentsAPI against a loopback server in a subprocess,
   and N bare httpx2 GETs (+ .json()) of the same URL on the same kind of client, interleaved in
   blocks; mean, p50 and p95 per call and the difference.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AGENT = "agent_3201k60p4ctyfg4smr22n17n6vxy"
KEY = "sk_bench_not_a_real_key_0000000000"
WORDS = (  # noqa: SIM905 - a sentence is easier to read than a list of words
    "sure I can help you with that order let me check the status of your refund the "
    "account shows a pending charge from last week would you like me to escalate this café "
    "naïve — “quoted” text with {braces} and \\ backslashes"
).split()


# --- 1. the stream decoder ---------------------------------------------------------------------


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def make_turns(n: int, rng: random.Random) -> list[dict]:
    turns = []
    for i in range(n):
        agent = i % 2 == 1
        turn: dict = {
            "role": "agent" if agent else "user",
            "message": " ".join(
                _sentence(rng, rng.randint(8, 30)) for _ in range(rng.randint(1, 4))
            ),
            "tool_calls": [],
            "tool_results": [],
            "feedback": None,
            "llm_override": None,
            "time_in_call_secs": i * 3,
            "conversation_turn_metrics": None,
            "rag_retrieval_info": None,
            "llm_usage": None,
            "interrupted": False,
            "original_message": None,
            "source_medium": None,
        }
        if agent:
            turn["llm_usage"] = {
                "model_usage": {
                    "gpt-4o-mini": {
                        "input": {"tokens": rng.randint(500, 4000), "price": 0.0004},
                        "output_total": {"tokens": rng.randint(20, 200), "price": 0.0001},
                    }
                }
            }
            turn["conversation_turn_metrics"] = {
                "metrics": {"convai_llm_service_ttfb": {"elapsed_time": rng.random()}}
            }
        if agent and i % 6 == 1:
            rid = f"lookup_order_{rng.getrandbits(64):016x}"
            turn["tool_calls"] = [
                {
                    "type": "webhook",
                    "request_id": rid,
                    "tool_name": "lookup_order",
                    "params_as_json": json.dumps({"order_id": f"A{rng.randint(1000, 9999)}"}),
                    "tool_has_been_called": True,
                    "tool_details": {"type": "webhook", "method": "GET", "url": "https://x/y"},
                }
            ]
            turn["tool_results"] = [
                {
                    "request_id": rid,
                    "tool_name": "lookup_order",
                    "result_value": json.dumps({"status": "shipped", "eta_days": 2}),
                    "is_error": False,
                    "tool_has_been_called": True,
                    "tool_latency_secs": 0.21,
                    "type": "webhook",
                }
            ]
        turns.append(turn)
    return turns


def make_stream(turns: list[dict], form: str, sep: str) -> tuple[bytes, int]:
    analysis = json.loads((ROOT / "tests/data/docs_example_analysis.json").read_text())["analysis"]
    frames = [{"simulated_conversation": [t], "analysis": None} for t in turns]
    frames.append({"simulated_conversation": [], "analysis": analysis})
    parts = []
    for frame in frames:
        inner = json.dumps(frame, ensure_ascii=False)
        parts.append(json.dumps(inner, ensure_ascii=False) if form == "string" else inner)
    return (sep.join(parts) + sep).encode(), len(frames)


def chunked(data: bytes, rng: random.Random, low: int = 1, high: int = 16384) -> list[bytes]:
    chunks, i = [], 0
    while i < len(data):
        n = rng.randint(low, high)
        chunks.append(data[i : i + n])
        i += n
    return chunks


def bench_decoder() -> None:
    from agents_mcp.api.models import SimulationFrame
    from agents_mcp.api.stream import FrameDecoder

    rng = random.Random(42)
    turns = make_turns(200, rng)
    print("== stream decoder (200 turns + analysis, random chunks of 1..16384 bytes)")
    for form, sep, label in [
        ("string", "\n", "JSON-string frames, newline-separated (the live format)"),
        ("object", "", "plain-object frames, back to back"),
    ]:
        data, n_frames = make_stream(turns, form, sep)
        chunk_sets = [chunked(data, rng) for _ in range(5)]
        # warm up, and check the result once
        decoder = FrameDecoder()
        out = [f for c in chunk_sets[0] for f in decoder.feed(c)]
        decoder.close()
        assert len(out) == n_frames and out[-1].analysis is not None
        runs, frames, elapsed = 0, 0, 0.0
        start = time.perf_counter()
        while elapsed < 2.0:
            decoder = FrameDecoder()
            for c in chunk_sets[runs % len(chunk_sets)]:
                frames += len(decoder.feed(c))
            decoder.close()
            runs += 1
            elapsed = time.perf_counter() - start
        mb = len(data) * runs / 1e6
        print(f"  {label}")
        print(
            f"    stream {len(data) / 1e3:.0f} kB, {n_frames} frames; {runs} runs in "
            f"{elapsed:.2f} s: {frames / elapsed:,.0f} frames/s, {mb / elapsed:.1f} MB/s"
        )

    # for scale: the bare per-frame work of any parser, on whole lines (no chunking, no scanning)
    data, n_frames = make_stream(turns, "string", "\n")
    lines = data.split(b"\n")[:-1]
    for label, fn in [
        ("json.loads x2 per line only", lambda line: json.loads(json.loads(line))),
        (
            "json.loads x2 + SimulationFrame.model_validate",
            lambda line: SimulationFrame.model_validate(json.loads(json.loads(line))),
        ),
    ]:
        runs, start = 0, time.perf_counter()
        while time.perf_counter() - start < 1.0:
            for line in lines:
                fn(line)
            runs += 1
        elapsed = time.perf_counter() - start
        print(
            f"  baseline, {label}: {n_frames * runs / elapsed:,.0f} frames/s, "
            f"{len(data) * runs / 1e6 / elapsed:.1f} MB/s"
        )


# --- 2. the client's per-request overhead ------------------------------------------------------


def serve() -> None:
    """Run as a subprocess: a loopback server answering the link endpoint, port on stdout."""
    import socket

    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    body = json.dumps(
        {
            "agent_id": AGENT,
            "token": {
                "agent_id": AGENT,
                "conversation_token": "tok_" + "x" * 40,
                "expiration_time_unix_secs": 1767225600,
                "conversation_id": None,
                "purpose": "shareable_link",
            },
        }
    ).encode()

    async def link(request):
        return Response(body, media_type="application/json")

    app = Starlette(routes=[Route("/v1/convai/agents/{agent_id}/link", link)])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="error", access_log=False)).run(sockets=[sock])


def _stats(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return statistics.fmean(samples), statistics.median(samples), p95


async def bench_client(base_url: str, n: int = 500, block: int = 50) -> None:
    import httpx2

    from agents_mcp.api import AgentsAPI, create_http_client

    http_api = create_http_client(None)
    http_bare = create_http_client(None)
    api = AgentsAPI(http_api, api_key=KEY, base_url=base_url)
    url = f"{base_url}/v1/convai/agents/{AGENT}/link"
    headers = {"xi-api-key": KEY, "accept": "application/json"}

    async def via_client() -> float:
        t = time.perf_counter()
        link = await api.get_agent_link(AGENT)
        elapsed = time.perf_counter() - t
        assert link.agent_id == AGENT
        return elapsed

    async def bare() -> float:
        t = time.perf_counter()
        response = await http_bare.get(url, headers=headers)
        data = response.json()
        elapsed = time.perf_counter() - t
        assert response.status_code == 200 and data["agent_id"] == AGENT
        return elapsed

    for _ in range(50):  # warm up both connection pools
        await via_client()
        await bare()
    client_times: list[float] = []
    bare_times: list[float] = []
    for _ in range(n // block):  # interleaved blocks, so drift hits both alike
        client_times += [await via_client() for _ in range(block)]
        bare_times += [await bare() for _ in range(block)]
    await http_api.aclose()
    await http_bare.aclose()

    c_mean, c_p50, c_p95 = _stats(client_times)
    b_mean, b_p50, b_p95 = _stats(bare_times)
    print(f"== client overhead: {n} get_agent_link calls vs {n} bare httpx2 GETs (+ .json())")
    print(f"  loop: {type(asyncio.get_running_loop()).__module__}; httpx2 {httpx2.__version__}")
    print(
        f"  AgentsAPI.get_agent_link  mean {c_mean * 1e3:.3f} ms  p50 {c_p50 * 1e3:.3f} ms  "
        f"p95 {c_p95 * 1e3:.3f} ms"
    )
    print(
        f"  bare httpx2 GET + json     mean {b_mean * 1e3:.3f} ms  p50 {b_p50 * 1e3:.3f} ms  "
        f"p95 {b_p95 * 1e3:.3f} ms"
    )
    print(
        f"  overhead per call         mean {(c_mean - b_mean) * 1e6:+.0f} us  "
        f"p50 {(c_p50 - b_p50) * 1e6:+.0f} us  ({(c_mean / b_mean - 1) * 100:+.1f} % of mean)"
    )


def main() -> None:
    bench_decoder()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:  # pragma: no cover - Windows
            runner = asyncio.run
        runner(bench_client(f"http://127.0.0.1:{port}"))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        main()
