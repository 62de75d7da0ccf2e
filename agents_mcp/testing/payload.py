"""The structured content of run_tests / get_test_results (detail="summary"): TypedDicts only.

This is a contract shared with the viewer (agents_mcp/report renders it): fields may be ADDED,
never renamed. Transcripts are not part of it (they come from detail="transcript" / "runs" and
the test-run://{run_id} resource). The shape is documented in docs/testing.md.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

RunStatus = Literal["running", "done", "cancelled", "failed"]
BaselineSource = Literal["live", "stored"]
Change = Literal["improved", "regressed", "same", "new"]
Fault = Literal["test", "agent"]
Role = Literal["user", "agent"]
Side = Literal["candidate", "baseline"]  # whose run an item of detail="runs"/"transcript" is


class RunCounts(TypedDict):
    total: int
    done: int
    passed: int
    failed: int
    cancelled: int


class BaselineInfo(TypedDict):
    source: BaselineSource
    run_id: str | None  # the stored run compared with (source "stored"), else None
    agent_id: str
    branch_id: str | None


class ConditionStat(TypedDict):
    text: str
    held: int  # runs in which the condition held
    total: int  # finished runs judged


class Failure(TypedDict):
    run: int  # 1-based repeat index of the failing run
    condition: str | None  # the failing condition's text, None when the run failed as a whole
    reason: str  # clipped


class BaselineRate(TypedDict):
    passed: int
    total: int
    rate: str  # "0/3"


class Turn(TypedDict):
    role: str
    message: str  # clipped


class Divergence(TypedDict):
    turn: int  # 1-based index of the first turn where a passing and a failing run differ
    passing: Turn | None  # None: the passing run had ended before this turn
    failing: Turn | None
    passing_run: int
    failing_run: int


class Hint(TypedDict):
    kind: Fault  # "test": the test's own fault (mock, timeout, turn limit); "agent": the agent's
    hint: str


class TestSummary(TypedDict):
    name: str
    test_id: str | None
    passed: int
    total: int
    rate: str  # "2/3"
    flaky: bool  # finished runs of the same test disagree
    conditions: list[ConditionStat]
    failures: list[Failure]
    baseline: BaselineRate | None
    delta: str | None  # "0/3 → 2/3"
    change: Change | None
    divergence: Divergence | None
    triage: list[Hint]
    pending: NotRequired[int]  # runs not finished yet (only while running)


class TestRunPayload(TypedDict):
    run_id: str
    status: RunStatus
    agent_id: str
    branch_id: str | None
    repeat: int
    runs: RunCounts
    credits_used: int
    baseline: BaselineInfo | None
    tests: list[TestSummary]
    regressions: list[str]  # names of tests whose pass rate fell vs the baseline
    next_call: str | None
    error: NotRequired[str]  # why the run failed (status "failed")
