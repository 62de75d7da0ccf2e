"""Cancellation, shutdown and leaks: nothing is left behind upstream or in the server.

- Over stdio (the real process): cancelling simulate_conversation (MCP cancellation) or asking
  cancel_simulation releases the upstream stream within a second, as seen by the sandbox
  (its open connections and its running simulations); closing the server during a simulation
  releases it too and keeps the partial result.
- In process (in-memory client, for speed): after 1,000 mixed calls, concurrent, with failures
  and cancellations, the server holds no upstream connection beyond its keep-alive pool, none in
  use, no running simulation job, and no task beyond those it had after warm-up.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.support.mcp_fixture import text_of
from tests.support.reliability import (
    DEMO_AGENT,
    McpProcess,
    RecordingSandbox,
    assert_no_canary,
    result_text,
    server_env,
    simulation_document,
)

pytestmark = pytest.mark.timeout(180)
RELEASE_WITHIN = 1.0  # seconds from cancellation to the upstream connection being closed
SLOW_TURN = 0.25  # the sandbox's pause between streamed turns: a simulation lasts seconds


def _released(sandbox: RecordingSandbox, baseline: int) -> bool:
    return sandbox.running_simulations() == 0 and sandbox.open_connections() <= baseline


def _wait_streaming(sandbox: RecordingSandbox, baseline: int) -> None:
    took = sandbox.wait_until(
        lambda: sandbox.running_simulations() == 1 and sandbox.open_connections() > baseline, 10
    )
    assert took is not None, "the simulation stream never started"
    time.sleep(3 * SLOW_TURN)  # a few frames in: there is a partial transcript to keep


# --- over stdio -----------------------------------------------------------------------------


def test_cancelled_simulate_call_releases_the_stream_within_a_second(
    sandbox: RecordingSandbox, tmp_path: Path
) -> None:
    sandbox.reset()
    sandbox.configure(turn_delay=SLOW_TURN)
    with McpProcess(server_env(sandbox.base_url, tmp_path), log_dir=tmp_path) as server:
        baseline = sandbox.open_connections()  # this test's own admin connection
        assert server.portal is not None
        call = server.portal.start_task_soon(
            server.client.call_tool,
            "simulate_conversation",
            {"agent_id": DEMO_AGENT, "user_prompt": "a slow caller", "wait_seconds": 30},
        )
        _wait_streaming(sandbox, baseline)
        cancelled_at = time.monotonic()
        call.cancel()  # the client abandons the request: notifications/cancelled
        took = sandbox.wait_until(lambda: _released(sandbox, baseline), 5)
        assert took is not None, "the upstream stream was never released"
        assert took < RELEASE_WITHIN, f"released after {took:.2f} s"
        assert time.monotonic() - cancelled_at < 5

        # the job is stopped and its partial transcript kept
        found = server.portal.call(
            _wait_for_log, server, r"simulation (sim_[0-9a-f]{16}) cancelled"
        )
        doc = simulation_document(server, found)
        assert doc["status"] == "cancelled" and doc["simulated_conversation"], doc["status"]
        frames_then = len(sandbox.requests())
        time.sleep(3 * SLOW_TURN)
        assert len(sandbox.requests()) == frames_then == 1  # not restarted, not retried
    assert_no_canary(server.stderr(), "the server's stderr")


async def _wait_for_log(server: McpProcess, pattern: str, within: float = 5) -> str:
    with anyio.fail_after(within):
        while True:
            found = re.search(pattern, server.stderr())
            if found:
                return found.group(1)
            await anyio.sleep(0.02)


def test_cancel_simulation_releases_the_stream_within_a_second(
    sandbox: RecordingSandbox, tmp_path: Path
) -> None:
    sandbox.reset()
    sandbox.configure(turn_delay=SLOW_TURN)
    with McpProcess(server_env(sandbox.base_url, tmp_path), log_dir=tmp_path) as server:
        baseline = sandbox.open_connections()
        started = server.call(
            "simulate_conversation",
            {"agent_id": DEMO_AGENT, "user_prompt": "a slow caller", "wait_seconds": 0},
        )
        sim_id = started.structured_content["simulation_id"]
        _wait_streaming(sandbox, baseline)
        asked = time.monotonic()
        stopped = server.call("cancel_simulation", {"simulation_id": sim_id})
        took = sandbox.wait_until(lambda: _released(sandbox, baseline), 5)
        assert took is not None and time.monotonic() - asked < RELEASE_WITHIN + 0.5
        assert stopped.structured_content["status"] == "cancelled", text_of(stopped)
        doc = simulation_document(server, sim_id)
        assert doc["status"] == "cancelled" and doc["simulated_conversation"]


def test_closing_the_server_mid_simulation_releases_the_stream_and_keeps_the_turns(
    sandbox: RecordingSandbox, tmp_path: Path
) -> None:
    sandbox.reset()
    sandbox.configure(turn_delay=SLOW_TURN)
    env = server_env(sandbox.base_url, tmp_path)
    baseline = sandbox.open_connections()
    with McpProcess(env, log_dir=tmp_path / "first") as server:
        started = server.call(
            "simulate_conversation",
            {"agent_id": DEMO_AGENT, "user_prompt": "a slow caller", "wait_seconds": 0},
        )
        sim_id = started.structured_content["simulation_id"]
        _wait_streaming(sandbox, baseline)
        closing = time.monotonic()
    # the client closed the server's stdin; the server stops its jobs and exits
    took = sandbox.wait_until(lambda: _released(sandbox, baseline), 5)
    assert took is not None, "the upstream stream outlived the server"
    assert time.monotonic() - closing < 4  # stdin closed -> exited, well before any SIGKILL
    with McpProcess(env, log_dir=tmp_path / "second") as again:
        doc = simulation_document(again, sim_id)
        assert doc["status"] == "failed" and doc["simulated_conversation"], doc["status"]
        shown = again.call("get_simulation", {"simulation_id": sim_id})
        assert "failed" in text_of(shown)


# --- in process: 1,000 mixed calls ------------------------------------------------------------

CALLS = 1000
WORKERS = 8


class Spy:
    """Keeps a reference to the real objects the server's lifespan creates (no behaviour
    changed), so the test can look at the HTTP pool and the simulation jobs afterwards."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import agents_mcp.api as api_module
        import agents_mcp.simulations as simulations_module

        self.http: list[Any] = []
        self.managers: list[Any] = []
        real_client = api_module.create_http_client
        real_manager = simulations_module.SimulationManager

        def create_http_client(*args: Any, **kwargs: Any) -> Any:
            client = real_client(*args, **kwargs)
            self.http.append(client)
            return client

        def manager(*args: Any, **kwargs: Any) -> Any:
            made = real_manager(*args, **kwargs)
            self.managers.append(made)
            return made

        monkeypatch.setattr(api_module, "create_http_client", create_http_client)
        monkeypatch.setattr(simulations_module, "SimulationManager", manager)

    def pool(self) -> Any:
        return self.http[0]._transport._pool


