"""Simulations on disk: one SQLite file (stdlib sqlite3, WAL), so results outlive the server.

A row is written when a simulation starts (with its request), checkpointed while it runs, and
written again the moment it finishes, fails or is cancelled (with the turns received so far).
Several server processes may share one data directory (a desktop app and an editor each start
one): every row names the process that owns it, and a row left unfinished by a process that no
longer exists reads as failed ("interrupted"), never as running forever.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from pathlib import Path
from typing import Any

from agents_mcp.simulations.record import FINISHED, SimulationRecord

FILENAME = "simulations.sqlite3"
INTERRUPTED = (
    "The server stopped before this simulation finished (it was restarted or crashed). "
    "The turns received until then are kept; run the simulation again for a complete result."
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS simulations (
    simulation_id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    request TEXT NOT NULL,
    turns TEXT NOT NULL,
    analysis TEXT,
    error TEXT,
    error_type TEXT,
    frames INTEGER NOT NULL DEFAULT 0,
    owner TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS simulations_created ON simulations (created_at);
"""
# columns added after the first schema: added to an older file when it is opened
_ADDED = {"backend": "TEXT NOT NULL DEFAULT 'stream'", "upstream": "TEXT"}
_COLUMNS = (
    "simulation_id, agent_id, status, created_at, started_at, finished_at, request, turns, "
    "analysis, error, error_type, frames, owner, backend, upstream"
)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class SimulationStore:
    """Synchronous and quick (one small transaction per call); used from the event loop."""

    def __init__(self, data_dir: Path | str, max_stored: int = 500) -> None:
        self.path = Path(data_dir).expanduser() / FILENAME
        self.max_stored = max_stored
        self.owner = _owner()
        self._db: sqlite3.Connection | None = None

    def open(self) -> SimulationStore:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        present = {row[1] for row in db.execute("PRAGMA table_info(simulations)")}
        for column, kind in _ADDED.items():
            if column not in present:
                db.execute(f"ALTER TABLE simulations ADD COLUMN {column} {kind}")
        self._db = db
        return self

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the simulation store is not open")
        return self._db

    def save(self, record: SimulationRecord) -> None:
        row = (
            record.simulation_id,
            record.agent_id,
            record.status,
            record.created_at,
            record.started_at,
            record.finished_at,
            _dump(record.request),
            _dump(record.turns),
            None if record.analysis is None else _dump(record.analysis),
            record.error,
            record.error_type,
            record.frames,
            self.owner,
            record.backend,
            _dump(record.upstream) if record.upstream else None,
        )
        marks = ", ".join("?" * len(row))
        self.db.execute(f"INSERT OR REPLACE INTO simulations ({_COLUMNS}) VALUES ({marks})", row)

    def get(self, simulation_id: str) -> SimulationRecord | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM simulations WHERE simulation_id = ?", (simulation_id,)
        ).fetchone()
        if row is None:
            return None
        record = SimulationRecord(
            simulation_id=row[0],
            agent_id=row[1],
            status=row[2],
            created_at=row[3],
            started_at=row[4],
            finished_at=row[5],
            request=json.loads(row[6]),
            turns=json.loads(row[7]),
            analysis=None if row[8] is None else json.loads(row[8]),
            error=row[9],
            error_type=row[10],
            frames=row[11],
            backend=row[13] or "stream",
            upstream=json.loads(row[14]) if row[14] else {},
        )
        if not record.finished and self._orphaned(row[12]):
            record.status = "failed"
            record.error = INTERRUPTED
            record.error_type = "Interrupted"
            self.save(record)
        return record

    def _orphaned(self, owner: str) -> bool:
        """An unfinished row is orphaned when its process is gone (or is this one, restarted)."""
        if owner == self.owner:
            return True  # this process never leaves a row unfinished once its job has ended
        host, _, pid = owner.rpartition(":")
        if host != socket.gethostname() or not pid.isdigit():
            return False  # another machine sharing the directory: cannot tell, trust the row
        return not _pid_alive(int(pid))

    def prune(self) -> int:
        """Keep the newest `max_stored` finished rows (unfinished ones always stay); returns how
        many went."""
        finished = tuple(sorted(FINISHED))
        marks = ", ".join("?" * len(finished))
        cursor = self.db.execute(
            f"""DELETE FROM simulations WHERE status IN ({marks}) AND simulation_id NOT IN (
                    SELECT simulation_id FROM simulations WHERE status IN ({marks})
                    ORDER BY created_at DESC LIMIT ?)""",
            (*finished, *finished, self.max_stored),
        )
        return cursor.rowcount

    def ids(self) -> list[str]:
        """Every stored simulation id, newest first."""
        rows = self.db.execute("SELECT simulation_id FROM simulations ORDER BY created_at DESC")
        return [row[0] for row in rows]

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM simulations").fetchone()[0])
