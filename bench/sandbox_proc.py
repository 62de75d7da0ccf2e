"""The sandbox in its own process for the benchmarks, with two bench-only switches.

    with SandboxProcess(close_connections=True) as sb:   # sb.base_url, sb.api_key
        sb.stamps()                                      # {marker: first-frame send time}

It runs `python bench/sandbox_proc.py` (the sandbox on 127.0.0.1 and a free port) so the
benchmark's own client never shares an interpreter (or a GIL) with the upstream it measures.
The sandbox app is wrapped in a small ASGI layer, nothing in the sandbox itself changes:

- `--close`: every answer carries `Connection: close`, so uvicorn closes each connection after
  one response (an upstream that never keeps connections alive, like some proxies);
- frame stamps: for each streamed simulation whose request has a `first_message`, the wall-clock
  time (time.time()) its first non-empty body chunk was handed to the server is kept under that
  first_message; `GET /_bench/stamps` returns them as JSON. Client and sandbox run on the same
  machine, so receipt time minus this stamp is the latency from the upstream's frame to the
  client's progress notification;
- `--first-frame-delay S`: each stream's first frame waits S seconds (the live API thinks before
  its first turn; the sandbox answers at once, in the middle of a burst of calls being started).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BenchLayer:
    """ASGI wrapper: optional `Connection: close` on every answer, and first-frame stamps."""

    def __init__(
        self, app: ASGIApp, *, close_connections: bool, first_frame_delay: float = 0.0
    ) -> None:
        self.app = app
        self.close_connections = close_connections
        self.first_frame_delay = first_frame_delay
        self.stamps: dict[str, float] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/_bench/stamps":
            await _json_answer(send, self.stamps)
            return
        streamed = scope["path"].endswith("/simulate-conversation/stream")
        body = bytearray()
        stamped = False

        async def receive_and_keep() -> Message:
            message = await receive()
            if streamed and message["type"] == "http.request":
                body.extend(message.get("body", b""))
            return message

        async def send_marked(message: Message) -> None:
            nonlocal stamped
            if message["type"] == "http.response.start" and self.close_connections:
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"connection"]
                message["headers"] = [*headers, (b"connection", b"close")]
            if (
                streamed
                and not stamped
                and message["type"] == "http.response.body"
                and message.get("body")
            ):
                stamped = True
                marker = _marker(bytes(body))
                if self.first_frame_delay > 0:
                    await asyncio.sleep(self.first_frame_delay)
                await send(message)
                if marker:
                    self.stamps[marker] = time.time()
                return
            await send(message)

        await self.app(scope, receive_and_keep, send_marked)


def _marker(body: bytes) -> str | None:
    try:
        spec = json.loads(body)["simulation_specification"]
        first = spec["simulated_user_config"].get("first_message")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return first if isinstance(first, str) else None


async def _json_answer(send: Send, data: object) -> None:
    payload = json.dumps(data).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class SandboxProcess:
    """The bench sandbox as a child process; the context manager yields it once it listens."""

    def __init__(
        self,
        *,
        close_connections: bool = False,
        turn_delay: float = 0.0,
        max_concurrent: int = 10,
        first_frame_delay: float = 0.0,
    ) -> None:
        self.args = ["--turn-delay", str(turn_delay), "--max-concurrent", str(max_concurrent)]
        self.args += ["--first-frame-delay", str(first_frame_delay)]
        if close_connections:
            self.args.append("--close")
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.api_key = ""

    def __enter__(self) -> SandboxProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ELEVENLABS_")}
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *self.args],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the bench sandbox did not start")
        ready = json.loads(line)
        self.base_url, self.api_key = ready["base_url"], ready["api_key"]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stamps(self) -> dict[str, float]:
        import httpx2

        return httpx2.get(f"{self.base_url}/_bench/stamps", timeout=10).json()


def _serve(args: argparse.Namespace) -> None:
    import signal

    sys.path.insert(0, str(ROOT))
    from agents_mcp.sandbox import SandboxServer

    server = SandboxServer(turn_delay=args.turn_delay, max_concurrent=args.max_concurrent)
    server.app = BenchLayer(  # type: ignore[assignment]
        server.app, close_connections=args.close, first_frame_delay=args.first_frame_delay
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        async with server:
            print(json.dumps({"base_url": server.base_url, "api_key": server.api_key}), flush=True)
            await stop.wait()

    asyncio.run(main())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--close", action="store_true")
    parser.add_argument("--turn-delay", type=float, default=0.0)
    parser.add_argument("--max-concurrent", type=int, default=10)
    parser.add_argument("--first-frame-delay", type=float, default=0.0)
    _serve(parser.parse_args())