class Mix:
    """Chooses and runs the calls; counts what happened."""

    def __init__(self, client: Client, sandbox: RecordingSandbox, agents: dict[str, list[str]]):
        self.client = client
        self.sandbox = sandbox
        self.agents = agents
        self.outcomes: dict[str, int] = {}
        self.sims: list[str] = []
        self.rng = random.Random(7)
        self.cancel_requests = 0

    def count(self, what: str) -> None:
        self.outcomes[what] = self.outcomes.get(what, 0) + 1

    async def call(self, tool: str, args: dict[str, Any]) -> Any:
        result = await self.client.call_tool(tool, args)
        assert_no_canary(result_text(result), tool)
        assert "Unexpected internal error" not in text_of(result), text_of(result)
        self.count(f"{tool}:{'error' if result.is_error else 'ok'}")
        return result

    async def one(self, i: int) -> None:
        kind = i % 20
        pick = self.rng.choice
        if kind in (0, 1, 2):
            await self.call("get_agent_link", {"agent_id": pick(self.agents["clean"])})
        elif kind == 3:
            await self.call("get_agent_link", {"agent_id": "agent_missing_0000"})
        elif kind == 4:
            await self.call("get_agent_link", {"agent_id": "../../v1/user"})
        elif kind == 5:
            await self.call("get_agent_link", {"agent_id": pick(self.agents["broken"])})
        elif kind in (6, 7):
            made = await self.call("duplicate_agent", {"agent_id": DEMO_AGENT})
            copy = (made.structured_content or {}).get("agent_id")
            if copy and i % 4 == 2:
                await self.call("delete_agent", {"agent_id": copy, "confirm": True})
        elif kind == 8:
            await self.call("duplicate_agent", {"agent_id": pick(self.agents["http_500"])})
        elif kind in (9, 10):
            got = await self.call(
                "simulate_conversation",
                {"agent_id": pick(self.agents["clean"]), "user_prompt": "x", "wait_seconds": 10},
            )
            self.sims.append(got.structured_content["simulation_id"])
        elif kind == 11:
            bad = pick(["drop", "malformed", "http_500", "no_analysis"])
            await self.call(
                "simulate_conversation",
                {"agent_id": pick(self.agents[bad]), "user_prompt": "x", "wait_seconds": 10},
            )
        elif kind in (12, 13):
            # cancelled while the (stalled) stream is open
            with anyio.move_on_after(0.05 + self.rng.random() * 0.1) as scope:
                await self.client.call_tool(
                    "simulate_conversation",
                    {"agent_id": pick(self.agents["stall"]), "user_prompt": "x"},
                )
            self.count("simulate_conversation:cancelled" if scope.cancelled_caught else "late")
        elif kind == 14:
            started = await self.call(
                "simulate_conversation",
                {"agent_id": pick(self.agents["stall"]), "user_prompt": "x", "wait_seconds": 0},
            )
            sim_id = started.structured_content["simulation_id"]
            await anyio.sleep(0.02)
            self.cancel_requests += 1
            await self.call("cancel_simulation", {"simulation_id": sim_id})
        elif kind in (15, 16, 17) and self.sims:
            detail = pick(["summary", "transcript", "full"])
            await self.call("get_simulation", {"simulation_id": pick(self.sims), "detail": detail})
        elif kind == 18:
            await self.call("get_simulation", {"simulation_id": "sim_0000000000000000"})
        else:
            await self.call("delete_agent", {"agent_id": pick(self.agents["clean"])})  # unconfirmed


