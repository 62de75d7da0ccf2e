"""Run `agents-mcp serve --transport http` as a real subprocess on loopback, and talk to it with
the real MCP client (bearer token in the headers). Used by the tests in tests/e2e/http/."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

LISTENING = re.compile(r"listening on (http://[^\s/]+)/mcp")
TOKEN = "test-token-6f1c2a9e8b7d4c3f"
_OURS = ("ELEVENLABS_", "AGENTS_MCP_")


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any setting of ours, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    env.update(extra)
    return env


class Sidecar:
    """A server subprocess; `base` is http://127.0.0.1:PORT, `url` the MCP endpoint."""

    def __init__(self, argv: Sequence[str], env: dict[str, str]) -> None:
        self.argv = list(argv)
        self.env = env
        self.lines: list[str] = []
        self.proc: subprocess.Popen[str] | None = None
        self.base = ""
        self._reader: threading.Thread | None = None

    @classmethod
    def serve(cls, *extra: str, env: dict[str, str]) -> Sidecar:
        argv = [sys.executable, "-m", "agents_mcp", "serve", "--transport", "http"]
        return cls([*argv, "--host", "127.0.0.1", "--port", "0", *extra], env)

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    def log(self) -> str:
        return "\n".join(self.lines)

    def start(self, timeout: float = 30) -> Sidecar:
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not self.base:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not start in {timeout}s:\n{self.log()}")
            time.sleep(0.02)
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            found = LISTENING.search(line)
            if found and not self.base:
                self.base = found.group(1)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> tuple[int | None, float]:
        """Send `sig`; return (exit code, seconds it took). Kills it after `timeout`."""
        if self.proc is None or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None), 0.0
        started = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        elapsed = time.monotonic() - started
        if self._reader is not None:
            self._reader.join(timeout=5)
        return self.proc.returncode, elapsed

    def __enter__(self) -> Sidecar:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def auth_headers(token: str | None = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@asynccontextmanager
async def mcp_client(
    url: str, token: str | None = TOKEN, mode: str = "auto", **kw: Any
) -> AsyncIterator[Client]:
    """The MCP client over streamable HTTP, with the bearer token on every request."""
    timeout = httpx2.Timeout(30, read=120)
    async with (
        httpx2.AsyncClient(headers=auth_headers(token), timeout=timeout) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode, **kw) as client,
    ):
        yield client
