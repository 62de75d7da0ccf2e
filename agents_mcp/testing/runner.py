"""The I/O of a test run: prepare (reads only), launch (creates, runs), follow (polls), clean up.

Rules:
- `prepare` only reads (the agent, the tests named by id, the workspace's tools, a stored
  baseline) and checks everything, so the caller can count the runs and ask the user before
  anything is created or paid for.
- `launch` creates the scenarios' ad-hoc tests and starts ONE run-tests call for the candidate
  (all tests, repeat_count) and, with a live baseline, one more for the baseline. Whatever fails
  on the way, what was created is deleted and what was started is cancelled.
- Following is one background job per run: each poll interval it GETs each unfinished invocation
  once, however many callers wait (they wait on the job's updates), and reports progress to every
  waiter. It stores the record when a run's status changed (or at least every half lease), not
  on every poll: an invocation of 1,000 runs is megabytes. When done, ad-hoc tests are deleted
  unless kept.
- The store (testing/store.py) may be shared by replicas (PostgreSQL): a running run holds a
  lease there, renewed by the keeper (testing/keeper.py) while this process follows it. A run
  whose owner stopped renewing (killed, or released on shutdown) is claimed by the keeper of
  another process, or by the first one to read it, and followed from the invocation ids stored
  (polled, summarized, its ad-hoc tests deleted); one stopped before its run started is marked
  failed and cleaned up.
  A process that reads a run another live process follows polls the stored record instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from agents_mcp.api.errors import APIError
from agents_mcp.testing import agent_config, analysis, views
from agents_mcp.testing.keeper import RunKeeper
from agents_mcp.testing.record import (
    BaselineSide,
    StoredTest,
    TestRunRecord,
    TestRunStore,
    UnknownRunError,
    new_run_id,
)
from agents_mcp.testing.suite import PlannedTest, SuiteError, mocked_tools, scenario_body

if TYPE_CHECKING:
    from agents_mcp.api import AgentsAPI

logger = logging.getLogger("agents_mcp.testing")

CLEANUP_SECONDS = 15.0
MAX_POLL_FAILURES = 5  # consecutive failed polls before the run is given up as failed
DEFAULT_RUN_TIMEOUT = 1800.0  # a whole run: the real API takes minutes per run
FOREIGN_POLL_SECONDS = 0.5  # waiting on a run another process follows: read the store this often
LEASE_SECONDS = 10.0  # the default lease of a store without its own setting
NOT_STARTED = (
    "The server stopped before this test run started (it was restarted or crashed); nothing "
    "ran. Its temporary tests were deleted; run the tests again."
)

ProgressCallback = Callable[[int, int, str], Awaitable[Any]]  # done, total, message


@dataclass
class BaselineRequest:
    """`baseline` of run_tests: omitted fields mean the same agent as stored."""

    agent_id: str | None = None
    branch_id: str | None = None
    agent_config_override: dict[str, Any] | None = None


@dataclass
class Plan:
    """What a run will do, checked; nothing created yet."""

    agent_id: str
    branch_id: str | None
    repeat: int
    tests: list[PlannedTest]
    override: dict[str, Any] | None = None  # partial, as given
    full_override: dict[str, Any] | None = None  # merged onto the stored config
    baseline: BaselineSide | None = None
    baseline_full_override: dict[str, Any] | None = None
    keep_tests: bool = False
    tool_ids: dict[str, str] = field(default_factory=dict)
    max_turns: dict[str, int] = field(default_factory=dict)  # existing tests' limits

    @property
    def run_count(self) -> int:
        """Runs this call will start (and pay for): tests x repeat, twice with a live baseline."""
        sides = 2 if self.baseline is not None and self.baseline.source == "live" else 1
        return len(self.tests) * self.repeat * sides


def progress_text(record: TestRunRecord) -> tuple[int, int, str]:
    done, total, passed = views.progress(record)
    return done, total, f"{done}/{total} runs done, {passed} passed"


def _side_done(record: TestRunRecord, index: int) -> bool:
    current = record.side(index)[1]
    return current is not None and analysis.invocation_done(current)


class _Job:
    """A run this process follows: its record (the latest state), and events for waiters."""

    def __init__(self, record: TestRunRecord) -> None:
        self.record = record
        self.updated = anyio.Event()
        self.finished = anyio.Event()
        self.scope = anyio.CancelScope()
        self.lost = False  # another process took the run over: write nothing more

    def notify(self) -> None:
        self.updated.set()
        self.updated = anyio.Event()


class TestRunManager:
    """Owns the follow jobs and the store seam. Use as `async with manager:`."""

    __test__ = False

    def __init__(
        self,
        api: AgentsAPI,
        store: TestRunStore,
        *,
        poll_seconds: float = 2.0,
        run_timeout: float = DEFAULT_RUN_TIMEOUT,
    ) -> None:
        self.api = api
        self.store = store
        self.poll_seconds = poll_seconds
        self.run_timeout = run_timeout
        self.lease_seconds = getattr(store, "lease_seconds", LEASE_SECONDS)
        self._jobs: dict[str, _Job] = {}
        self._unsaved: dict[str, TestRunRecord] = {}  # finished, the store was down
        self._tg: TaskGroup | None = None
        self._keeper = RunKeeper(store, self._jobs, self._unsaved, self._resume, self.lease_seconds)

    async def __aenter__(self) -> TestRunManager:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._keeper.run, name="test run store keeper")
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self._tg is not None
        running = [run_id for run_id, job in self._jobs.items() if not job.lost]
        self._tg.cancel_scope.cancel()  # records stay "running": another process follows them
        await self._tg.__aexit__(None, None, None)
        self._tg = None
        with anyio.CancelScope(shield=True), anyio.move_on_after(CLEANUP_SECONDS):
            try:
                await self._keeper.flush_unsaved()
                if running:  # released: a process sharing the store takes them over at once
                    await self.store.release(running)
                    logger.info("%d running test run(s) handed over", len(running))
            except Exception as exc:
                logger.warning("test run store not updated on shutdown: %s", exc)

    # --- leases: renewing ours, taking over theirs --------------------------------------------

    async def adopt_stale(self) -> int:
        """Take over the running runs whose owner stopped renewing; returns how many."""
        return await self._keeper.adopt_stale()

    async def _adopt_if_orphaned(self, run_id: str) -> None:
        if self._tg is not None:
            await self._keeper.adopt_if_orphaned(run_id)

    async def _resume(self, record: TestRunRecord) -> None:
        """Follow a run taken over; one whose run never started is failed and cleaned up."""
        if record.invocation_id is not None:
            self._follow(record)
            return
        record.status = "failed"
        record.error = NOT_STARTED
        record.finished_at = time.time()
        with anyio.CancelScope(shield=True):
            await self._clean_up(record)
            await self.store.put(record)

    # --- prepare (reads only) ---------------------------------------------------------------

    async def prepare(
        self,
        agent_id: str,
        tests: list[PlannedTest],
        *,
        repeat: int = 1,
        branch_id: str | None = None,
        agent_config_override: Mapping[str, Any] | None = None,
        baseline: BaselineRequest | None = None,
        baseline_run_id: str | None = None,
        attached: bool = False,
        keep_tests: bool = False,
    ) -> Plan:
        from agents_mcp.api import validate_agent_id

        validate_agent_id(agent_id)
        if baseline is not None and baseline_run_id is not None:
            raise SuiteError(["baseline and baseline_run_id: give one, not both"])
        partial = (
            agent_config.check_override(agent_config_override)
            if agent_config_override is not None
            else None
        )
        plan = Plan(agent_id, branch_id, repeat, list(tests), override=partial)
        plan.keep_tests = keep_tests
        stored: dict[str, Any] | None = None
        if attached or partial is not None:
            stored = await agent_config.fetch_agent(self.api, agent_id, branch_id)
        if attached and stored is not None:
            known = {t.test_id for t in plan.tests}
            for test_id in agent_config.attached_test_ids(stored):
                if test_id not in known:
                    plan.tests.append(PlannedTest(name=test_id, test_id=test_id))
        if not plan.tests:
            raise SuiteError(["tests: no test to run (give tests, or attached=true)"])
        if partial is not None and stored is not None:
            plan.full_override = agent_config.override_config(stored, partial)
        await self._describe_existing(plan)
        names = mocked_tools(plan.tests)
        if names:
            for tool in await self.api.list_tools():
                plan.tool_ids.setdefault(tool.name, tool.id)
        for test in plan.tests:  # an unknown mocked tool fails here, before anything is created
            if test.scenario is not None:
                scenario_body(test, test.name, plan.tool_ids)
        if baseline is not None:
            await self._plan_live_baseline(plan, baseline)
        elif baseline_run_id is not None:
            plan.baseline = await self._stored_baseline(baseline_run_id)
        return plan

    async def _describe_existing(self, plan: Plan) -> None:
        """Names, conditions and turn limits of the tests given by id (one GET each; an
        unknown id fails here, before any credit is spent)."""
        names = {t.name for t in plan.tests if t.scenario is not None}
        for test in plan.tests:
            if test.scenario is not None or test.test_id is None:
                continue
            details = await self.api.get_test(test.test_id)
            extra = details.model_extra or {}
            conditions = extra.get("success_conditions")
            if isinstance(conditions, list):
                test.conditions = [c for c in conditions if isinstance(c, str)]
            turns = extra.get("simulation_max_turns")
            if isinstance(turns, int):
                plan.max_turns[test.test_id] = turns
            if test.name == test.test_id and details.name:
                test.name = details.name if details.name not in names else test.test_id
            names.add(test.name)

    async def _plan_live_baseline(self, plan: Plan, baseline: BaselineRequest) -> None:
        from agents_mcp.api import validate_agent_id

        agent_id = validate_agent_id(baseline.agent_id or plan.agent_id)
        side = BaselineSide(source="live", agent_id=agent_id, branch_id=baseline.branch_id)
        if baseline.agent_config_override is not None:
            partial = agent_config.check_override(
                baseline.agent_config_override, "baseline.agent_config_override"
            )
            side.agent_config_override = partial
            stored = await agent_config.fetch_agent(self.api, agent_id, baseline.branch_id)
            plan.baseline_full_override = agent_config.override_config(stored, partial)
        plan.baseline = side

    async def _stored_baseline(self, run_id: str) -> BaselineSide:
        earlier = await self.store.get(run_id)
        if earlier is None:
            raise SuiteError([f"baseline_run_id: no stored run {run_id[:40]!r}"])
        if earlier.status != "done":
            raise SuiteError(
                [f"baseline_run_id: run {run_id} is {earlier.status}; compare with a finished run"]
            )
        runs_by_name = {
            t.name: [dict(r) for r in analysis.runs_by_test(earlier.invocation, t.test_id)]
            for t in earlier.tests
        }
        return BaselineSide(
            source="stored",
            agent_id=earlier.agent_id,
            branch_id=earlier.branch_id,
            run_id=earlier.run_id,
            runs_by_name=runs_by_name,
        )

    # --- launch -----------------------------------------------------------------------------

    async def launch(self, plan: Plan) -> TestRunRecord:
        """Create the ad-hoc tests, start the run(s), store the record and follow it."""
        record = TestRunRecord(
            run_id=new_run_id(),
            agent_id=plan.agent_id,
            branch_id=plan.branch_id,
            repeat=plan.repeat,
            tests=[
                StoredTest(
                    name=t.name,
                    test_id=t.test_id,
                    conditions=list(t.conditions),
                    max_turns=(
                        t.scenario.max_turns
                        if t.scenario is not None
                        else plan.max_turns.get(t.test_id or "")
                    ),
                    ad_hoc=t.scenario is not None,
                )
                for t in plan.tests
            ],
            agent_config_override=plan.override,
            baseline=plan.baseline,
            keep_tests=plan.keep_tests,
        )
        if self._tg is None:
            raise RuntimeError("the test run manager is not running")
        job = self._jobs[record.run_id] = _Job(record)  # its lease is renewed from now on
        try:
            for stored, planned in zip(record.tests, plan.tests, strict=True):
                if planned.scenario is None:
                    continue
                body = scenario_body(
                    planned, f"{planned.name} (agents-mcp {record.run_id})", plan.tool_ids
                )
                stored.test_id = await self.api.create_test(body)
                await self.store.put(record)
            ids = [t.test_id for t in record.tests if t.test_id]
            invocation = await self.api.run_tests(
                plan.agent_id,
                tests=ids,
                repeat_count=plan.repeat if plan.repeat > 1 else None,
                branch_id=plan.branch_id,
                name=f"agents-mcp {record.run_id}",
                agent_config_override=plan.full_override,
            )
            record.invocation_id = invocation.id
            record.invocation = invocation.model_dump(mode="json")
            await self.store.put(record)
            side = record.baseline
            if side is not None and side.source == "live":
                base = await self.api.run_tests(
                    side.agent_id,
                    tests=ids,
                    repeat_count=plan.repeat if plan.repeat > 1 else None,
                    branch_id=side.branch_id,
                    name=f"agents-mcp {record.run_id} baseline",
                    agent_config_override=plan.baseline_full_override,
                )
                side.invocation_id = base.id
                side.invocation = base.model_dump(mode="json")
        except BaseException as exc:
            record.status = "failed"
            record.error = (
                str(exc) if isinstance(exc, APIError | SuiteError) else type(exc).__name__
            )
            record.finished_at = time.time()
            self._jobs.pop(record.run_id, None)
            with anyio.CancelScope(shield=True):
                await self._cancel_upstream(record)
                await self._clean_up(record)
                await self.store.put(record)
            raise
        await self._save(job)
        self._follow(record, job)
        return record

    # --- follow -----------------------------------------------------------------------------

    def _follow(self, record: TestRunRecord, job: _Job | None = None) -> _Job:
        """Poll the run in the background (once per run, whoever waits); `job`: launch's."""
        if self._tg is None:
            raise RuntimeError("the test run manager is not running")
        if job is None:
            if record.run_id in self._jobs:
                return self._jobs[record.run_id]
            job = self._jobs[record.run_id] = _Job(record)
        self._tg.start_soon(self._poll, job, name=f"test run {record.run_id}")
        return job

    async def _save(self, job: _Job) -> bool:
        """Store the record; False once another process took the run over (then stop)."""
        try:
            if await self.store.put(job.record):
                self._unsaved.pop(job.record.run_id, None)
                return True
        except Exception as exc:  # the store is down: the next poll (or the keeper) writes it
            logger.warning("test run %s not stored yet: %s", job.record.run_id, exc)
            if job.record.finished:
                self._unsaved[job.record.run_id] = job.record
            return True
        job.lost = True
        logger.warning("test run %s: taken over by another server", job.record.run_id)
        return False

    async def _poll(self, job: _Job) -> None:
        record = job.record
        failures = 0
        saved, saved_at = record.poll_signature(), time.monotonic()  # launch/resume stored it
        try:
            with job.scope:
                while not record.finished:
                    await anyio.sleep(self.poll_seconds)
                    try:
                        await self._refresh(record)
                        failures = 0
                    except APIError as exc:
                        failures += 1
                        logger.warning(
                            "polling test run %s failed (%s)", record.run_id, type(exc).__name__
                        )
                        if failures >= MAX_POLL_FAILURES:
                            record.status = "failed"
                            record.error = f"Polling the run failed {failures} times: {exc}"
                    if not record.finished and time.time() - record.created_at > self.run_timeout:
                        record.status = "failed"
                        record.error = (
                            f"The run did not finish within {self.run_timeout:.0f} s; "
                            "it was cancelled."
                        )
                    if record.finished:
                        record.finished_at = time.time()
                        with anyio.CancelScope(shield=True):
                            if record.status != "done":
                                await self._cancel_upstream(record)
                            await self._clean_up(record)
                    state = record.poll_signature()
                    stale = time.monotonic() - saved_at >= self.lease_seconds / 2
                    if state != saved or stale or record.finished:
                        if not await self._save(job):
                            return
                        saved, saved_at = state, time.monotonic()
                    job.notify()
                with anyio.CancelScope(shield=True):
                    try:
                        await self.store.prune()
                    except Exception as exc:
                        logger.warning("test runs not pruned: %s", exc)
        finally:
            job.finished.set()
            job.notify()
            if self._jobs.get(record.run_id) is job:
                self._jobs.pop(record.run_id, None)

    async def _refresh(self, record: TestRunRecord) -> None:
        """One GET per unfinished invocation; the record's status follows.

        Memory: a big suite's invocation is megabytes of JSON, nine tenths transcripts; it is
        read in its compact form (api/compact_invocation.py: transcripts packed, the finished
        runs of the previous document reused). Every GET answers first: nothing changes when
        one fails."""
        sides = 2 if record.baseline is not None and record.baseline.source == "live" else 1
        answers: list[dict[str, Any] | None] = []
        for index in range(sides):
            invocation_id, previous = record.side(index)
            answer = None
            if invocation_id is not None and not _side_done(record, index):
                answer = await self.api.get_invocation_compact(invocation_id, previous)
            answers.append(answer)
        for index, answer in enumerate(answers):
            if answer is not None:
                record.set_side(index, answer)
        present = [f for f in (record.side(i)[1] for i in range(sides)) if f is not None]
        if present and all(analysis.invocation_done(f) for f in present):
            cancelled = any(f.get("cancelled") for f in present)
            record.status = "cancelled" if cancelled else "done"

    async def _cancel_upstream(self, record: TestRunRecord) -> None:
        ids = [(record.invocation_id, record.invocation)]
        if record.baseline is not None:
            ids.append((record.baseline.invocation_id, record.baseline.invocation))
        for invocation_id, current in ids:
            if invocation_id is None or (current is not None and analysis.invocation_done(current)):
                continue
            with anyio.move_on_after(CLEANUP_SECONDS):
                try:
                    await self.api.cancel_invocation(invocation_id)
                except APIError:
                    logger.warning("could not cancel invocation of run %s", record.run_id)

    async def _clean_up(self, record: TestRunRecord) -> None:
        """Delete the ad-hoc tests (unless kept)."""
        if record.keep_tests or record.cleaned_up:
            return
        left = False
        for test in record.tests:
            if not test.ad_hoc or test.test_id is None:
                continue
            with anyio.move_on_after(CLEANUP_SECONDS) as scope:
                try:
                    await self.api.delete_test(test.test_id)
                except APIError as exc:
                    left = left or getattr(exc, "status", None) != 404
            left = left or scope.cancelled_caught
        record.cleaned_up = not left

    async def stop(self, run_id: str, reason: str) -> TestRunRecord:
        """Give up on a run: cancel it upstream, delete its ad-hoc tests, mark it failed."""
        job = self._jobs.get(run_id)
        if job is not None and not job.lost:
            job.scope.cancel()
            with anyio.move_on_after(CLEANUP_SECONDS):
                await job.finished.wait()
            record = job.record
        else:
            record = await self.get(run_id)
        if record.finished:
            return record
        record.status = "failed"
        record.error = reason
        record.finished_at = time.time()
        with anyio.CancelScope(shield=True):
            await self._cancel_upstream(record)
            await self._clean_up(record)
            await self.store.put(record)
        return record

    # --- read and wait ----------------------------------------------------------------------

    async def candidate_config(self, run_id: str) -> dict[str, Any] | None:
        """The partial agent_config_override a stored run tested (what update_agent's
        from_run_id promotes), or None when it ran on the stored config."""
        return (await self.get(run_id)).agent_config_override

    async def ids(self) -> list[str]:
        """Stored run ids, newest first (completions)."""
        return await self.store.ids()

    async def get(self, run_id: str) -> TestRunRecord:
        """The record: this process's latest if it follows the run, else the stored one."""
        job = self._jobs.get(run_id)
        if job is not None and not job.lost:
            return job.record
        if run_id in self._unsaved:
            return self._unsaved[run_id]
        record = await self.store.get(run_id)
        if record is None:
            raise UnknownRunError(run_id)
        return record

    async def wait(
        self, run_id: str, seconds: float, progress: ProgressCallback | None = None
    ) -> TestRunRecord:
        """The record once finished, or as it is after `seconds`; progress after each poll.

        Works on any process sharing the store: a run another live process follows is read
        from the store every FOREIGN_POLL_SECONDS; an orphan is taken over first.
        """
        record = await self.get(run_id)
        if record.finished:
            return record
        await self._adopt_if_orphaned(run_id)
        if seconds <= 0:
            return await self.get(run_id)
        reported = -1  # MCP progress must increase: a poll that finished no run is not reported
        with anyio.move_on_after(seconds):
            while True:
                job = self._jobs.get(run_id)
                if job is not None and not job.lost:
                    updated = job.updated
                    if not job.finished.is_set():
                        await updated.wait()
                    # the job's own record, even once it ended: not parsed again from the store
                    record = job.record if not job.lost else await self.get(run_id)
                else:
                    await anyio.sleep(FOREIGN_POLL_SECONDS)
                    await self._adopt_if_orphaned(run_id)
                    record = await self.get(run_id)
                done, total, message = progress_text(record)
                if progress is not None and done > reported:
                    reported = done
                    try:
                        await progress(done, total, message)
                    except Exception:  # the client went away: the run goes on regardless
                        logger.debug("progress not sent", exc_info=True)
                if record.finished:
                    return record
        return await self.get(run_id)
