"""Simulations in the store: `SimulationRecord` <-> the generic records of kind "simulation".

A thin typed layer over any `Store` (SQLite by default, PostgreSQL when a database URL is set):
a record is written when a simulation starts, checkpointed while it runs, and written again the
moment it ends. Reading an unfinished record whose owner stopped (see `Store.presumed_dead`)
takes it over: by default it is marked interrupted, keeping the turns received until then; the
runner passes `resumable` for jobs it can finish elsewhere (an upstream test invocation).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents_mcp.simulations.record import SimulationRecord
from agents_mcp.stores import SQLiteStore, Store
from agents_mcp.stores.base import StoredRecord
from agents_mcp.stores.sqlite import FILENAME

__all__ = ["FILENAME", "INTERRUPTED", "KIND", "SimulationStore"]

logger = logging.getLogger("agents_mcp.simulations")

KIND = "simulation"
INTERRUPTED = (
    "The server stopped before this simulation finished (it was restarted or crashed). "
    "The turns received until then are kept; run the simulation again for a complete result."
)
_FIELDS = frozenset(f.name for f in dataclasses.fields(SimulationRecord))


def to_data(record: SimulationRecord) -> dict[str, Any]:
    return dataclasses.asdict(record)


def from_data(data: dict[str, Any]) -> SimulationRecord:
    """A record from its stored document; keys a newer version added are ignored."""
    return SimulationRecord(**{k: v for k, v in data.items() if k in _FIELDS})


class SimulationStore:
    """Typed access to simulation records; `store` is a `Store` or a data directory (SQLite)."""

    def __init__(
        self,
        store: Store | Path | str,
        max_stored: int = 500,
        *,
        lease_seconds: float = 10.0,
        resumable: Callable[[SimulationRecord], bool] | None = None,
    ) -> None:
        self.store: Store = SQLiteStore(store) if isinstance(store, Path | str) else store
        self.max_stored = max_stored
        self.lease_seconds = lease_seconds
        self.resumable = resumable or (lambda record: False)

    @property
    def owner(self) -> str:
        return self.store.owner

    async def open(self) -> SimulationStore:
        await self.store.open()
        return self

    async def close(self) -> None:
        await self.store.close()

    async def save(self, record: SimulationRecord) -> bool:
        """Write the record as this process's; False when another replica took the job over."""
        return await self.store.put(
            KIND,
            record.simulation_id,
            to_data(record),
            status=record.status,
            created_at=record.created_at,
            lease_seconds=self.lease_seconds,
        )

    async def load(self, simulation_id: str) -> StoredRecord | None:
        return await self.store.get(KIND, simulation_id)

    async def get(self, simulation_id: str) -> SimulationRecord | None:
        """The record; an orphan (owner stopped, not resumable) is marked interrupted first."""
        stored = await self.load(simulation_id)
        if stored is None:
            return None
        record = from_data(stored.data)
        if stored.finished or not self.store.presumed_dead(stored, await self._now()):
            return record
        if self.resumable(record):
            return record  # the runner's keeper takes it over and finishes it
        return await self.interrupt(stored) or record

    async def _now(self) -> float:
        clock = getattr(self.store, "clock", None)
        return float(await clock()) if clock is not None else time.time()

    async def interrupt(self, stored: StoredRecord) -> SimulationRecord | None:
        """Claim an orphan and mark it interrupted; None if another replica claimed it first."""
        if not await self.store.claim(KIND, stored, self.lease_seconds):
            fresh = await self.load(stored.record_id)
            return from_data(fresh.data) if fresh else None
        record = from_data(stored.data)
        record.status = "failed"
        record.error = INTERRUPTED
        record.error_type = "Interrupted"
        record.finished_at = time.time()
        await self.save(record)
        logger.warning(
            "simulation %s: its server (%s) stopped; marked interrupted with %d turns",
            record.simulation_id,
            stored.owner,
            len(record.turns),
        )
        return record

    async def prune(self) -> int:
        """Keep the newest `max_stored` finished records; returns how many went."""
        return await self.store.prune(KIND, self.max_stored)

    async def ids(self) -> list[str]:
        """Stored simulation ids, newest first (at most 10 000)."""
        return [r.record_id for r in await self.store.list(KIND, limit=10_000)]

    async def count(self) -> int:
        return await self.store.count(KIND)
