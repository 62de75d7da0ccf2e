"""The embedded store: one SQLite file (stdlib sqlite3, WAL) in the data directory.

The default when no database URL is set: results outlive the server, and several processes of
one host may share the file (a desktop app and an editor each start one). Each call is one small
local transaction, run in a worker thread one at a time (a capacity limiter of 1 serializes the
one connection): the event loop goes on while SQLite works (it releases the GIL), so a burst of
100 simulations starting at once does not hold up the first progress notifications; the JSON
encoding happens in that thread too. Not a store for replicas on several hosts: SQLite's locks
do not hold on network file systems (see docs/deploy.md).

Jobs of a process that no longer exists are found at once (same host: the owner id carries the
pid), besides the lease every store has. The schema is versioned (`schema_version`) and migrated
under SQLite's write lock (`BEGIN IMMEDIATE`), so processes starting together migrate once;
version 2 imports the rows of the pre-store `simulations` table.
"""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import anyio

from agents_mcp.stores.base import (
    UNFINISHED,
    JSONDict,
    StoredRecord,
    StoreError,
    new_owner_id,
    owner_pid,
)

FILENAME = "simulations.sqlite3"
SCHEMA_VERSION = 2

_MIGRATIONS: dict[int, str] = {
    1: """
        CREATE TABLE IF NOT EXISTS records (
            kind TEXT NOT NULL,
            record_id TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            owner TEXT,
            lease_expires REAL,
            data TEXT NOT NULL,
            PRIMARY KEY (kind, record_id)
        );
        CREATE INDEX IF NOT EXISTS records_created ON records (kind, created_at);
        CREATE INDEX IF NOT EXISTS records_unfinished ON records (kind, status, lease_expires);
    """,
    # The table of versions before the generic store: each row becomes a "simulation" record.
    2: """
        INSERT OR IGNORE INTO records
            (kind, record_id, status, created_at, updated_at, owner, lease_expires, data)
        SELECT 'simulation', simulation_id, status, created_at,
               COALESCE(finished_at, started_at, created_at), owner, NULL,
               json_object(
                   'simulation_id', simulation_id, 'agent_id', agent_id, 'status', status,
                   'created_at', created_at, 'started_at', started_at,
                   'finished_at', finished_at, 'request', json(request), 'turns', json(turns),
                   'analysis', json(analysis), 'error', error, 'error_type', error_type,
                   'frames', frames{more})
        FROM simulations;
    """,
}

_T = TypeVar("_T")

_COLUMNS = "kind, record_id, status, created_at, updated_at, owner, lease_expires, data"


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
    """Compact ASCII JSON: one byte a character in memory, and SQLite binds it without a UTF-8
    copy (with ensure_ascii=False, one curly quote in a 16 MB document makes the text 2-4 bytes
    a character, plus its UTF-8 copy)."""
    return json.dumps(value, separators=(",", ":"))


def _row(row: tuple[Any, ...]) -> StoredRecord:
    return StoredRecord(
        kind=row[0],
        record_id=row[1],
        status=row[2],
        created_at=row[3],
        updated_at=row[4],
        owner=row[5],
        lease_expires=row[6],
        data=json.loads(row[7]),
    )


