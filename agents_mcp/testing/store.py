"""Test runs on disk: one table `test_runs` (run id, kind, time, JSON document) in the same
SQLite file as the simulations, so results outlive the server and one data directory holds all.

Narrow on purpose (put / get / prune): it implements `record.TestRunStore`, and the generic
store of branch `store` (records by id + kind) can replace it without touching the runner.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from agents_mcp.simulations.store import FILENAME
from agents_mcp.testing.record import KIND, TestRunRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS test_runs (
    run_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    created_at REAL NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS test_runs_created ON test_runs (created_at);
"""


class SQLiteTestRunStore:
    def __init__(self, data_dir: Path | str, max_stored: int = 500) -> None:
        self.path = Path(data_dir).expanduser() / FILENAME
        self.max_stored = max_stored
        self._db: sqlite3.Connection | None = None

    def open(self) -> SQLiteTestRunStore:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(_SCHEMA)
        self._db = db
        return self

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the test run store is not open")
        return self._db

    def put(self, record: TestRunRecord) -> None:
        doc = json.dumps(record.document(), ensure_ascii=False, separators=(",", ":"))
        self.db.execute(
            "INSERT OR REPLACE INTO test_runs (run_id, kind, created_at, document) "
            "VALUES (?, ?, ?, ?)",
            (record.run_id, KIND, record.created_at, doc),
        )

    def get(self, run_id: str) -> TestRunRecord | None:
        row = self.db.execute(
            "SELECT document FROM test_runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        return None if row is None else TestRunRecord.from_document(json.loads(row[0]))

    def prune(self) -> int:
        """Keep the newest `max_stored` runs; returns how many went."""
        cursor = self.db.execute(
            """DELETE FROM test_runs WHERE run_id NOT IN (
                   SELECT run_id FROM test_runs ORDER BY created_at DESC LIMIT ?)""",
            (self.max_stored,),
        )
        return cursor.rowcount


class MemoryTestRunStore:
    """For the CLI (one process, nothing to keep) and unit tests."""

    def __init__(self) -> None:
        self._docs: dict[str, str] = {}

    def put(self, record: TestRunRecord) -> None:
        self._docs[record.run_id] = json.dumps(record.document())

    def get(self, run_id: str) -> TestRunRecord | None:
        doc = self._docs.get(run_id)
        return None if doc is None else TestRunRecord.from_document(json.loads(doc))
