"""The HTTP sidecar over real HTTP on loopback: a `serve --transport http` subprocess against the
session sandbox, driven by the real MCP client (and raw HTTP where the client cannot misbehave)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import anyio
import httpx2
import pytest

from agents_mcp import __version__
from agents_mcp.tools.registry import tool_names
from tests.support.http_sidecar import TOKEN, Sidecar, auth_headers, clean_env, mcp_client

TOOLS = set(tool_names())
DEMO = "agent_demo_support"
MODERN = "2026-07-28"


def sidecar_env(sandbox, data_dir, **extra: str) -> dict[str, str]:
    return clean_env(
        ELEVENLABS_BASE_URL=sandbox.base_url,
        ELEVENLABS_API_KEY=sandbox.api_key,
        AGENTS_MCP_AUTH_TOKEN=TOKEN,
        AGENTS_MCP_DATA_DIR=str(data_dir),
        **extra,
    )


@pytest.fixture(scope="module")
def sidecar(sandbox, tmp_path_factory):
    env = sidecar_env(sandbox, tmp_path_factory.mktemp("sims"), AGENTS_MCP_LOG_JSON="1")
    with Sidecar.serve(env=env) as server:
        yield server


def rpc(method: str, params: dict | None = None, id_: int = 1) -> dict:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params or {}}


INITIALIZE = {
    "protocolVersion": "2025-06-18",
    "capabilities": {},
    "clientInfo": {"name": "t", "version": "0"},
}


def post(
    server: Sidecar, body: dict, headers: dict | None = None, modern: bool = True
) -> httpx2.Response:
    base = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if modern:
        base["MCP-Protocol-Version"] = MODERN
    return httpx2.post(server.url, json=body, headers={**base, **(headers or {})}, timeout=10)


def log_entries(server: Sidecar) -> list[dict]:
    out = []
    for line in server.lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            out.append(entry)
    return out


# --- probes ------------------------------------------------------------------------------------


def test_healthz_and_readyz_answer_without_a_token(sidecar, sandbox):
    health = httpx2.get(f"{sidecar.base}/healthz", timeout=5)
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "version": __version__}
    assert len(health.headers["x-request-id"]) == 32

    ready = httpx2.get(f"{sidecar.base}/readyz", timeout=5)
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["upstream"]["base_url"] == sandbox.base_url
    assert body["upstream"]["api_key_set"] is True
    assert sandbox.api_key not in ready.text and TOKEN not in ready.text


# --- auth --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_no_token_or_a_wrong_one_gets_401_and_changes_nothing(sidecar, fresh_sandbox):
    delete = rpc(
        "tools/call", {"name": "delete_agent", "arguments": {"agent_id": DEMO, "confirm": True}}
    )
    initialize = rpc("initialize", INITIALIZE)
    for headers in (
        {},
        auth_headers("wrong-token"),
        auth_headers(TOKEN + "x"),
        auth_headers(TOKEN[:-1]),
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ):
        for body in (initialize, delete):
            response = post(sidecar, body, headers)
            assert response.status_code == 401, (headers, response.text)
            assert response.headers["www-authenticate"].startswith("Bearer ")
            assert "x-request-id" in response.headers
            assert "mcp-session-id" not in response.headers

    # the real client, with a wrong token, cannot connect at all
    with pytest.raises(Exception):  # noqa: B017 - the SDK wraps the 401 in its own errors
        async with mcp_client(sidecar.url, token="wrong-token") as client:
            await client.call_tool("delete_agent", {"agent_id": DEMO, "confirm": True})

    assert fresh_sandbox.requests() == []  # nothing reached the API
    async with mcp_client(sidecar.url) as client:  # and the agent is still there
        link = await client.call_tool("get_agent_link", {"agent_id": DEMO})
    assert not link.is_error, link.content
    assert link.structured_content["agent_id"] == DEMO
    denied = [e for e in log_entries(sidecar) if e.get("status") == 401]
    assert denied and all(e["auth"] in ("missing", "invalid") for e in denied)


# --- every tool, both protocol eras ------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28 (sessionless) and handshake era
async def test_every_tool_works_with_the_token(sidecar, fresh_sandbox, mode):
    fresh_sandbox.configure(turn_delay=0.02)
    progress: list[tuple[float, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    async with mcp_client(sidecar.url, mode=mode) as client:
        assert (client.protocol_version == MODERN) is (mode == "auto")
        tools = await client.list_tools()
        assert {t.name for t in tools.tools} == TOOLS

        link = await client.call_tool("get_agent_link", {"agent_id": DEMO})
        assert not link.is_error, link.content
        assert link.structured_content["url"].startswith("http")

        copy = await client.call_tool("duplicate_agent", {"agent_id": DEMO, "name": f"http {mode}"})
        assert not copy.is_error, copy.content
        new_id = copy.structured_content["agent_id"]
        assert new_id != DEMO

        deleted = await client.call_tool("delete_agent", {"agent_id": new_id, "confirm": True})
        assert not deleted.is_error, deleted.content
        assert deleted.structured_content["deleted"] is True
        gone = await client.call_tool("get_agent_link", {"agent_id": new_id})
        assert gone.is_error

        sim = await client.call_tool(
            "simulate_conversation",
            {
                "agent_id": DEMO,
                "user_prompt": "I want a refund for order 1234.",
                "wait_seconds": 50,
            },
            progress_callback=on_progress,
        )
        assert not sim.is_error, sim.content
        assert sim.structured_content["status"] == "done"
        sim_id = sim.structured_content["simulation_id"]
        assert len(progress) >= 2, progress  # one notification per streamed frame
        values = [v for v, _ in progress]
        assert values == sorted(values) and len(set(values)) == len(values)

        again = await client.call_tool("get_simulation", {"simulation_id": sim_id})
        assert again.structured_content["status"] == "done"
        resource = await client.read_resource(f"simulation://{sim_id}")
        document = json.loads(resource.contents[0].text)
        assert document["simulation_id"] == sim_id and document["simulated_conversation"]

    paths = [r["path"] for r in fresh_sandbox.requests()]
    assert any(p.endswith("/duplicate") for p in paths)
    assert any(p.endswith("/simulate-conversation/stream") for p in paths)


# --- request log -------------------------------------------------------------------------------


def test_request_id_is_echoed_and_logged_as_json(sidecar):
    response = httpx2.get(f"{sidecar.base}/healthz", headers={"X-Request-Id": "trace-42.a"})
    assert response.headers["x-request-id"] == "trace-42.a"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        hits = [e for e in log_entries(sidecar) if e.get("request_id") == "trace-42.a"]
        if hits:
            break
        time.sleep(0.05)
    assert len(hits) == 1
    entry = hits[0]
    assert entry["path"] == "/healthz" and entry["status"] == 200 and entry["method"] == "GET"
    assert entry["logger"] == "agents_mcp.http" and "duration_ms" in entry
    calls = [e for e in log_entries(sidecar) if e.get("rpc") == "tools/call"]
    assert calls and all("tool" in e for e in calls)
    assert TOKEN not in sidecar.log()


# --- transport guards --------------------------------------------------------------------------


def test_bad_host_or_origin_is_rejected_even_with_the_token(sidecar):
    for modern, body in ((True, rpc("tools/list")), (False, rpc("initialize", INITIALIZE))):
        bad_host = post(sidecar, body, {**auth_headers(), "Host": "evil.example:80"}, modern)
        assert bad_host.status_code == 421
        evil = {**auth_headers(), "Origin": "http://evil.example"}
        assert post(sidecar, body, evil, modern).status_code == 403
    local = {**auth_headers(), "Origin": f"http://localhost:{sidecar.port}"}
    good = post(sidecar, rpc("initialize", INITIALIZE), local, modern=False)
    assert good.status_code == 200 and "mcp-session-id" in good.headers


def test_oversized_body_gets_413(sidecar):
    big = rpc("tools/call", {"name": "get_agent_link", "arguments": {"agent_id": "x" * 1_200_000}})
    response = post(sidecar, big, auth_headers())
    assert response.status_code == 413
    assert post(sidecar, big).status_code == 401  # without the token, auth answers first


def test_unknown_paths_are_404_and_probes_refuse_writes(sidecar):
    assert httpx2.get(f"{sidecar.base}/nope", headers=auth_headers()).status_code == 404
    assert httpx2.post(f"{sidecar.base}/healthz").status_code == 405


# --- start-up refusals -------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1"])
def test_non_loopback_bind_without_token_refuses_to_start(host, tmp_path):
    argv = ["-m", "agents_mcp", "serve", "--transport", "http", "--host", host, "--port", "0"]
    done = subprocess.run(
        [sys.executable, *argv],
        env=clean_env(AGENTS_MCP_DATA_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "AGENTS_MCP_AUTH_TOKEN" in done.stderr and host in done.stderr
    assert "listening" not in done.stderr


def test_short_request_state_key_refuses_to_start(sandbox, tmp_path):
    env = sidecar_env(sandbox, tmp_path, AGENTS_MCP_REQUEST_STATE_KEYS="k3yZ")
    server = Sidecar.serve(env=env)
    with pytest.raises(RuntimeError, match="exited with 2"):
        server.start()
    assert "AGENTS_MCP_REQUEST_STATE_KEYS" in server.log() and "k3yZ" not in server.log()


# --- limits across clients, shutdown -----------------------------------------------------------


@pytest.mark.anyio
async def test_simulation_limit_applies_across_clients(fresh_sandbox, tmp_path):
    """One SimulationManager per process: 1 runs, 4 wait, a 6th (another client) is refused."""
    fresh_sandbox.configure(turn_delay=0.5)
    env = sidecar_env(fresh_sandbox, tmp_path, AGENTS_MCP_MAX_CONCURRENT_SIMULATIONS="1")
    args = {"agent_id": DEMO, "user_prompt": "hello", "wait_seconds": 0}
    with Sidecar.serve(env=env) as server:
        statuses = []
        for _ in range(6):  # a fresh client (its own session) each time
            async with mcp_client(server.url, mode="legacy") as client:
                statuses.append(await client.call_tool("simulate_conversation", args))
        assert [r.is_error for r in statuses] == [False] * 5 + [True]
        assert "Too many simulations" in statuses[-1].content[0].text
        code, elapsed = server.stop()
    assert code == 0 and elapsed < 10


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_sigterm_during_a_simulation_exits_in_time_with_the_partial_result_stored(
    fresh_sandbox, tmp_path, mode
):
    fresh_sandbox.configure(turn_delay=0.4)
    env = sidecar_env(fresh_sandbox, tmp_path)
    frames: list[float] = []
    two_frames, finished = anyio.Event(), anyio.Event()
    outcome: dict[str, object] = {}

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        frames.append(value)
        if len(frames) >= 2:
            two_frames.set()

    server = Sidecar.serve(env=env).start()
    try:
        async with mcp_client(server.url, mode=mode) as client:
            started = await client.call_tool(
                "simulate_conversation",
                {"agent_id": DEMO, "user_prompt": "Long complaint.", "wait_seconds": 0},
            )
            sim_id = started.structured_content["simulation_id"]

            async def wait_for_it() -> None:
                try:
                    outcome["result"] = await client.call_tool(
                        "get_simulation",
                        {"simulation_id": sim_id, "wait_seconds": 120},
                        progress_callback=on_progress,
                    )
                except Exception as exc:
                    outcome["error"] = exc
                finished.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(wait_for_it)
                with anyio.fail_after(20):
                    await two_frames.wait()
                code, elapsed = await anyio.to_thread.run_sync(server.stop)
                with anyio.fail_after(15):
                    await finished.wait()
    finally:
        server.stop(signal.SIGKILL)
    assert code == 0, server.log()
    assert elapsed < 10, elapsed
    # the waiting call got a real answer: interrupted, with its id and the turns so far
    assert "error" not in outcome, outcome
    answer = outcome["result"].structured_content
    assert answer["simulation_id"] == sim_id and answer["status"] == "cancelled"
    assert "shutting down" in "".join(part.text for part in outcome["result"].content)
    assert "interrupted 1 running simulation" in server.log()

    # a new process on the same data dir finds the partial result
    with Sidecar.serve(env=env) as again:
        async with mcp_client(again.url) as client:
            stored = await client.call_tool("get_simulation", {"simulation_id": sim_id})
            resource = await client.read_resource(f"simulation://{sim_id}")
    assert stored.structured_content["status"] in ("failed", "cancelled")
    document = json.loads(resource.contents[0].text)
    assert document["status"] == stored.structured_content["status"]
    assert document["simulated_conversation"], "the turns received before SIGTERM are kept"
    assert document["analysis"] is None
    assert fresh_sandbox.status()["running_simulations"] == 0  # the upstream stream was closed


@pytest.mark.anyio
async def test_sigterm_cuts_a_stuck_call_and_takes_no_new_ones(fresh_sandbox, tmp_path):
    """A call stuck on a stalled upstream does not hold the shutdown: it is cut after the drain
    grace (3 s), and no new connection is accepted meanwhile."""
    fresh_sandbox.arm_fault("stall", match={"path_suffix": "/link"}, seconds=8)
    server = Sidecar.serve(env=sidecar_env(fresh_sandbox, tmp_path)).start()
    outcome: dict[str, object] = {}

    def upstream_reached() -> bool:
        return any(r["path"].endswith("/link") for r in fresh_sandbox.requests())

    try:
        async with mcp_client(server.url) as client:

            async def call_stuck() -> None:
                try:
                    outcome["result"] = await client.call_tool("get_agent_link", {"agent_id": DEMO})
                except Exception as exc:
                    outcome["error"] = exc

            async with anyio.create_task_group() as tg:
                tg.start_soon(call_stuck)
                with anyio.fail_after(10):
                    while not upstream_reached():  # noqa: ASYNC110 - polling another process
                        await anyio.sleep(0.05)
                server.proc.send_signal(signal.SIGTERM)
                await anyio.sleep(0.3)
                async with httpx2.AsyncClient(timeout=5) as http:
                    with pytest.raises(httpx2.ConnectError):
                        await http.get(f"{server.base}/healthz")
                code, elapsed = await anyio.to_thread.run_sync(server.stop)
    finally:
        server.stop(signal.SIGKILL)
    assert code == 0, server.log()
    assert 2 < elapsed + 0.3 < 10, elapsed  # the drain grace, not the 8 s upstream stall
    assert "error" in outcome  # the stuck call ended (cut) instead of hanging
    assert "Traceback" not in server.log()
