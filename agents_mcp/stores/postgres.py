"""The shared store: PostgreSQL through psycopg 3 (async) and a psycopg_pool connection pool.

Chosen when `AGENTS_MCP_DATABASE_URL` is set, so that replicas behind a load balancer see each
other's jobs and take over those of a replica that died. psycopg is imported only here, and this
module only when the URL is set (the `postgres` extra; start-up stays as fast as without it).

Rules:
- Lease times are the database's clock (`clock_timestamp()`), never a replica's: replicas whose
  clocks disagree still agree on who holds a lease.
- The schema is created and migrated by the server itself, versioned in
  `agents_mcp_schema_version`, under a transaction-level advisory lock so replicas starting
  together migrate once. Tables carry an `agents_mcp_` prefix (the database may be shared).
- The database going away raises `StoreUnavailableError` with a message without credentials.
  Connections are checked before use; after a failure a request probes the database with one
  plain connection and, if it answers, replaces the pool (rate-limited) and runs once more, so
  the store is back as soon as the database is, whatever the outage lasted.
"""

from __future__ import annotations

import builtins
import logging
import re
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import anyio

from agents_mcp.stores.base import (
    JSONDict,
    StoredRecord,
    StoreError,
    StoreUnavailableError,
    new_owner_id,
)

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

logger = logging.getLogger("agents_mcp.stores")

SCHEMA_VERSION = 1
_RENEW_SECONDS = 2.0  # at most one pool replacement this often
_LOCK_KEY = 0x61676E74_6D6370  # any fixed bigint: "agnt" "mcp"
_NOW = "extract(epoch from clock_timestamp())"

_MIGRATIONS: dict[int, Sequence[str]] = {
    1: (
        """CREATE TABLE IF NOT EXISTS agents_mcp_records (
            kind text NOT NULL,
            record_id text NOT NULL,
            status text NOT NULL,
            created_at double precision NOT NULL,
            updated_at double precision NOT NULL,
            owner text,
            lease_expires double precision,
            data jsonb NOT NULL,
            PRIMARY KEY (kind, record_id))""",
        "CREATE INDEX IF NOT EXISTS agents_mcp_records_created "
        "ON agents_mcp_records (kind, created_at DESC)",
        "CREATE INDEX IF NOT EXISTS agents_mcp_records_unfinished "
        "ON agents_mcp_records (kind, lease_expires) WHERE status IN ('queued', 'running')",
    ),
}
_COLUMNS = "kind, record_id, status, created_at, updated_at, owner, lease_expires, data"


