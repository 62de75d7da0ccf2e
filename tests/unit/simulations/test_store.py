"""The SQLite store: round trip, restart, orphaned rows, pruning, migration (real files)."""

from __future__ import annotations

import os
import socket
import sqlite3
import sys
from pathlib import Path

import anyio
import pytest

from agents_mcp.simulations.record import SimulationRecord, new_simulation_id
from agents_mcp.simulations.store import FILENAME, INTERRUPTED, SimulationStore
from agents_mcp.stores import SQLiteStore

pytestmark = pytest.mark.anyio


def make(status="done", created=1.0, turns=2) -> SimulationRecord:
    return SimulationRecord(
        simulation_id=new_simulation_id(),
        agent_id="agent_demo_support",
        request={
            "simulation_specification": {"simulated_user_config": {"prompt": {"prompt": "p"}}}
        },
        created_at=created,
        status=status,
        turns=[{"role": "user", "message": f"m{i}", "time_in_call_secs": 0} for i in range(turns)],
        analysis={"call_successful": "success"} if status == "done" else None,
        frames=turns,
    )


async def test_round_trip_survives_reopening(tmp_path: Path) -> None:
    rec = make()
    store = await SimulationStore(tmp_path).open()
    await store.save(rec)
    await store.close()
    again = await SimulationStore(tmp_path).open()
    assert await again.get(rec.simulation_id) == rec
    assert await again.get("sim_ffffffffffffffff") is None
    mode = sqlite3.connect(tmp_path / FILENAME).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


async def test_unfinished_row_of_a_dead_process_reads_as_interrupted(tmp_path: Path) -> None:
    rec = make(status="running", turns=3)
    # a real other process writes the row and exits
    code = (
        "import sys, json, anyio; from agents_mcp.simulations.store import SimulationStore;"
        "from agents_mcp.simulations.record import SimulationRecord;"
        "s = SimulationStore(sys.argv[1]);"
        "anyio.run(s.open); anyio.run(s.save, SimulationRecord(**json.loads(sys.argv[2])))"
    )
    import dataclasses
    import json

    await anyio.run_process(
        [sys.executable, "-c", code, str(tmp_path), json.dumps(dataclasses.asdict(rec))]
    )
    store = await SimulationStore(tmp_path).open()
    got = await store.get(rec.simulation_id)
    assert got.status == "failed" and got.error == INTERRUPTED
    assert len(got.turns) == 3  # the partial transcript is kept


async def test_unfinished_row_of_a_live_process_stays_running(tmp_path: Path) -> None:
    rec = make(status="running")
    store = await SimulationStore(tmp_path).open()
    store.store.owner = f"{socket.gethostname()}:{os.getppid()}:x"  # alive: our parent
    await store.save(rec)
    reader = await SimulationStore(tmp_path).open()
    assert (await reader.get(rec.simulation_id)).status == "running"


async def test_prune_keeps_the_newest_and_never_unfinished(tmp_path: Path) -> None:
    store = await SimulationStore(tmp_path, max_stored=3).open()
    old_running = make(status="running", created=0.5)
    store.store.owner = f"{socket.gethostname()}:{os.getppid()}:x"
    await store.save(old_running)
    recs = [make(created=float(i)) for i in range(1, 7)]
    for r in recs:
        await store.save(r)
    assert await store.prune() == 3
    left = {r.simulation_id for r in recs if await store.get(r.simulation_id)}
    assert left == {r.simulation_id for r in recs[-3:]}
    assert await store.get(old_running.simulation_id) is not None


async def test_a_pre_store_database_is_migrated_once(tmp_path: Path) -> None:
    """A simulations.sqlite3 of version 1 (table `simulations`) is imported into the records."""
    db = sqlite3.connect(tmp_path / FILENAME)
    db.executescript(
        """CREATE TABLE simulations (simulation_id TEXT PRIMARY KEY, agent_id TEXT NOT NULL,
        status TEXT NOT NULL, created_at REAL NOT NULL, started_at REAL, finished_at REAL,
        request TEXT NOT NULL, turns TEXT NOT NULL, analysis TEXT, error TEXT, error_type TEXT,
        frames INTEGER NOT NULL DEFAULT 0, owner TEXT NOT NULL);
        INSERT INTO simulations VALUES ('sim_00000000000000aa', 'agent_x', 'done', 5.0, 5.5,
        6.0, '{"a":1}', '[{"role":"user","message":"hi"}]', '{"call_successful":"success"}',
        NULL, NULL, 1, 'h:1');"""
    )
    db.close()
    for _ in range(2):  # opening again does not import twice
        store = await SimulationStore(tmp_path).open()
        got = await store.get("sim_00000000000000aa")
        assert got is not None and got.status == "done" and got.request == {"a": 1}
        assert got.turns == [{"role": "user", "message": "hi"}] and got.frames == 1
        assert await store.count() == 1
        await store.close()
    versions = sqlite3.connect(tmp_path / FILENAME).execute("SELECT version FROM schema_version")
    assert [v for (v,) in versions] == [1, 2]


async def test_a_write_by_an_owner_that_lost_the_job_is_refused(tmp_path: Path) -> None:
    first, second = SQLiteStore(tmp_path), SQLiteStore(tmp_path)
    await first.open()
    await second.open()
    assert await first.put(
        "job", "j1", {"n": 1}, status="running", created_at=1, lease_seconds=0.01
    )
    (stale,) = await second.stale("job", now=9e9)
    assert await second.claim("job", stale, lease_seconds=30)
    assert not await second.claim("job", stale, lease_seconds=30)  # compare-and-set: once
    assert not await first.put("job", "j1", {"n": 2}, status="done", created_at=1)
    assert await first.renew("job", ["j1"], 30) == 0
    assert await second.put("job", "j1", {"n": 3}, status="done", created_at=1)
    got = await first.get("job", "j1")
    assert got is not None and got.data == {"n": 3} and got.owner == second.owner


async def test_rows_of_the_table_with_backend_columns_keep_their_upstream(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / FILENAME)
    db.executescript(
        """CREATE TABLE simulations (simulation_id TEXT PRIMARY KEY, agent_id TEXT NOT NULL,
        status TEXT NOT NULL, created_at REAL NOT NULL, started_at REAL, finished_at REAL,
        request TEXT NOT NULL, turns TEXT NOT NULL, analysis TEXT, error TEXT, error_type TEXT,
        frames INTEGER NOT NULL DEFAULT 0, owner TEXT NOT NULL, backend TEXT NOT NULL
        DEFAULT 'stream', upstream TEXT);
        INSERT INTO simulations VALUES ('sim_00000000000000cc', 'agent_x', 'done', 5.0, NULL,
        NULL, '{}', '[]', NULL, NULL, NULL, 0, 'h:1', 'tests', '{"test_id":"t1"}');
        INSERT INTO simulations VALUES ('sim_00000000000000dd', 'agent_x', 'done', 6.0, NULL,
        NULL, '{}', '[]', NULL, NULL, NULL, 0, 'h:1', 'stream', NULL);"""
    )
    db.close()
    store = await SimulationStore(tmp_path).open()
    tests = await store.get("sim_00000000000000cc")
    stream = await store.get("sim_00000000000000dd")
    await store.close()
    assert tests is not None and tests.backend == "tests" and tests.upstream == {"test_id": "t1"}
    assert stream is not None and stream.backend == "stream" and stream.upstream == {}
