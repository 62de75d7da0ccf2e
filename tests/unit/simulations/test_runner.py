"""SimulationManager in process, with the real API client against the sandbox over HTTP:
the concurrency bound, waiting, and what a stopping server keeps."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from agents_mcp.api import AgentsAPI
from agents_mcp.settings import load_settings
from agents_mcp.simulations import SimulationBusyError, SimulationManager
from agents_mcp.simulations.request import build_request
from agents_mcp.simulations.store import INTERRUPTED, SimulationStore

pytestmark = pytest.mark.anyio
AGENT = "agent_demo_support"


def api_for(sandbox: Any) -> AgentsAPI:
    settings = load_settings(env={}, base_url=sandbox.base_url, api_key=sandbox.api_key)
    return AgentsAPI.from_settings(settings)


async def test_at_most_max_concurrent_stream_and_the_rest_wait_or_are_refused(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    fresh_sandbox.configure(turn_delay=0.04)
    api = api_for(fresh_sandbox)
    peak = 0

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, fresh_sandbox.status()["running_simulations"])
            await anyio.sleep(0.02)

    try:
        async with SimulationManager(api, tmp_path, max_concurrent=1, max_queued=1) as manager:
            first = await manager.start(AGENT, build_request("Refund [turns=6]"))
            second = await manager.start(AGENT, build_request("Order status [turns=6]"))
            with pytest.raises(SimulationBusyError, match="2 already started"):
                await manager.start(AGENT, build_request("Billing [turns=6]"))
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch)
                await anyio.sleep(0.1)
                assert (await manager.get(second.simulation_id)).status == "queued"
                a = await manager.wait(first.simulation_id, 30)
                b = await manager.wait(second.simulation_id, 30)
                tg.cancel_scope.cancel()
            assert a.status == b.status == "done"
            assert a.finished_at <= b.started_at  # the second waited for the slot
            assert peak == 1
            assert len(await manager.store.ids()) == 2  # the refused one left no trace
    finally:
        await api.aclose()


async def test_wait_returns_the_progress_so_far_when_time_is_up(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    fresh_sandbox.configure(turn_delay=0.05)
    api = api_for(fresh_sandbox)
    try:
        async with SimulationManager(api, tmp_path) as manager:
            sid = (await manager.start(AGENT, build_request("Refund [turns=20]"))).simulation_id
            started = time.monotonic()
            record = await manager.wait(sid, 0.3)
            assert 0.25 < time.monotonic() - started < 1.0
            assert record.status == "running" and 0 < len(record.turns) < 20
            assert (await manager.wait(sid, 0)).status == "running"  # 0: just look
            done = await manager.wait(sid, 30)
            assert done.status == "done" and done.analysis is not None
    finally:
        await api.aclose()


async def test_a_stopping_server_closes_streams_and_keeps_partial_results(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    fresh_sandbox.configure(turn_delay=0.05)
    api = api_for(fresh_sandbox)
    try:
        async with SimulationManager(api, tmp_path, checkpoint_seconds=0.1) as manager:
            sid = (await manager.start(AGENT, build_request("Long chat [turns=200]"))).simulation_id
            await manager.wait(sid, 0.4)
            assert fresh_sandbox.status()["running_simulations"] == 1
            # a checkpoint is on disk while it runs (other processes can read it)
            reader = await SimulationStore(tmp_path).open()
            assert len((await reader.get(sid)).turns) > 0
            await reader.close()
        stopped = time.monotonic()
        for _ in range(20):  # the upstream streams close within a second
            if not fresh_sandbox.status()["running_simulations"]:
                break
            await anyio.sleep(0.05)
        assert time.monotonic() - stopped < 1.2
        assert fresh_sandbox.status()["running_simulations"] == 0
        store = await SimulationStore(tmp_path).open()
        record = await store.get(sid)
        await store.close()
        assert record.status == "failed" and record.error == INTERRUPTED
        assert 0 < len(record.turns) < 200
    finally:
        await api.aclose()