def _prepare_agents(sandbox: RecordingSandbox) -> dict[str, list[str]]:
    faults = {
        "http_500": {"fault": "http_500"},
        "drop": {"fault": "drop_mid_stream", "after_frames": 2},
        "malformed": {"fault": "malformed_frame", "after_frames": 2},
        "no_analysis": {"fault": "no_analysis"},
        # stalls outlast the test's stall timeout: only a cancellation ends these jobs early
        "stall": {"fault": "stall", "seconds": 8.0, "after_frames": 1},
        "broken": {"fault": "drop_connection"},
    }
    agents: dict[str, list[str]] = {"clean": [sandbox.new_agent(f"clean {i}") for i in range(4)]}
    for name, spec in faults.items():
        agents[name] = []
        for i in range(3):
            agent = sandbox.new_agent(f"{name} {i}")
            params = dict(spec)
            fault = params.pop("fault")
            sandbox.arm_fault(fault, match={"path_contains": agent}, times=None, **params)
            agents[name].append(agent)
    return agents


def _tasks() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if not t.done()}


@pytest.mark.anyio
async def test_a_thousand_mixed_calls_leave_no_connections_or_tasks(
    sandbox: RecordingSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents_mcp.server import build_server
    from agents_mcp.settings import load_settings

    await anyio.to_thread.run_sync(sandbox.reset)
    agents = await anyio.to_thread.run_sync(_prepare_agents, sandbox)
    env = server_env(
        sandbox.base_url,
        tmp_path,
        AGENTS_MCP_MAX_RETRIES="0",
        AGENTS_MCP_STALL_TIMEOUT="20",
        AGENTS_MCP_MAX_STORED_SIMULATIONS="5000",
    )
    settings = load_settings(env=env)
    spy = Spy(monkeypatch)
    baseline_upstream = await anyio.to_thread.run_sync(sandbox.open_connections)

    async with Client(build_server(settings)) as client:
        mix = Mix(client, sandbox, agents)
        for i in range(20):  # warm-up: every kind of call once
            await mix.one(i)
        await _settle(spy)
        tasks_after_warmup = _tasks()

        started = time.monotonic()
        calls = iter(range(20, 20 + CALLS))

        async def worker() -> None:
            for i in calls:
                await mix.one(i)

        async with anyio.create_task_group() as tg:
            for _ in range(WORKERS):
                tg.start_soon(worker)
        elapsed = time.monotonic() - started
        await _settle(spy, within=3)  # cancelled jobs end at once; nothing else is left

        # the server: no job left, the pool within its keep-alive limit and idle
        manager = spy.managers[0]
        assert manager._jobs == {}, list(manager._jobs)
        # every stalled simulation ended by its cancellation (a stall outlasts the test)
        records = [await manager.store.get(i) for i in await manager.store.ids()]
        stalled = [r for r in records if r is not None and r.agent_id in mix.agents["stall"]]
        assert all(r.status == "cancelled" for r in stalled), [r.status for r in stalled]
        cancelled = len(stalled)
        asked = mix.outcomes.get("simulate_conversation:cancelled", 0) + mix.cancel_requests
        # a client may give up before the server has created the simulation (no record then);
        # cancel_simulation always names one that exists
        assert mix.cancel_requests <= cancelled <= asked, (cancelled, asked)
        pool = spy.pool()
        limit = pool._max_keepalive_connections
        assert len(pool.connections) <= limit, pool.connections
        assert all(not c.is_closed() and c.is_idle() for c in pool.connections), pool.connections
        assert not pool._requests, "requests still waiting for a connection"
        leftover = _tasks() - tasks_after_warmup
        assert not leftover, sorted(t.get_name() for t in leftover)
        assert len(_tasks()) <= len(tasks_after_warmup)

        # the sandbox sees no more connections than the pool may keep
        upstream = await anyio.to_thread.run_sync(sandbox.open_connections)
        assert upstream - baseline_upstream <= limit, (upstream, baseline_upstream, limit)
        total = sum(mix.outcomes.values())
        print(
            f"\n{total} calls in {elapsed:.1f} s with {WORKERS} workers: {mix.outcomes}; "
            f"pool {len(pool.connections)} idle connections (keep-alive limit {limit}); "
            f"{len(_tasks())} tasks (after warm-up {len(tasks_after_warmup)})"
        )
        assert total >= CALLS
        assert mix.outcomes.get("simulate_conversation:cancelled", 0) >= 50
        assert mix.outcomes.get("simulate_conversation:error", 0) >= 20

    # the server is closed: every upstream connection it had is gone
    await anyio.sleep(0.2)
    closed = await anyio.to_thread.run_sync(
        sandbox.wait_until, lambda: sandbox.open_connections() <= baseline_upstream, 2
    )
    assert closed is not None, sandbox.open_connections()
    assert pool.connections == []


async def _settle(spy: Spy, within: float = 10) -> None:
    """Wait until the simulation jobs are over (cancelled ones close within a second)."""
    with anyio.fail_after(within):
        while spy.managers and spy.managers[0]._jobs:  # noqa: ASYNC110 (polling its state)
            await anyio.sleep(0.02)
    await anyio.sleep(0.1)
