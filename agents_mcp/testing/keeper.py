"""The lease keeper of the test runs this process follows: renew, write what was missed, take over.

Rules (see runner.py for the whole life of a run):
- Every quarter lease (at least 0.2 s) it renews the leases of the runs this process follows,
  writes the finished records the store could not take earlier, and claims the running runs
  whose owner stopped renewing; a claimed run is handed to `resume` (the runner follows it on).
- A run that a live process follows is never taken; a claim is compare-and-set in the store, so
  two processes never both follow a run.
- A store that is down only delays all this to the next round; the keeper never stops.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

import anyio

from agents_mcp.testing.record import TestRunRecord, TestRunStore
from agents_mcp.testing.store import from_data

logger = logging.getLogger("agents_mcp.testing")


class FollowedRun(Protocol):
    lost: bool  # another process took the run over


class RunKeeper:
    """Lease work for a `TestRunManager`: `jobs` and `unsaved` are the manager's own maps."""

    def __init__(
        self,
        store: TestRunStore,
        jobs: Mapping[str, FollowedRun],
        unsaved: dict[str, TestRunRecord],
        resume: Callable[[TestRunRecord], Awaitable[None]],
        lease_seconds: float,
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.unsaved = unsaved
        self.resume = resume
        self.lease_seconds = lease_seconds

    async def run(self) -> None:
        """Renew this process's leases; write what the store missed; take over orphans."""
        interval = max(0.2, self.lease_seconds / 4)
        while True:
            await anyio.sleep(interval)
            try:
                await self.store.renew([r for r, job in self.jobs.items() if not job.lost])
                await self.flush_unsaved()
                await self.adopt_stale()
            except Exception as exc:  # the store is down: try again next round
                logger.warning("test run store keeper: %s", exc)

    async def flush_unsaved(self) -> None:
        for run_id, record in list(self.unsaved.items()):
            await self.store.put(record)
            self.unsaved.pop(run_id, None)

    async def adopt_stale(self) -> int:
        """Take over the running runs whose owner stopped renewing; returns how many."""
        taken = 0
        for stored in await self.store.stale():
            if stored.record_id not in self.jobs and await self.store.claim(stored):
                logger.warning("test run %s: taking over from %s", stored.record_id, stored.owner)
                await self.resume(from_data(stored.data))
                taken += 1
        return taken

    async def adopt_if_orphaned(self, run_id: str) -> None:
        """Follow a running run no live process follows (its owner stopped)."""
        if run_id in self.jobs:
            return
        stored = await self.store.load(run_id)
        if stored is None or stored.finished:
            return
        if stored.owner != self.store.owner:  # ours without a job: an earlier manager's
            if not self.store.presumed_dead(stored, await self.store.now()):
                return  # a live process follows it
            if not await self.store.claim(stored):
                return  # another process was quicker
            logger.warning("test run %s: taking over from %s", run_id, stored.owner)
        await self.resume(from_data(stored.data))
