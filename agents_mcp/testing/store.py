"""Test runs in the store: `TestRunRecord` <-> the generic records of kind "test_run".

`StoredTestRuns` is a thin typed layer over any `Store` (the SQLite file by default, PostgreSQL
when a database URL is set), the same Store instance the simulations use: replicas sharing the
database share their test runs, and a running run holds a lease like any job (see
agents_mcp/stores/base.py). `MemoryTestRunStore` keeps runs in this process only (unit tests and
one-shot commands that want nothing kept).

Both implement `record.TestRunStore`, the runner's seam. Rules: a write by a process that lost
its lease changes nothing and answers False; `ids()` is newest first; a document written by a
newer version (keys this one does not know) still reads.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from agents_mcp.stores import SQLiteStore, Store
from agents_mcp.stores.base import StoredRecord, new_owner_id
from agents_mcp.testing.record import KIND, TestRunRecord

__all__ = ["KIND", "MemoryTestRunStore", "StoredTestRuns", "from_data"]

logger = logging.getLogger("agents_mcp.testing")

DEFAULT_LEASE_SECONDS = 10.0
_FIELDS = frozenset(f.name for f in fields(TestRunRecord))


def from_data(data: dict[str, Any]) -> TestRunRecord:
    """A record from its stored document; keys a newer version added are ignored."""
    return TestRunRecord.from_document({k: v for k, v in data.items() if k in _FIELDS})


class StoredTestRuns:
    """Typed access to test-run records in a `Store` (its lifecycle belongs to whoever made it,
    unless `open`/`close` are called here)."""

    def __init__(
        self,
        store: Store,
        max_stored: int = 500,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self.store = store
        self.max_stored = max_stored
        self.lease_seconds = lease_seconds

    @property
    def owner(self) -> str:
        return self.store.owner

    @property
    def shared(self) -> bool:
        """Whether other hosts may read this store (a database, not a local file)."""
        return not isinstance(self.store, SQLiteStore)

    async def open(self) -> StoredTestRuns:
        await self.store.open()
        await self.import_legacy()
        return self

    async def close(self) -> None:
        await self.store.close()

    async def import_legacy(self) -> int:
        """Move the rows of the pre-store `test_runs` table (SQLite) into the store; once."""
        if not isinstance(self.store, SQLiteStore):
            return 0
        db = self.store.db
        try:
            found = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='test_runs'"
            ).fetchone()
            if not found:
                return 0
            db.execute("BEGIN IMMEDIATE")
            cursor = db.execute(
                """INSERT OR IGNORE INTO records
                       (kind, record_id, status, created_at, updated_at, owner, lease_expires,
                        data)
                   SELECT ?, run_id, COALESCE(json_extract(document, '$.status'), 'failed'),
                          created_at, created_at, NULL, NULL, document
                   FROM test_runs WHERE json_valid(document)""",
                (KIND,),
            )
            db.execute("DROP TABLE test_runs")
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            logger.warning("stored test runs of an older version not imported: %s", exc)
            return 0
        if cursor.rowcount:
            logger.info("imported %d test run(s) of an older version", cursor.rowcount)
        return cursor.rowcount

    # --- records ------------------------------------------------------------------------------

    async def put(self, record: TestRunRecord) -> bool:
        """Write the record as this process's; False when another replica took the run over."""
        return await self.store.put(
            KIND,
            record.run_id,
            record.document(),
            status=record.status,
            created_at=record.created_at,
            lease_seconds=self.lease_seconds,
        )

    async def load(self, run_id: str) -> StoredRecord | None:
        return await self.store.get(KIND, run_id)

    async def get(self, run_id: str) -> TestRunRecord | None:
        stored = await self.load(run_id)
        return None if stored is None else from_data(stored.data)

    async def ids(self) -> list[str]:
        """Stored run ids, newest first (at most 10 000)."""
        return [r.record_id for r in await self.store.list(KIND, limit=10_000)]

    async def prune(self) -> int:
        """Keep the newest `max_stored` finished runs; returns how many went."""
        return await self.store.prune(KIND, self.max_stored)

    # --- leases ---------------------------------------------------------------------------------

    async def now(self) -> float:
        """The time leases are judged by (the database's clock when it has one)."""
        clock = getattr(self.store, "clock", None)
        return float(await clock()) if clock is not None else time.time()

    def presumed_dead(self, stored: StoredRecord, now: float) -> bool:
        return self.store.presumed_dead(stored, now)

    async def renew(self, run_ids: Iterable[str]) -> int:
        return await self.store.renew(KIND, run_ids, self.lease_seconds)

    async def stale(self) -> list[StoredRecord]:
        return await self.store.stale(KIND, await self.now())

    async def claim(self, stored: StoredRecord) -> bool:
        return await self.store.claim(KIND, stored, self.lease_seconds)

    async def release(self, run_ids: Iterable[str]) -> int:
        return await self.store.release(KIND, run_ids)


class MemoryTestRunStore:
    """Runs kept in this process only: no lease to hold, nothing to take over."""

    shared = False

    def __init__(self) -> None:
        self.owner = new_owner_id()
        self._docs: dict[str, tuple[float, str]] = {}

    async def open(self) -> MemoryTestRunStore:
        return self

    async def close(self) -> None:
        return None

    async def put(self, record: TestRunRecord) -> bool:
        self._docs[record.run_id] = (record.created_at, json.dumps(record.document()))
        return True

    async def load(self, run_id: str) -> StoredRecord | None:
        found = self._docs.get(run_id)
        if found is None:
            return None
        data = json.loads(found[1])
        return StoredRecord(
            KIND, run_id, data["status"], data, self.owner, None, found[0], found[0]
        )

    async def get(self, run_id: str) -> TestRunRecord | None:
        stored = await self.load(run_id)
        return None if stored is None else from_data(stored.data)

    async def ids(self) -> list[str]:
        return sorted(self._docs, key=lambda run_id: self._docs[run_id][0], reverse=True)

    async def prune(self) -> int:
        return 0

    async def now(self) -> float:
        return time.time()

    def presumed_dead(self, stored: StoredRecord, now: float) -> bool:
        return False

    async def renew(self, run_ids: Iterable[str]) -> int:
        return len(list(run_ids))

    async def stale(self) -> list[StoredRecord]:
        return []

    async def claim(self, stored: StoredRecord) -> bool:
        return True

    async def release(self, run_ids: Iterable[str]) -> int:
        return 0
