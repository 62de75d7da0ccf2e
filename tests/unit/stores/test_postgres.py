"""The store interface on both implementations, against a real PostgreSQL on loopback: records,
leases and takeover, migrations by replicas starting together, concurrent writers, and a database
that goes away and comes back."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest

from agents_mcp.api import AgentsAPI
from agents_mcp.settings import load_settings
from agents_mcp.simulations import SimulationManager
from agents_mcp.simulations.request import build_request
from agents_mcp.simulations.store import SimulationStore
from agents_mcp.stores import SQLiteStore, Store, StoreUnavailableError
from agents_mcp.stores.postgres import PostgresStore, safe_url
from tests.support.postgres_fixture import PostgresServer

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", "postgres"])
async def two_stores(request: Any, tmp_path: Path) -> AsyncIterator[tuple[Store, Store]]:
    """Two processes' views of one store (two connections, two owner ids)."""
    if request.param == "sqlite":
        # the first "process" is our parent (alive): same-host owners are checked by pid
        first: Store = SQLiteStore(tmp_path, owner=f"{socket.gethostname()}:{os.getppid()}:a")
        second: Store = SQLiteStore(tmp_path)
    else:
        url = request.getfixturevalue("pg_url")
        first, second = PostgresStore(url), PostgresStore(url)
    await first.open()
    await second.open()
    yield first, second
    await first.close()
    await second.close()


async def test_records_round_trip_list_and_prune(two_stores: tuple[Store, Store]) -> None:
    a, b = two_stores
    for i in range(5):
        assert await a.put("sim", f"r{i}", {"i": i, "ü": "é"}, status="done", created_at=i)
    assert await a.put("sim", "live", {"i": -1}, status="running", created_at=0, lease_seconds=60)
    assert await a.put("test_run", "r0", {"other": True}, status="done", created_at=0)
    got = await b.get("sim", "r3")
    assert got is not None and got.data == {"i": 3, "ü": "é"} and got.owner == a.owner
    assert await b.get("sim", "nope") is None
    assert [r.record_id for r in await b.list("sim", limit=3)] == ["r4", "r3", "r2"]
    assert await b.count("sim") == 6 and await b.count("test_run") == 1
    assert await b.prune("sim", keep=2) == 3  # the running one always stays
    assert {r.record_id for r in await b.list("sim")} == {"r4", "r3", "live"}
    assert (await b.get("test_run", "r0")) is not None  # kinds are separate


async def test_a_lapsed_lease_is_claimed_once_and_the_old_owner_is_fenced(
    two_stores: tuple[Store, Store],
) -> None:
    a, b = two_stores
    await a.put("sim", "j", {"n": 1}, status="running", created_at=1, lease_seconds=60)
    assert await b.stale("sim", now=0) == []  # lease held
    assert await a.renew("sim", ["j"], 0.05) == 1
    await anyio.sleep(0.1)
    (stale,) = await b.stale("sim", now=9e9)
    assert await b.claim("sim", stale, lease_seconds=60)
    assert not await a.claim("sim", stale, lease_seconds=60)  # compare-and-set: only once
    assert not await a.put("sim", "j", {"n": 2}, status="done", created_at=1)  # fenced
    assert await a.renew("sim", ["j"], 60) == 0
    assert await b.put("sim", "j", {"n": 3}, status="done", created_at=1)
    got = await a.get("sim", "j")
    assert got is not None and got.data == {"n": 3} and got.status == "done"


async def test_a_released_lease_is_stale_at_once(two_stores: tuple[Store, Store]) -> None:
    a, b = two_stores
    await a.put("sim", "j", {}, status="running", created_at=1, lease_seconds=60)
    assert await b.stale("sim", now=0) == []
    assert await a.release("sim", ["j"]) == 1
    assert [r.record_id for r in await b.stale("sim", now=1e12)] == ["j"]


async def test_replicas_starting_together_migrate_once(pg_url: str) -> None:
    stores = [PostgresStore(pg_url) for _ in range(6)]
    async with anyio.create_task_group() as tg:
        for store in stores:
            tg.start_soon(store.open)
    for store in stores:
        await store.close()
    with psycopg.connect(pg_url) as conn:
        versions = conn.execute("SELECT version FROM agents_mcp_schema_version").fetchall()
    assert versions == [(1,)]


async def test_concurrent_writers_lose_nothing(pg_url: str) -> None:
    """Two replicas, 40 jobs each, 10 checkpoints per job, all at once."""
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    await a.open()
    await b.open()

    async def job(store: Store, name: str) -> None:
        for n in range(10):
            await store.put("sim", name, {"n": n}, status="running", created_at=1, lease_seconds=30)
        await store.put("sim", name, {"n": 10}, status="done", created_at=1)

    async with anyio.create_task_group() as tg:
        for i in range(40):
            tg.start_soon(job, a, f"a{i}")
            tg.start_soon(job, b, f"b{i}")
    records = await a.list("sim", limit=1000)
    assert len(records) == 80
    assert all(r.status == "done" and r.data == {"n": 10} for r in records)
    assert {r.owner for r in records} == {a.owner, b.owner}
    await a.close()
    await b.close()