def safe_url(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def _row(row: Sequence[Any]) -> StoredRecord:
    return StoredRecord(
        kind=row[0],
        record_id=row[1],
        status=row[2],
        created_at=row[3],
        updated_at=row[4],
        owner=row[5],
        lease_expires=row[6],
        data=row[7],
    )


class PostgresStore:
    """The `Store` on PostgreSQL; one pool per process."""

    def __init__(
        self,
        url: str,
        *,
        owner: str | None = None,
        max_connections: int = 10,
        connect_timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.owner = owner or new_owner_id()
        self.max_connections = max_connections
        self.connect_timeout = connect_timeout
        self._pool: AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]] | None = None
        self._renewing = anyio.Lock()
        self._renewed_at = 0.0

    def _unavailable(
        self, exc: BaseException, then: str = "Try again shortly."
    ) -> StoreUnavailableError:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StoreUnavailableError(
            f"The shared store (PostgreSQL at {safe_url(self.url)}) cannot be reached: "
            f"{reason[:300].rstrip('.')}. {then}"
        )

    # --- lifecycle ------------------------------------------------------------------------------

    async def open(self) -> None:
        try:
            import psycopg
            from psycopg_pool import PoolTimeout
        except ImportError:
            raise StoreError(
                "AGENTS_MCP_DATABASE_URL needs the PostgreSQL driver: "
                "pip install 'agents-mcp[postgres]'"
            ) from None
        at_start = "Check AGENTS_MCP_DATABASE_URL and that the database is up."
        try:
            await self._probe()
            pool = await self._new_pool()
        except (psycopg.Error, PoolTimeout) as exc:
            raise self._unavailable(exc, at_start) from None
        self._pool = pool
        try:
            await self._migrate()
        except BaseException:
            await self.close()
            raise

    async def _probe(self) -> None:
        """One plain connection: its error says why (refused, authentication, no database)."""
        import psycopg

        conn = await psycopg.AsyncConnection.connect(
            self.url, connect_timeout=max(1, int(self.connect_timeout))
        )
        await conn.close()

    async def _new_pool(self) -> AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]]:
        from psycopg_pool import AsyncConnectionPool

        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            self.url,
            min_size=1,
            max_size=self.max_connections,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(self.connect_timeout))},
            check=AsyncConnectionPool.check_connection,  # a connection is checked before use
            timeout=self.connect_timeout,
            open=False,
            name="agents-mcp",
        )
        try:
            await pool.open(wait=True, timeout=self.connect_timeout * 2)
        except BaseException:
            await pool.close()
            raise
        return pool

    async def _renew_pool(self) -> bool:
        """After connection trouble: if the database answers again, replace the pool (its own
        reconnection backs off for minutes after a long outage). True if the store is usable."""
        import psycopg
        from psycopg_pool import PoolTimeout

        async with self._renewing:
            if time.monotonic() - self._renewed_at < _RENEW_SECONDS:
                return True  # another request just did it: try again with that pool
            try:
                await self._probe()
                fresh = await self._new_pool()
            except (psycopg.Error, PoolTimeout):
                return False
            old, self._pool = self._pool, fresh
            self._renewed_at = time.monotonic()
        if old is not None:
            logger.info("the PostgreSQL store is reachable again (new connection pool)")
            await old.close(timeout=1)
        return True

    async def _migrate(self) -> None:
        import psycopg

        try:
            async with self.pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS agents_mcp_schema_version "
                    "(version integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
                )
                cursor = await conn.execute("SELECT MAX(version) FROM agents_mcp_schema_version")
                row = await cursor.fetchone()
                current = (row[0] if row else None) or 0
                if current > SCHEMA_VERSION:
                    raise StoreError(
                        f"the database has agents-mcp schema version {current}, newer than this "
                        f"server's {SCHEMA_VERSION}: upgrade agents-mcp on every replica"
                    )
                for version in range(current + 1, SCHEMA_VERSION + 1):
                    for statement in _MIGRATIONS[version]:
                        await conn.execute(statement)
                    await conn.execute(
                        "INSERT INTO agents_mcp_schema_version (version) VALUES (%s)", (version,)
                    )
        except psycopg.OperationalError as exc:
            raise self._unavailable(exc) from None
        except psycopg.Error as exc:
            raise StoreError(f"cannot prepare the PostgreSQL store: {exc}") from None

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close(timeout=2)

    @property
    def pool(self) -> AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]]:
        if self._pool is None:
            raise RuntimeError("the store is not open")
        return self._pool

    async def _query(self, sql: str, params: Sequence[Any] = ()) -> tuple[int, list[Any]]:
        """Run one statement; (rowcount, rows). Connection trouble -> StoreUnavailableError."""
        import psycopg
        from psycopg_pool import PoolTimeout

        for attempt in (1, 2):
            try:
                async with self.pool.connection() as conn:
                    cursor = await conn.execute(sql, params)
                    rows = await cursor.fetchall() if cursor.description else []
                    return cursor.rowcount, rows
            except (psycopg.OperationalError, PoolTimeout) as exc:
                # every statement here may run twice: upserts, and compare-and-set updates
                # (a claim that went through but whose answer was lost reads as not claimed:
                # its lease then lapses and it is claimed again)
                if attempt == 2 or not await self._renew_pool():
                    raise self._unavailable(exc) from None
        raise AssertionError("unreachable")

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
        from psycopg.types.json import Jsonb

        unfinished = status in ("queued", "running")
        lease = lease_seconds if lease_seconds and unfinished else None
        count, _ = await self._query(
            f"""INSERT INTO agents_mcp_records ({_COLUMNS})
                VALUES (%s, %s, %s, %s, {_NOW}, %s,
                        CASE WHEN %s::float8 IS NULL THEN NULL ELSE {_NOW} + %s::float8 END, %s)
                ON CONFLICT (kind, record_id) DO UPDATE SET
                    status = excluded.status, updated_at = excluded.updated_at,
                    owner = excluded.owner, lease_expires = excluded.lease_expires,
                    data = excluded.data
                WHERE agents_mcp_records.owner IS NOT DISTINCT FROM excluded.owner
                   OR agents_mcp_records.owner IS NULL""",
            (kind, record_id, status, created_at, self.owner, lease, lease, Jsonb(data)),
        )
        return count == 1

    async def get(self, kind: str, record_id: str) -> StoredRecord | None:
        _, rows = await self._query(
            f"SELECT {_COLUMNS} FROM agents_mcp_records WHERE kind = %s AND record_id = %s",
            (kind, record_id),
        )
        return _row(rows[0]) if rows else None

    async def list(self, kind: str, limit: int = 100) -> list[StoredRecord]:
        _, rows = await self._query(
            f"SELECT {_COLUMNS} FROM agents_mcp_records WHERE kind = %s "
            "ORDER BY created_at DESC LIMIT %s",
            (kind, limit),
        )
        return [_row(row) for row in rows]

    async def count(self, kind: str) -> int:
        _, rows = await self._query(
            "SELECT COUNT(*) FROM agents_mcp_records WHERE kind = %s", (kind,)
        )
        return int(rows[0][0])

    async def prune(self, kind: str, keep: int) -> int:
        count, _ = await self._query(
            """DELETE FROM agents_mcp_records WHERE kind = %s
               AND status NOT IN ('queued', 'running') AND record_id NOT IN (
                   SELECT record_id FROM agents_mcp_records WHERE kind = %s
                   AND status NOT IN ('queued', 'running') ORDER BY created_at DESC LIMIT %s)""",
            (kind, kind, keep),
        )
        return count

    # --- leases ---------------------------------------------------------------------------------

    async def renew(self, kind: str, record_ids: Iterable[str], lease_seconds: float) -> int:
        ids = list(record_ids)
        if not ids:
            return 0
        count, _ = await self._query(
            f"""UPDATE agents_mcp_records SET lease_expires = {_NOW} + %s
                WHERE kind = %s AND owner = %s AND status IN ('queued', 'running')
                AND record_id = ANY(%s)""",
            (lease_seconds, kind, self.owner, ids),
        )
        return count

    def presumed_dead(self, record: StoredRecord, now: float) -> bool:
        """Lease lapsed (by `now`, a recent database time: see `clock`)."""
        if record.finished or record.owner == self.owner:
            return False
        return record.owner is None or (record.lease_expires or 0) < now

    async def clock(self) -> float:
        """The database's time (epoch seconds): what leases are measured against."""
        _, rows = await self._query(f"SELECT {_NOW}")
        return float(rows[0][0])

    async def stale(self, kind: str, now: float, limit: int = 20) -> builtins.list[StoredRecord]:
        """`now` is ignored: the database's own clock decides."""
        _, rows = await self._query(
            f"""SELECT {_COLUMNS} FROM agents_mcp_records
                WHERE kind = %s AND status IN ('queued', 'running')
                AND (owner IS NULL OR owner <> %s)
                AND (lease_expires IS NULL OR lease_expires < {_NOW})
                ORDER BY created_at LIMIT %s""",
            (kind, self.owner, limit),
        )
        return [_row(row) for row in rows]

    async def claim(self, kind: str, record: StoredRecord, lease_seconds: float) -> bool:
        count, _ = await self._query(
            f"""UPDATE agents_mcp_records
                SET owner = %s, lease_expires = {_NOW} + %s, updated_at = {_NOW}
                WHERE kind = %s AND record_id = %s AND owner IS NOT DISTINCT FROM %s
                AND updated_at = %s AND status IN ('queued', 'running')
                AND (lease_expires IS NULL OR lease_expires < {_NOW})""",
            (
                self.owner,
                lease_seconds,
                kind,
                record.record_id,
                record.owner,
                record.updated_at,
            ),
        )
        return count == 1

    async def release(self, kind: str, record_ids: Iterable[str]) -> int:
        ids = list(record_ids)
        if not ids:
            return 0
        count, _ = await self._query(
            """UPDATE agents_mcp_records SET lease_expires = 0
               WHERE kind = %s AND owner = %s AND record_id = ANY(%s)""",
            (kind, self.owner, ids),
        )
        return count
