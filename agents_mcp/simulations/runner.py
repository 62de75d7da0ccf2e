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
from agents_mcp.simulations.store import INTERRUPTED, SimulationStore
from agents_mcp.simulations.summary import progress_message

if TYPE_CHECKING:
    from agents_mcp.api import AgentsAPI
    from agents_mcp.api.models import SimulateRequest

logger = logging.getLogger("agents_mcp.simulations")

CLOSE_GRACE_SECONDS = 1.0  # closing the upstream stream never takes longer than this
FOREIGN_POLL_SECONDS = 0.5  # waiting on a job another server process owns: poll the store


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
    request: SimulateRequest
    prepared: tests_backend.PreparedTest | None = None  # the test body, when checked up front
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    done: anyio.Event = field(default_factory=anyio.Event)
    subscribers: set[MemoryObjectSendStream[Progress]] = field(default_factory=set)
    exception: BaseException | None = None
    cancel_reason: tuple[str, str] | None = None  # (status, message)


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
        checkpoint_seconds: float = 2.0,
        backend: BackendSetting = "auto",
        poll_seconds: float = 2.0,
        simulation_timeout: float = 600.0,
    ) -> None:
        self.api = api
        self.backend = backend
        self.poll_seconds = poll_seconds
        self.simulation_timeout = simulation_timeout
        self._switched = False  # auto: the simulate endpoint answered 404/405/410 once
        self.max_concurrent = max_concurrent
        self.max_queued = max(4, 2 * max_concurrent) if max_queued is None else max_queued
        self.checkpoint_seconds = checkpoint_seconds
        self.store = SimulationStore(data_dir, max_stored=max_stored)
        self._limiter = anyio.CapacityLimiter(max_concurrent)
        self._jobs: dict[str, _Job] = {}  # queued or running
        self._recent: dict[str, _Job] = {}  # finished lately (the store has them too)
        self._tg: TaskGroup | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> SimulationManager:
        self.store.open()
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        for job in list(self._jobs.values()):
            self._cancel(job, "failed", INTERRUPTED)
        try:
            assert self._tg is not None
            return await self._tg.__aexit__(*exc_info)
        finally:
            self._tg = None
            self.store.close()

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

    def start(
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
        self.store.save(record)
        self._jobs[record.simulation_id] = job
        self._tg.start_soon(self._run, job, name=f"simulation {record.simulation_id}")
        return record

    async def _run(self, job: _Job) -> None:
        record = job.record
        with job.scope:
            try:
                async with self._limiter:
                    record.status = "running"
                    record.started_at = time.time()
                    self.store.save(record)
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
        self._finish(job)

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
        record = job.record
        prepared = job.prepared
        if prepared is None:
            prepared = await self.prepare_tests(record.agent_id, job.request)

        async def on_poll(message: str) -> None:
            record.frames += 1
            self._publish(job, message)
            self.store.save(record)

        await tests_backend.run_tests_job(
            self.api,
            record,
            prepared,
            poll_seconds=self.poll_seconds,
            max_seconds=self.simulation_timeout,
            on_poll=on_poll,
            save=self.store.save,
        )

    async def _stream(self, job: _Job) -> None:
        record = job.record
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
                    self.store.save(record)  # others (and a crash) see the progress so far
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

    def _finish(self, job: _Job) -> None:
        record = job.record
        try:
            self.store.save(record)
            self.store.prune()
        except Exception:  # the disk failing must not lose the in-memory result
            logger.exception("could not store simulation %s", record.simulation_id)
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

    def get(self, simulation_id: str) -> SimulationRecord:
        job = self._job(simulation_id)
        if job is not None:
            return job.record
        record = self.store.get(simulation_id)
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
        if job is None:
            return await self._wait_stored(simulation_id, seconds)
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

    async def _wait_stored(self, simulation_id: str, seconds: float) -> SimulationRecord:
        """A job of another process sharing the data dir: poll its checkpoints."""
        record = self.get(simulation_id)
        with anyio.move_on_after(max(0.0, seconds)):
            while not record.finished:
                await anyio.sleep(FOREIGN_POLL_SECONDS)
                record = self.get(simulation_id)
        return record

    def cancel_nowait(self, simulation_id: str, reason: str = "Cancelled on request.") -> bool:
        """Stop a job of this process; True if it was still going. Safe inside a cancelled scope."""
        job = self._jobs.get(simulation_id)
        if job is None or job.record.finished:
            return False
        self._cancel(job, "cancelled", reason)
        return True

    def interrupt_all(self, reason: str) -> int:
        """Stop every job this process runs or queues (server shutdown); returns how many."""
        return sum(self.cancel_nowait(simulation_id, reason) for simulation_id in list(self._jobs))

    async def cancel(
        self, simulation_id: str, reason: str = "Cancelled on request."
    ) -> SimulationRecord:
        """Stop a job and wait (briefly) until its partial result is stored."""
        job = self._jobs.get(simulation_id)
        if job is not None and self.cancel_nowait(simulation_id, reason):
            with anyio.move_on_after(CLOSE_GRACE_SECONDS + 1):
                await job.done.wait()
        return self.get(simulation_id)

    def _cancel(self, job: _Job, status: str, message: str) -> None:
        if job.cancel_reason is None:
            job.cancel_reason = (status, message)
        job.scope.cancel()