class SQLiteStore:
    """The `Store` on one SQLite file; `path` is the file."""

    def __init__(self, data_dir: Path | str, *, owner: str | None = None) -> None:
        self.path = Path(data_dir).expanduser() / FILENAME
        self.owner = owner or new_owner_id()
        self._db: sqlite3.Connection | None = None
        self._one_at_a_time: anyio.CapacityLimiter | None = None  # made on the loop, when used

    async def _in_thread(self, call: Callable[[], _T]) -> _T:
        """`call` in a worker thread, after the calls before it (one connection, one thread at a
        time). Not abandoned when the caller is cancelled: a write always completes."""
        if self._one_at_a_time is None:
            self._one_at_a_time = anyio.CapacityLimiter(1)
        return await anyio.to_thread.run_sync(call, limiter=self._one_at_a_time)

    # --- lifecycle ------------------------------------------------------------------------------

    async def open(self) -> None:
        await self._in_thread(self.open_sync)

    def open_sync(self) -> SQLiteStore:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(
                self.path, timeout=10, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._migrate(db)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the simulation store {self.path}: {exc}") from None
        self._db = db
        return self

    def _migrate(self, db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")  # the write lock: one process migrates at a time
        try:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
            current = row[0] or 0
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"the store {self.path} has schema version {current}, newer than this "
                    f"server's {SCHEMA_VERSION}: upgrade agents-mcp (or use another data dir)"
                )
            legacy = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='simulations'"
            ).fetchone()
            for version in range(current + 1, SCHEMA_VERSION + 1):
                script = _MIGRATIONS[version]
                if version == 2:
                    if not legacy:
                        script = ""
                    columns = {row[1] for row in db.execute("PRAGMA table_info(simulations)")}
                    more = ""  # columns a later version of the old table had
                    if "backend" in columns:
                        more += ", 'backend', COALESCE(backend, 'stream')"
                    if "upstream" in columns:
                        more += ", 'upstream', json(COALESCE(upstream, '{}'))"
                    script = script.replace("{more}", more)
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    async def close(self) -> None:
        def close() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        await self._in_thread(close)

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the store is not open")
        return self._db

    # --- records --------------------------------------------------------------------------------

    async def put(
        self,
        kind: str,
        record_id: str,
        data: JSONDict,
        *,
        status: str,
        created_at: float,
        lease_seconds: float | None = None,
    ) -> bool:
        def put() -> bool:
            now = time.time()
            lease = now + lease_seconds if lease_seconds and status in UNFINISHED else None
            cursor = self.db.execute(
                f"""INSERT INTO records ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (kind, record_id) DO UPDATE SET
                        status = excluded.status, updated_at = excluded.updated_at,
                        owner = excluded.owner, lease_expires = excluded.lease_expires,
                        data = excluded.data
                    WHERE records.owner IS excluded.owner OR records.owner IS NULL""",
                (kind, record_id, status, created_at, now, self.owner, lease, _dump(data)),
            )
            return cursor.rowcount == 1

        return await self._in_thread(put)

    async def get(self, kind: str, record_id: str) -> StoredRecord | None:
        def get() -> StoredRecord | None:
            row = self.db.execute(
                f"SELECT {_COLUMNS} FROM records WHERE kind = ? AND record_id = ?",
                (kind, record_id),
            ).fetchone()
            return None if row is None else _row(row)

        return await self._in_thread(get)

    async def list(self, kind: str, limit: int = 100) -> list[StoredRecord]:
        def select() -> builtins.list[StoredRecord]:
            rows = self.db.execute(
                f"SELECT {_COLUMNS} FROM records WHERE kind = ? ORDER BY created_at DESC LIMIT ?",
                (kind, limit),
            )
            return [_row(row) for row in rows]

        return await self._in_thread(select)

    async def count(self, kind: str) -> int:
        def count() -> int:
            sql = "SELECT COUNT(*) FROM records WHERE kind = ?"
            return int(self.db.execute(sql, (kind,)).fetchone()[0])

        return await self._in_thread(count)

    async def prune(self, kind: str, keep: int) -> int:
        return await self._write(
            """DELETE FROM records WHERE kind = ? AND status NOT IN ('queued', 'running')
               AND record_id NOT IN (
                   SELECT record_id FROM records WHERE kind = ?
                   AND status NOT IN ('queued', 'running') ORDER BY created_at DESC LIMIT ?)""",
            (kind, kind, keep),
        )

    async def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        """One statement in the worker thread; the rows it changed."""
        return await self._in_thread(lambda: self.db.execute(sql, params).rowcount)

    # --- leases ---------------------------------------------------------------------------------

    async def renew(self, kind: str, record_ids: Iterable[str], lease_seconds: float) -> int:
        ids = list(record_ids)
        if not ids:
            return 0
        marks = ", ".join("?" * len(ids))
        return await self._write(
            f"""UPDATE records SET lease_expires = ? WHERE kind = ? AND owner = ?
                AND status IN ('queued', 'running') AND record_id IN ({marks})""",
            (time.time() + lease_seconds, kind, self.owner, *ids),
        )

    def presumed_dead(self, record: StoredRecord, now: float) -> bool:
        """An unfinished record whose owner stopped: its lease lapsed, or (same host) its process
        is gone."""
        if record.finished or record.owner == self.owner:
            return False
        if record.owner is None or (record.lease_expires or 0) < now:
            return True
        pid = owner_pid(record.owner)
        if pid is None:
            return False
        return pid == os.getpid() or not _pid_alive(pid)  # same pid, other owner: a past life

    async def stale(self, kind: str, now: float, limit: int = 20) -> builtins.list[StoredRecord]:
        def select() -> builtins.list[StoredRecord]:
            rows = self.db.execute(
                f"""SELECT {_COLUMNS} FROM records WHERE kind = ?
                    AND status IN ('queued', 'running') AND (owner IS NULL OR owner != ?)
                    ORDER BY created_at""",
                (kind, self.owner),
            )
            found = [_row(row) for row in rows]
            return [record for record in found if self.presumed_dead(record, now)][:limit]

        return await self._in_thread(select)

    async def claim(self, kind: str, record: StoredRecord, lease_seconds: float) -> bool:
        changed = await self._write(
            """UPDATE records SET owner = ?, lease_expires = ?, updated_at = ?
               WHERE kind = ? AND record_id = ? AND owner IS ? AND updated_at = ?
               AND lease_expires IS ? AND status IN ('queued', 'running')""",
            (
                self.owner,
                time.time() + lease_seconds,
                time.time(),
                kind,
                record.record_id,
                record.owner,
                record.updated_at,
                record.lease_expires,
            ),
        )
        return changed == 1

    async def release(self, kind: str, record_ids: Iterable[str]) -> int:
        ids = list(record_ids)
        if not ids:
            return 0
        marks = ", ".join("?" * len(ids))
        return await self._write(
            f"""UPDATE records SET lease_expires = 0 WHERE kind = ? AND owner = ?
                AND record_id IN ({marks})""",
            (kind, self.owner, *ids),
        )
