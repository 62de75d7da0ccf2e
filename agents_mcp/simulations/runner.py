"""Simulations as background jobs owned by the server, not by the tool call that started them.

A tool call starts a job and waits for it a bounded time; the job keeps running when the wait
ends, and any later call can wait again (`get_simulation`). Each frame the stream yields becomes
a `Progress` event for whoever waits at that moment. At most `max_concurrent` jobs stream at once;
up to `max_queued` more wait for a slot; beyond that `start` refuses with `SimulationBusyError`.

Backends: `stream` (POST .../simulate-conversation/stream), `tests` (the agent-testing API, see
tests_backend.py), or `auto`: the stream until the simulate endpoint first answers 404/405/410,
then, for the rest of the process, the agent-testing API (the job that met the 404 switches too).

What cancels a job: `cancel()` (the caller of simulate_conversation was cancelled, or a model
asked to stop), and the server stopping. Abandoning a *wait* never does: a wait is a read.
Whatever ends a job, its record is stored at once with the turns received so far.

Replicas sharing a store (PostgreSQL): each running job holds a lease in the store, renewed by a
keeper task; the keeper also finds jobs whose owner stopped renewing and takes them over: a job
on the tests backend is polled to its end from the ids in `record.upstream`, a streamed
one is marked interrupted with what was received. A result the store could not take (database
down) is kept in memory and written again until it is stored.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectSendStream

from agents_mcp.api.errors import APIError, EndpointGoneError
from agents_mcp.errors import JobBusyError, UnknownJobError
from agents_mcp.settings import SimulationBackend as BackendSetting
from agents_mcp.simulations import tests_backend
from agents_mcp.simulations.record import Backend, SimulationRecord, new_simulation_id
from agents_mcp.simulations.request import RequestBuildError
from agents_mcp.simulations.store import INTERRUPTED, KIND, SimulationStore, from_data
from agents_mcp.simulations.summary import progress_message
from agents_mcp.stores import SQLiteStore

if TYPE_CHECKING:
    from agents_mcp.api import AgentsAPI
    from agents_mcp.api.models import SimulateRequest
    from agents_mcp.stores import Store

logger = logging.getLogger("agents_mcp.simulations")

CLOSE_GRACE_SECONDS = 1.0  # closing the upstream stream never takes longer than this
FOREIGN_POLL_SECONDS = 0.5  # waiting on a job another server process owns: poll the store
LEASE_SECONDS = 10.0  # a replica that stops renewing for this long loses its running jobs
HANDED_OVER = (  # what a waiter on a replica that stops reads: the job goes on elsewhere
    "Handed over: this server is shutting down and another server sharing the store finishes "
    "this simulation. Call get_simulation with this simulation_id again in a few seconds."
)


class SimulationBusyError(JobBusyError):
    """Too many simulations running and waiting: refuse the new one (nothing was started)."""


class UnknownSimulationError(UnknownJobError):
    """No simulation with this id was run here (or it was pruned)."""


@dataclass(frozen=True)
class Progress:
    """One frame received: `frames` grows by one each time (a valid MCP progress value)."""

    frames: int
    turns: int
    message: str


ProgressCallback = Callable[[Progress], Awaitable[Any]]


@dataclass(eq=False)
class _Job:
    record: SimulationRecord
    request: SimulateRequest | None  # None: a job taken over from another replica
    prepared: tests_backend.PreparedTest | None = None  # the test body, when checked up front
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    done: anyio.Event = field(default_factory=anyio.Event)
    subscribers: set[MemoryObjectSendStream[Progress]] = field(default_factory=set)
    exception: BaseException | None = None
    cancel_reason: tuple[str, str] | None = None  # (status, message)
    lost: bool = False  # another replica took the job over: write nothing more
    handed_over: bool = False  # stopped so that another replica polls it on: release, no write


class SimulationManager:
    """Owns the background jobs and the store. Use as `async with manager:` (in the lifespan)."""

    def __init__(
        self,
        api: AgentsAPI,
        data_dir: Path | str,
        max_concurrent: int = 4,
        max_stored: int = 500,
        *,
        max_queued: int | None = None,
        checkpoint_seconds: float = 1.0,
        backend: BackendSetting = "auto",
        poll_seconds: float = 2.0,
        simulation_timeout: float = 600.0,
        store: Store | None = None,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.api = api
        self.backend = backend
        self.poll_seconds = poll_seconds
        self.simulation_timeout = simulation_timeout
        self._switched = False  # auto: the simulate endpoint answered 404/405/410 once
        self.max_concurrent = max_concurrent
        self.max_queued = max(4, 2 * max_concurrent) if max_queued is None else max_queued
        self.checkpoint_seconds = checkpoint_seconds  # at most one progress write per job
        self.lease_seconds = lease_seconds
        self.store = SimulationStore(
            data_dir if store is None else store,
            max_stored=max_stored,
            lease_seconds=lease_seconds,
            resumable=self._resumable,
        )
        self._unsaved: dict[str, SimulationRecord] = {}  # finished, not yet in the store
        # stopping hands tests-backend jobs over to replicas sharing the store (not to a file
        # no one else may open: there they are cancelled and their test deleted)
        self.hand_over = not isinstance(self.store.store, SQLiteStore)
        self._limiter = anyio.CapacityLimiter(max_concurrent)
        self._jobs: dict[str, _Job] = {}  # queued or running
        self._recent: dict[str, _Job] = {}  # finished lately (the store has them too)
        self._tg: TaskGroup | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> SimulationManager:
        await self.store.open()
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._keeper, name="simulation store keeper")
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        self.interrupt_all(INTERRUPTED, status="failed")
        assert self._tg is not None
        try:
            with anyio.move_on_after(CLOSE_GRACE_SECONDS + 2, shield=True):
                for job in list(self._jobs.values()):  # each stores (or hands over) its record
                    await job.done.wait()
            self._tg.cancel_scope.cancel()  # the keeper
            return await self._tg.__aexit__(*exc_info)
        finally:
            self._tg = None
            with anyio.CancelScope(shield=True):
                try:
                    await self._flush_unsaved()
                except Exception as exc:  # the store is still down: nothing more can be done
                    logger.error(
                        "%d finished simulation(s) could not be stored before stopping: %s",
                        len(self._unsaved),
                        exc,
                    )
                await self.store.close()

    @staticmethod
    def _resumable(record: SimulationRecord) -> bool:
        """A tests-backend job whose test exists upstream: any replica can poll it to the end."""
        return record.backend == "tests" and bool(record.upstream.get("test_id"))

    # --- leases: renewing ours, taking over theirs ----------------------------------------------

    async def _keeper(self) -> None:
        """Renew this process's leases; take over jobs of replicas that stopped; retry writes."""
        interval = max(0.2, self.lease_seconds / 4)
        while True:
            await anyio.sleep(interval)
            try:
                mine = [sid for sid, job in self._jobs.items() if not job.lost]
                await self.store.store.renew(KIND, mine, self.lease_seconds)
                await self._flush_unsaved()
                await self.adopt_stale()
            except Exception as exc:  # the store is down: try again next round
                logger.warning("simulation store keeper: %s", exc)

    async def adopt_stale(self) -> int:
        """Take over the unfinished jobs whose owner stopped renewing; returns how many."""
        if self._tg is None:
            return 0
        taken = 0
        for stored in await self.store.store.stale(KIND, time.time()):
            if stored.record_id in self._jobs:
                continue
            record = from_data(stored.data)
            if not self._resumable(record):
                taken += await self.store.interrupt(stored) is not None
                continue
            if not await self.store.store.claim(KIND, stored, self.lease_seconds):
                continue  # another replica was quicker
            logger.warning(
                "simulation %s: taking over from %s (upstream %s)",
                record.simulation_id,
                stored.owner,
                record.upstream,
            )
            job = _Job(record=record, request=None)
            self._jobs[record.simulation_id] = job
            self._tg.start_soon(self._run, job, name=f"simulation {record.simulation_id}")
            taken += 1
        return taken

    async def _flush_unsaved(self) -> None:
        for sid, record in list(self._unsaved.items()):
            await self.store.save(record)
            self._unsaved.pop(sid, None)
            logger.info("simulation %s: stored after the store came back", sid)

    # --- starting and running -------------------------------------------------------------------

    @property
    def current_backend(self) -> Backend:
        """The backend a simulation started now runs on."""
        if self.backend == "tests" or (self.backend == "auto" and self._switched):
            return "tests"
        return "stream"

    async def prepare_tests(
        self, agent_id: str, request: SimulateRequest
    ) -> tests_backend.PreparedTest:
        """The checked test body for a tests-backend run (resolving mocked tool names), before
        anything is created: RequestBuildError or an APIError when it cannot be run."""
        body = request.model_dump(mode="json", exclude_none=True)
        return await tests_backend.prepare(self.api, agent_id, body)

    async def start(
        self,
        agent_id: str,
        request: SimulateRequest,
        prepared: tests_backend.PreparedTest | None = None,
    ) -> SimulationRecord:
        """Register and launch a job; returns its record at once (status queued)."""
        if self._tg is None:
            raise RuntimeError("SimulationManager is not running (use `async with manager:`)")
        active = len(self._jobs)
        if active >= self.max_concurrent + self.max_queued:
            raise SimulationBusyError(
                active=active, running=self.max_concurrent, queued=self.max_queued
            )
        record = SimulationRecord(
            simulation_id=new_simulation_id(),
            agent_id=agent_id,
            request=request.model_dump(mode="json", exclude_none=True),
            created_at=time.time(),
            backend="tests" if prepared is not None else self.current_backend,
        )
        job = _Job(record=record, request=request, prepared=prepared)
        self._jobs[record.simulation_id] = job  # counted before the await: the bound holds
        try:
            await self.store.save(record)  # StoreUnavailableError: nothing was started
        except BaseException:
            self._jobs.pop(record.simulation_id, None)
            raise
        self._tg.start_soon(self._run, job, name=f"simulation {record.simulation_id}")
        return record

    async def _checkpoint(self, job: _Job) -> None:
        """Store the progress so far (others, and a crash, see it); never fails the job."""
        try:
            if not await self.store.save(job.record):
                job.lost = True  # another replica took the job over while we were away
                job.record.upstream["handed_over"] = True
                logger.warning("simulation %s: taken over elsewhere", job.record.simulation_id)
                self._cancel(job, "failed", "Taken over by another server.")
        except Exception as exc:
            sid = job.record.simulation_id
            logger.warning("simulation %s: checkpoint not stored: %s", sid, exc)

    async def _run(self, job: _Job) -> None:
        record = job.record
        with job.scope:
            try:
                async with self._limiter:
                    record.status = "running"
                    record.started_at = record.started_at or time.time()
                    await self._checkpoint(job)
                    await self._simulate(job)
                record.status = "done"
            except APIError as exc:
                job.exception = exc
                record.status = "failed"
                record.error = str(exc)
                record.error_type = type(exc).__name__
            except RequestBuildError as exc:  # the switch to tests met an unmappable argument
                record.status = "failed"
                record.error = str(exc)
                record.error_type = "RequestBuildError"
            except Exception as exc:  # a bug, not an API failure: keep the turns, say so
                logger.exception("simulation %s crashed", record.simulation_id)
                job.exception = exc
                record.status = "failed"
                record.error = f"Internal error while streaming ({type(exc).__name__})."
                record.error_type = "InternalError"
        if job.scope.cancelled_caught or (job.cancel_reason and not record.finished):
            status, message = job.cancel_reason or ("cancelled", "Cancelled.")
            record.status = status  # type: ignore[assignment]
            record.error = message
            record.error_type = "Cancelled" if status == "cancelled" else "Interrupted"
        if record.status == "done" and record.analysis is None:  # the client promises this
            record.status = "failed"
            if record.backend == "tests":
                run = record.upstream.get("run_status", "no run")
                record.error = f"The test run ended without a verdict (status {run})."
                record.error_type = "UpstreamError"
            else:
                record.error = "The stream ended without an analysis."
                record.error_type = "StreamError"
        record.finished_at = time.time()
        with anyio.CancelScope(shield=True):
            await self._finish(job)

    async def _simulate(self, job: _Job) -> None:
        record = job.record
        if record.backend == "stream":
            try:
                await self._stream(job)
                return
            except EndpointGoneError:
                if self.backend != "auto" or record.frames:
                    raise
                if not self._switched:
                    logger.warning(
                        "the simulate-conversation endpoint is gone: simulations now run on "
                        "the agent-testing API (AGENTS_MCP_SIMULATION_BACKEND=auto)"
                    )
                self._switched = True
                record.backend = "tests"
                record.upstream["switched_from_stream"] = True
        await self._run_tests(job)

    async def _run_tests(self, job: _Job) -> None:
        """Create, run and poll a test; or, for a job taken over (no request), poll on."""
        record = job.record
        last_save = time.monotonic()

        async def on_poll(message: str) -> None:
            nonlocal last_save
            record.frames += 1
            self._publish(job, message)
            if time.monotonic() - last_save >= self.checkpoint_seconds:
                await self._checkpoint(job)
                last_save = time.monotonic()

        async def save(_: SimulationRecord) -> None:  # the test and invocation ids: at once
            await self._checkpoint(job)

        if job.request is None:  # taken over from a replica that stopped
            await tests_backend.resume_tests_job(
                self.api,
                record,
                poll_seconds=self.poll_seconds,
                max_seconds=self.simulation_timeout,
                on_poll=on_poll,
                save=save,
            )
            return
        prepared = job.prepared
        if prepared is None:
            prepared = await self.prepare_tests(record.agent_id, job.request)
        await tests_backend.run_tests_job(
            self.api,
            record,
            prepared,
            poll_seconds=self.poll_seconds,
            max_seconds=self.simulation_timeout,
            on_poll=on_poll,
            save=save,
        )

    async def _stream(self, job: _Job) -> None:
        record = job.record
        assert job.request is not None
        stream = self.api.simulate_stream(record.agent_id, job.request)
        last_save = time.monotonic()
        try:
            async for frame in stream:
                record.frames += 1
                new = frame.simulated_conversation
                record.turns.extend(t.model_dump(mode="json", exclude_unset=True) for t in new)
                if frame.analysis is not None:
                    record.analysis = frame.analysis.model_dump(mode="json", exclude_unset=True)
                self._publish(job)
                if time.monotonic() - last_save >= self.checkpoint_seconds:
                    await self._checkpoint(job)
                    last_save = time.monotonic()
        finally:
            # Close the upstream response now, even when cancelled, but never hang on it.
            with anyio.move_on_after(CLOSE_GRACE_SECONDS, shield=True):
                await stream.aclose()

    def _publish(self, job: _Job, message: str | None = None) -> None:
        record = job.record
        event = Progress(record.frames, len(record.turns), message or progress_message(record))
        for send in list(job.subscribers):
            try:
                send.send_nowait(event)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                job.subscribers.discard(send)

    async def _finish(self, job: _Job) -> None:
        record = job.record
        handed_over = job.handed_over
        try:
            if handed_over:
                await self.store.store.release(KIND, [record.simulation_id])
            elif not job.lost:
                with anyio.fail_after(10):
                    job.lost = not await self.store.save(record)
                await self.store.prune()
        except Exception as exc:  # the store failing must not lose the result: retried later
            logger.warning("simulation %s not stored yet: %s", record.simulation_id, exc)
            if not handed_over:
                self._unsaved[record.simulation_id] = record
        if handed_over:
            logger.warning(
                "simulation %s handed over: a replica sharing the store polls its test run on",
                record.simulation_id,
            )
        else:
            logger.info(
                "simulation %s %s: %d turns, %d frames%s",
                record.simulation_id,
                record.status,
                len(record.turns),
                record.frames,
                f" ({record.error_type})" if record.error_type else "",
            )
        for send in list(job.subscribers):
            send.close()
        job.subscribers.clear()
        self._jobs.pop(record.simulation_id, None)
        self._recent[record.simulation_id] = job
        while len(self._recent) > 32:  # finished jobs stay in memory a little while
            self._recent.pop(next(iter(self._recent)))
        job.done.set()

    # --- reading, waiting, cancelling -----------------------------------------------------------

    def _job(self, simulation_id: str) -> _Job | None:
        return self._jobs.get(simulation_id) or self._recent.get(simulation_id)

    def exception(self, simulation_id: str) -> BaseException | None:
        """The exception that failed a job of this process (None after a restart)."""
        job = self._job(simulation_id)
        return job.exception if job else None

    async def get(self, simulation_id: str) -> SimulationRecord:
        """The record, from this process or the store (StoreUnavailableError when it is down)."""
        job = self._job(simulation_id)
        if job is not None and not job.lost:
            return job.record
        if simulation_id in self._unsaved:
            return self._unsaved[simulation_id]
        record = await self.store.get(simulation_id)
        if record is None:
            raise UnknownSimulationError(simulation_id)
        return record

    async def wait(
        self,
        simulation_id: str,
        seconds: float,
        on_progress: ProgressCallback | None = None,
    ) -> SimulationRecord:
        """Wait up to `seconds` for the job to finish, calling `on_progress` once per frame.

        Returns the record either way (check `.finished`). Being cancelled only ends the wait.
        """
        job = self._job(simulation_id)
        if job is None or job.lost:
            return await self._wait_stored(simulation_id, seconds, on_progress)
        if job.record.finished or seconds <= 0:
            return job.record
        send, receive = anyio.create_memory_object_stream[Progress](math.inf)
        job.subscribers.add(send)  # before any await: no frame can slip between
        try:
            with anyio.move_on_after(seconds), receive:
                async for event in receive:
                    if on_progress is not None:
                        await on_progress(event)
        finally:
            job.subscribers.discard(send)
            send.close()
        return job.record

    async def _wait_stored(
        self, simulation_id: str, seconds: float, on_progress: ProgressCallback | None = None
    ) -> SimulationRecord:
        """A job of another process sharing the store: poll its checkpoints (progress included).

        The job may move here meanwhile (taken over): then this waits on it in memory.
        """
        record = await self.get(simulation_id)
        deadline = time.monotonic() + max(0.0, seconds)
        with anyio.move_on_after(max(0.0, seconds)):
            while not record.finished:
                await anyio.sleep(FOREIGN_POLL_SECONDS)
                job = self._jobs.get(simulation_id)
                if job is not None and not job.lost:
                    left = deadline - time.monotonic()
                    return await self.wait(simulation_id, left, on_progress)
                frames = record.frames
                record = await self.get(simulation_id)
                if on_progress is not None and record.frames > frames:
                    await on_progress(
                        Progress(record.frames, len(record.turns), progress_message(record))
                    )
        return record

    def cancel_nowait(self, simulation_id: str, reason: str = "Cancelled on request.") -> bool:
        """Stop a job of this process; True if it was still going. Safe inside a cancelled scope."""
        job = self._jobs.get(simulation_id)
        if job is None or job.record.finished:
            return False
        self._cancel(job, "cancelled", reason)
        return True

    def interrupt_all(self, reason: str, status: str = "cancelled") -> int:
        """Stop every job this process runs or queues (server shutdown); returns how many.

        Jobs another replica can finish (tests backend, its test created upstream) are handed over
        instead: their lease is released, so a replica sharing the store takes them at once.
        """
        stopped = 0
        for job in list(self._jobs.values()):
            if job.record.finished:
                continue
            if self.hand_over and self._resumable(job.record):
                job.record.upstream["handed_over"] = True  # the test stays upstream
                job.handed_over = True
                self._cancel(job, status, HANDED_OVER)
            else:
                self._cancel(job, status, reason)
            stopped += 1
        return stopped

    async def cancel(
        self, simulation_id: str, reason: str = "Cancelled on request."
    ) -> SimulationRecord:
        """Stop a job and wait (briefly) until its partial result is stored."""
        job = self._jobs.get(simulation_id)
        if job is not None and self.cancel_nowait(simulation_id, reason):
            with anyio.move_on_after(CLOSE_GRACE_SECONDS + 1):
                await job.done.wait()
        return await self.get(simulation_id)

    def _cancel(self, job: _Job, status: str, message: str) -> None:
        if job.cancel_reason is None:
            job.cancel_reason = (status, message)
        job.scope.cancel()
