"""The one store interface: JSON records by (kind, id), each with a status and a lease.

A record is a job's state (a "simulation" now, a "test_run" later): `data` is its JSON document,
`status` and `created_at` are copied out of it so the store can list, prune and find stale jobs.
An unfinished record has an `owner` (the replica running it) and `lease_expires` (epoch seconds):
the owner renews the lease while it works; once it lapses, any replica may `claim` the record
(take it over, or mark it interrupted). Writes by an owner that lost its lease are refused
(`put(..., owner=...)` returns False), so a replica that was presumed dead cannot clobber the
replica that took its job over.

Implementations: `SQLiteStore` (embedded default, one file) and `PostgresStore` (shared by
replicas, `AGENTS_MCP_DATABASE_URL`). Both are async; both create and migrate their own schema.
"""

from __future__ import annotations

import builtins
import os
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

JSONDict = dict[str, Any]

UNFINISHED: tuple[str, ...] = ("queued", "running")


class StoreError(Exception):
    """The store refused or failed an operation; the message says what to do (no secrets)."""


class StoreUnavailableError(StoreError):
    """The store cannot be reached right now (database down, network); try again shortly."""


@dataclass(frozen=True)
class StoredRecord:
    kind: str
    record_id: str
    status: str
    data: JSONDict
    owner: str | None
    lease_expires: float | None
    created_at: float
    updated_at: float

    @property
    def finished(self) -> bool:
        return self.status not in UNFINISHED


def new_owner_id() -> str:
    """This process, unique across hosts and restarts: host:pid:random."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def owner_pid(owner: str, host: str | None = None) -> int | None:
    """The pid in an owner id when it names a process of this host (else None)."""
    parts = owner.split(":")
    if len(parts) < 2 or not parts[1].isdigit():
        return None
    if parts[0] != (host or socket.gethostname()):
        return None
    return int(parts[1])


@runtime_checkable
class Store(Protocol):
    """What the job runners need from a store; every method is one short transaction."""

    owner: str  # this process's owner id

    async def open(self) -> None:
        """Connect, then create or migrate the schema (safe when replicas start together)."""

    async def close(self) -> None: ...

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
        """Insert or replace a record owned by this process, renewing its lease when given.

        Returns False (and changes nothing) when another owner holds the record: the job was
        taken over.
        """
        ...

    async def get(self, kind: str, record_id: str) -> StoredRecord | None: ...

    async def list(self, kind: str, limit: int = 100) -> list[StoredRecord]:
        """The newest records of a kind first."""
        ...

    async def count(self, kind: str) -> int: ...

    async def prune(self, kind: str, keep: int) -> int:
        """Keep the newest `keep` finished records of a kind; returns how many went."""
        ...

    async def renew(self, kind: str, record_ids: Iterable[str], lease_seconds: float) -> int:
        """Extend this owner's leases on these records; returns how many are still ours."""
        ...

    def presumed_dead(self, record: StoredRecord, now: float) -> bool:
        """Whether an unfinished record's owner stopped (its lease lapsed by `now`, or more
        direct evidence the implementation has); never True for this process's records."""
        ...

    async def stale(self, kind: str, now: float, limit: int = 20) -> builtins.list[StoredRecord]:
        """Unfinished records whose lease has lapsed (their owner stopped renewing)."""
        ...

    async def claim(self, kind: str, record: StoredRecord, lease_seconds: float) -> bool:
        """Take over a stale record if no one else did meanwhile (compare-and-set)."""
        ...

    async def release(self, kind: str, record_ids: Iterable[str]) -> int:
        """Give up this owner's leases now, so another replica takes these jobs at once."""
        ...