async def test_an_unreachable_database_fails_fast_with_a_clear_message() -> None:
    url = "postgresql://agents:s3cret-pw@127.0.0.1:1/agents"
    store = PostgresStore(url, connect_timeout=1)
    with pytest.raises(StoreUnavailableError) as caught:
        await store.open()
    text = str(caught.value)
    assert "s3cret-pw" not in text and "127.0.0.1" in text and "cannot be reached" in text
    assert safe_url(url) == "postgresql://agents:***@127.0.0.1:1/agents"


def api_for(sandbox: Any) -> AgentsAPI:
    settings = load_settings(env={}, base_url=sandbox.base_url, api_key=sandbox.api_key)
    return AgentsAPI.from_settings(settings)


async def test_a_database_that_goes_away_and_comes_back(fresh_sandbox: Any, tmp_path: Path) -> None:
    """Reads fail clearly while it is down; a result finished meanwhile is stored once back."""
    server = PostgresServer().start()
    api = api_for(fresh_sandbox)
    try:
        url = server.create_database()
        fresh_sandbox.configure(turn_delay=0.05)
        store = PostgresStore(url, connect_timeout=1)
        async with SimulationManager(api, tmp_path, store=store, lease_seconds=1) as manager:
            sid = await manager.start("agent_demo_support", build_request("Hi [turns=10]"))
            sid_text = sid.simulation_id
            await anyio.to_thread.run_sync(server.stop)
            with pytest.raises(StoreUnavailableError, match="cannot be reached"):
                await store.get("simulation", "sim_0000000000000000")
            done = await manager.wait(sid_text, 30)  # the job goes on without its store
            assert done.status == "done"
            assert (await manager.get(sid_text)).status == "done"  # kept in memory
            await anyio.to_thread.run_sync(server.start)
            for _ in range(150):  # the keeper writes it once the database is back
                if sid_text not in manager._unsaved:
                    break
                await anyio.sleep(0.1)
            assert sid_text not in manager._unsaved
        reader = await SimulationStore(PostgresStore(url)).open()
        stored = await reader.get(sid_text)
        await reader.close()
        assert stored is not None and stored.status == "done" and stored.analysis
        assert len(stored.turns) == len(done.turns)
    finally:
        await api.aclose()
        await anyio.to_thread.run_sync(server.cleanup)


def test_the_database_url_setting_is_checked_and_never_echoed() -> None:
    from agents_mcp.settings import SettingsError

    with pytest.raises(SettingsError, match="AGENTS_MCP_DATABASE_URL") as caught:
        load_settings(env={"AGENTS_MCP_DATABASE_URL": "mysql://u:hunter2-secret@db/x"})
    assert "hunter2-secret" not in str(caught.value)
    settings = load_settings(env={"AGENTS_MCP_DATABASE_URL": "postgresql://u:pw-123456@db/x"})
    assert settings.database_url is not None and "pw-123456" not in repr(settings)
    assert load_settings(env={}).database_url is None  # SQLite, as before


async def test_a_server_whose_database_is_down_does_not_start_and_says_why(tmp_path: Path) -> None:
    from tests.support.http_sidecar import TOKEN, Sidecar, clean_env

    env = clean_env(
        AGENTS_MCP_AUTH_TOKEN=TOKEN,
        AGENTS_MCP_DATA_DIR=str(tmp_path),
        AGENTS_MCP_DATABASE_URL="postgresql://agents:pw-not-shown-42@127.0.0.1:1/agents",
    )
    server = Sidecar.serve("--sandbox", env=env)
    with pytest.raises(RuntimeError, match="server exited"):
        await anyio.to_thread.run_sync(server.start)
    log = server.log()
    assert "cannot be reached" in log and "Connection refused" in log, log[-2000:]
    assert "pw-not-shown-42" not in log


async def test_without_a_database_url_the_driver_is_not_imported(tmp_path: Path) -> None:
    """Start-up time: psycopg loads only when AGENTS_MCP_DATABASE_URL is set."""
    import sys

    code = (
        "import sys, anyio\n"
        "from agents_mcp.server import build_server\n"
        "from agents_mcp.settings import load_settings\n"
        "from agents_mcp.simulations import SimulationManager\n"
        "from agents_mcp.stores import make_store\n"
        "build_server(load_settings(env={}))\n"
        "store = make_store(sys.argv[1])\n"
        "anyio.run(store.open)\n"
        "print(sorted(m for m in sys.modules if m.startswith('psycopg')))\n"
    )
    done = await anyio.run_process([sys.executable, "-c", code, str(tmp_path)])
    assert done.stdout.decode().strip() == "[]"
