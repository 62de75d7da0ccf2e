"""The harness of the reliability tests (fault matrix, fuzzing, canary, leaks) and the soak bench.

- `RecordingSandbox`: the sandbox on loopback, keyed with the canary key, behind a thin ASGI layer
  that records every request as it arrived (raw path and query, routed or not), so a test can
  prove that no input reached an unexpected URL. It also counts the sandbox's open connections.
- `McpProcess`: the real server (`python -m agents_mcp serve`) as a stdio subprocess with the real
  MCP client, driven from synchronous tests through an anyio blocking portal (one event loop in a
  thread that owns the client for the process's whole life); `http_driver` does the same over
  streamable HTTP. Every result they hand back has been checked for the canary secrets already.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import anyio
import httpx2
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp.types import CallToolResult

from tests.support.fault_cases import MAX_RETRIES, REQUEST_TIMEOUT, STALL_TIMEOUT
from tests.support.mcp_fixture import stdio_server, text_of
from tests.support.sandbox_fixture import SandboxHandle

# Recognisable secrets: if one shows up anywhere a model or an operator can read, it leaked.
CANARY_KEY = "sk_CANARY_5f3a9c1e7b2d4860a1c3e5f7092b4d6f"
CANARY_WRONG_KEY = "sk_CANARY_WRONG_0e1d2c3b4a5968778695a4b3c2d1e0f9"
CANARY_TOKEN = "tok_CANARY_b7e2c91d04f86a35e9c1d7f2a4b6e803"
CANARIES = (CANARY_KEY, CANARY_WRONG_KEY, CANARY_TOKEN)
# Parts of the secrets, so that a clipped or partly redacted secret is caught as well.
_CANARY_PARTS = tuple(part for c in CANARIES for part in (c[-20:], c[:24]))

DEMO_AGENT = "agent_demo_support"
AGENTS_PATH = "/v1/convai/agents"
_ID = r"[A-Za-z0-9_-]{1,128}"
# Every URL the server may ever ask of the API: (method, path pattern).
KNOWN_ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (method, re.compile(pattern))
    for method, pattern in (
        ("DELETE", rf"{AGENTS_PATH}/{_ID}"),
        ("GET", rf"{AGENTS_PATH}/{_ID}"),  # delete_agent's question names the agent
        ("POST", rf"{AGENTS_PATH}/{_ID}/duplicate"),
        ("GET", rf"{AGENTS_PATH}/{_ID}/link"),
        ("POST", rf"{AGENTS_PATH}/{_ID}/simulate-conversation/stream"),
    )
)


class CanaryLeak(AssertionError):
    pass


def assert_no_canary(text: str, where: str) -> None:
    """Fail if any canary secret (or a recognisable part of one) is in `text`."""
    for secret in (*CANARIES, *_CANARY_PARTS):
        if secret in text:
            at = text.index(secret)
            excerpt = text[max(0, at - 80) : at + 20].replace(secret, "<CANARY>")
            raise CanaryLeak(f"a canary secret appeared in {where}: ...{excerpt}...")


def result_text(result: CallToolResult) -> str:
    """Everything a model can read in a tool result: the text blocks and the structured content."""
    structured = json.dumps(result.structured_content, ensure_ascii=False, default=str)
    return text_of(result) + "\n" + structured


def unexpected_paths(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The recorded requests whose method and raw path match no known route, or carry a query
    other than delete's `force=true`."""
    bad = []
    for entry in entries:
        ok = any(
            entry["method"] == method and pattern.fullmatch(entry["raw_path"])
            for method, pattern in KNOWN_ROUTES
        )
        query_ok = entry["query"] in ("", "force=true") and (
            entry["query"] == "" or entry["method"] == "DELETE"
        )
        if not (ok and query_ok):
            bad.append(entry)
    return bad


# --- the sandbox -----------------------------------------------------------------------------


