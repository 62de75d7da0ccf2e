"""The SQLite store: round trip, restart, orphaned rows, pruning (real files, no server)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from agents_mcp.simulations.record import SimulationRecord, new_simulation_id
from agents_mcp.simulations.store import FILENAME, INTERRUPTED, SimulationStore


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


def test_round_trip_survives_reopening(tmp_path: Path) -> None:
    rec = make()
    store = SimulationStore(tmp_path).open()
    store.save(rec)
    store.close()
    again = SimulationStore(tmp_path).open()
    assert again.get(rec.simulation_id) == rec
    assert again.get("sim_ffffffffffffffff") is None
    mode = sqlite3.connect(tmp_path / FILENAME).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_unfinished_row_of_a_dead_process_reads_as_interrupted(tmp_path: Path) -> None:
    rec = make(status="running", turns=3)
    # a real other process writes the row and exits
    code = (
        "import sys, json; from agents_mcp.simulations.store import SimulationStore;"
        "from agents_mcp.simulations.record import SimulationRecord;"
        "s = SimulationStore(sys.argv[1]).open();"
        "s.save(SimulationRecord(**json.loads(sys.argv[2])))"
    )
    import dataclasses
    import json

    subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), json.dumps(dataclasses.asdict(rec))], check=True
    )
    store = SimulationStore(tmp_path).open()
    got = store.get(rec.simulation_id)
    assert got.status == "failed" and got.error == INTERRUPTED
    assert len(got.turns) == 3  # the partial transcript is kept


def test_unfinished_row_of_a_live_process_stays_running(tmp_path: Path) -> None:
    rec = make(status="running")
    store = SimulationStore(tmp_path).open()
    store.owner = f"{store.owner.rsplit(':', 1)[0]}:{os.getppid()}"  # alive: our parent
    store.save(rec)
    reader = SimulationStore(tmp_path).open()
    assert reader.get(rec.simulation_id).status == "running"


def test_prune_keeps_the_newest_and_never_unfinished(tmp_path: Path) -> None:
    store = SimulationStore(tmp_path, max_stored=3).open()
    old_running = make(status="running", created=0.5)
    store.owner = f"{store.owner.rsplit(':', 1)[0]}:{os.getppid()}"
    store.save(old_running)
    recs = [make(created=float(i)) for i in range(1, 7)]
    for r in recs:
        store.save(r)
    assert store.prune() == 3
    left = {r.simulation_id for r in recs if store.get(r.simulation_id)}
    assert left == {r.simulation_id for r in recs[-3:]}
    assert store.get(old_running.simulation_id) is not None