class _Recorder:
    """ASGI layer in front of the sandbox app: records each HTTP request, passes it on unchanged
    (including the sandbox's return value, which tells uvicorn to drop a connection)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.state = inner.state  # the runner reaches the store through app.state
        self.seen: list[dict[str, Any]] = []
        self.echo_key_for: str | None = None  # agent id whose requests get the key echoed back

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope["path"].encode()
            path = raw.decode("latin-1").split("?", 1)[0]
            if not path.startswith("/_sandbox/"):
                self.seen.append(
                    {
                        "method": scope["method"],
                        "raw_path": path,
                        "query": scope.get("query_string", b"").decode("latin-1"),
                    }
                )
            if self.echo_key_for and self.echo_key_for in path:
                return await self._echo_key(scope, send)
        return await self.inner(scope, receive, send)

    async def _echo_key(self, scope: Any, send: Any) -> None:
        # A misbehaving upstream (or proxy) that quotes the key it received in its error.
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key = headers.get("xi-api-key", "")
        body = json.dumps(
            {"detail": {"status": "invalid_request", "message": f"bad request with key {key}"}}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"x-request-id", key.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RecordingSandbox(SandboxHandle):
    """A SandboxHandle on its own sandbox (canary key), with the recorder and connection counts."""

    def __init__(self, **options: Any) -> None:
        from agents_mcp.sandbox import SandboxServer

        options.setdefault("api_key", CANARY_KEY)
        options.setdefault("max_concurrent", 100)
        self._server = SandboxServer(**options)
        self.recorder = _Recorder(self._server.app)
        self._server.app = self.recorder  # served by uvicorn from here on
        self._server.__enter__()
        super().__init__(self._server)
        self._agents = 0

    def stop(self) -> None:
        self.close()
        self._server.__exit__(None, None, None)

    def __enter__(self) -> RecordingSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def seen(self) -> list[dict[str, Any]]:
        return list(self.recorder.seen)

    def clear_seen(self) -> None:
        self.recorder.seen.clear()

    def open_connections(self) -> int:
        """HTTP connections the sandbox holds open right now (uvicorn's own count)."""
        uv = self._server._server
        return len(uv.server_state.connections) if uv is not None else 0

    def running_simulations(self) -> int:
        return int(self.status()["running_simulations"])

    def agent_count(self) -> int:
        return int(self.status()["agents"])

    def new_agent(self, name: str = "reliability copy") -> str:
        """A fresh copy of the demo agent (made directly, not through the server)."""
        made = self._call("POST", f"{AGENTS_PATH}/{DEMO_AGENT}/duplicate", json={"name": name})
        return made["agent_id"]

    def agents_named(self, name: str) -> int:
        """How many agents carry this name (read from the sandbox's store, not over HTTP)."""
        store = self.recorder.state.sandbox.store
        return sum(1 for i in store.ids() if (store.get(i) or {}).get("name") == name)

    def agent_exists(self, agent_id: str) -> bool:
        return self.recorder.state.sandbox.store.get(agent_id) is not None

    def wait_until(self, check: Callable[[], bool], timeout: float) -> float | None:
        """Seconds until `check()` held, or None if it did not within `timeout`."""
        start = time.monotonic()
        while True:
            if check():
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                return None
            time.sleep(0.01)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(
    base_url: str,
    data_dir: Path,
    *,
    api_key: str | None = CANARY_KEY,
    **extra: str,
) -> dict[str, str]:
    """The environment of a server under test: canary key and token, fast failure settings."""
    env = {
        "ELEVENLABS_BASE_URL": base_url,
        "ELEVENLABS_API_KEY": api_key or "",
        "AGENTS_MCP_AUTH_TOKEN": CANARY_TOKEN,
        "AGENTS_MCP_DATA_DIR": str(data_dir),
        "AGENTS_MCP_MAX_RETRIES": str(MAX_RETRIES),
        "AGENTS_MCP_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT),
        "AGENTS_MCP_STALL_TIMEOUT": str(STALL_TIMEOUT),
        "AGENTS_MCP_LOG_LEVEL": "DEBUG",  # the most verbose logs are the likeliest to leak
    }
    env.update(extra)
    return env


# --- the server process ------------------------------------------------------------------------


class McpDriver:
    """An MCP client for synchronous code: its own event loop in a thread (a blocking portal).

    `connect` returns the async context manager that opens the client (it may yield the client
    or a (client, log) pair)."""

    def __init__(self, connect: Callable[[], AbstractAsyncContextManager[Any]]) -> None:
        self._connect = connect
        self._stack = contextlib.ExitStack()
        self.portal: BlockingPortal | None = None
        self.client: Any = None
        self._log: Any = None
        self.pid: int | None = None
        self.calls = 0

    def __enter__(self) -> McpDriver:
        self.portal = self._stack.enter_context(start_blocking_portal())
        got = self._stack.enter_context(self.portal.wrap_async_context_manager(self._connect()))
        self.client, self._log = got if isinstance(got, tuple) else (got, None)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    # --- calls -----------------------------------------------------------------------------

    def call(
        self,
        tool: str,
        arguments: dict[str, Any] | None,
        *,
        timeout: float = 30,
        progress: Callable[..., Any] | None = None,
    ) -> CallToolResult:
        """Call a tool; fails the test if it takes longer than `timeout` or leaks a canary."""
        assert self.portal is not None

        async def run() -> CallToolResult:
            with anyio.fail_after(timeout):
                return await self.client.call_tool(tool, arguments, progress_callback=progress)

        self.calls += 1
        result = self.portal.call(run)
        assert_no_canary(result_text(result), f"the result of {tool}")
        return result

    def call_and_cancel(self, tool: str, arguments: dict[str, Any], after: float) -> bool:
        """Start a call and abandon it after `after` s (the client sends notifications/cancelled).
        Returns True if it was still running when abandoned."""
        assert self.portal is not None

        async def run() -> bool:
            with anyio.move_on_after(after) as scope:
                result = await self.client.call_tool(tool, arguments)
                assert_no_canary(result_text(result), f"the result of {tool}")
            return scope.cancelled_caught

        self.calls += 1
        return self.portal.call(run)

    def read_resource(self, uri: str, timeout: float = 10) -> str:
        assert self.portal is not None

        async def run() -> str:
            with anyio.fail_after(timeout):
                res = await self.client.read_resource(uri)
            return "\n".join(getattr(c, "text", "") or "" for c in res.contents)

        text = self.portal.call(run)
        assert_no_canary(text, f"the resource {uri}")
        return text

    def ping(self, timeout: float = 5) -> bool:
        """A round trip to the server (tools/list, never from the client's cache)."""
        assert self.portal is not None

        async def run() -> bool:
            with anyio.fail_after(timeout):
                listed = await self.client.list_tools(cache_mode="bypass")
            return bool(listed.tools)

        return self.portal.call(run)

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run an async function on the client's event loop."""
        assert self.portal is not None
        return self.portal.call(fn, *args)

    def stderr(self) -> str:
        return self._log.text() if self._log is not None else ""

    def alive(self) -> bool:
        if self.pid is None:
            return self.ping()
        return Path(f"/proc/{self.pid}").exists() and self.ping()

    def rss_kib(self) -> int | None:
        return rss_kib(self.pid) if self.pid else None


class McpProcess(McpDriver):
    """`python -m agents_mcp serve` over stdio with the MCP client."""

    def __init__(
        self, env: Mapping[str, str], log_dir: Path | None = None, args: tuple[str, ...] = ()
    ) -> None:
        self.env = dict(env)
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="agents-mcp-rel-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(
            lambda: stdio_server(self.env, *args, log_dir=self.log_dir, read_timeout_seconds=60)
        )

    def __enter__(self) -> McpProcess:
        before = set(_children())
        super().__enter__()
        new = [pid for pid in _children() if pid not in before]
        self.pid = new[0] if new else None
        return self


def http_driver(url: str, token: str | None) -> McpDriver:
    """The MCP client over streamable HTTP (bearer token on every request)."""
    from tests.support.http_sidecar import mcp_client

    return McpDriver(lambda: mcp_client(url, token))


def _children() -> list[int]:
    """Pids of this process's children that run agents_mcp (Linux /proc)."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == me and b"agents_mcp" in cmdline:
            found.append(int(entry.name))
    return found


def rss_kib(pid: int) -> int | None:
    """Resident memory of a process in KiB (Linux), None when unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@contextlib.contextmanager
def recording_sandbox(**options: Any) -> Iterator[RecordingSandbox]:
    sb = RecordingSandbox(**options)
    try:
        yield sb
    finally:
        sb.stop()


def simulation_document(server: McpProcess, simulation_id: str) -> dict[str, Any]:
    """The stored simulation, read through the `simulation://` resource."""
    return json.loads(server.read_resource(f"simulation://{simulation_id}"))


def http_client_for(sandbox: RecordingSandbox) -> httpx2.Client:
    return httpx2.Client(base_url=sandbox.base_url, headers=sandbox.headers(), timeout=10)
