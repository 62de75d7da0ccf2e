"""What is stored about one test run (ours: run_…), and the store seam that keeps it.

A run record holds what we sent (the tests, with their conditions kept in order on our side, the
partial `agent_config_override` as the caller gave it), the upstream invocation ids and the last
invocation JSON received for the candidate and, with a live baseline, for the baseline. Analysis
(pass rates, deltas...) is recomputed from it on every read, so a record never disagrees with
itself. `TestRunStore` is the seam to the result store (testing/store.py: the generic store).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Protocol

from agents_mcp.api import compact_invocation
from agents_mcp.testing.analysis import TestSpec
from agents_mcp.testing.payload import RunStatus

if TYPE_CHECKING:
    from agents_mcp.stores.base import StoredRecord

KIND = "test_run"
FINISHED: frozenset[str] = frozenset({"done", "cancelled", "failed"})
_RUN_ID = re.compile(r"run_[0-9a-f]{16}")


def new_run_id() -> str:
    return f"run_{secrets.token_hex(8)}"


def is_run_id(value: object) -> bool:
    return isinstance(value, str) and _RUN_ID.fullmatch(value) is not None


@dataclass
class StoredTest:
    """A test of the run. `ad_hoc`: created for this run from a scenario (deleted afterwards
    unless kept)."""

    name: str
    test_id: str | None = None
    conditions: list[str] = field(default_factory=list)
    max_turns: int | None = None
    ad_hoc: bool = False
    body: dict[str, Any] | None = None  # the test body sent (ad-hoc tests)

    def spec(self) -> TestSpec:
        return TestSpec(self.name, self.test_id, tuple(self.conditions), self.max_turns)


@dataclass
class BaselineSide:
    """The side compared with: a live run (its own invocation) or a stored run (its run id)."""

    source: str  # "live" | "stored"
    agent_id: str
    branch_id: str | None = None
    run_id: str | None = None  # stored: the earlier run
    agent_config_override: dict[str, Any] | None = None
    invocation_id: str | None = None
    invocation: dict[str, Any] | None = None
    # stored: name -> runs of that test in the earlier run, copied at start (that run may be pruned)
    runs_by_name: dict[str, list[dict[str, Any]]] | None = None


@dataclass
class TestRunRecord:
    __test__ = False  # not a pytest class
    run_id: str
    agent_id: str
    repeat: int
    tests: list[StoredTest]
    branch_id: str | None = None
    status: RunStatus = "running"
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    agent_config_override: dict[str, Any] | None = None  # partial, as the caller gave it
    invocation_id: str | None = None
    invocation: dict[str, Any] | None = None
    baseline: BaselineSide | None = None
    error: str | None = None
    keep_tests: bool = False
    cleaned_up: bool = False  # ad-hoc tests deleted

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def document(self) -> dict[str, Any]:
        """The whole record as JSON-ready data (the test-run:// resource, the store).

        Shallow: the invocation documents (megabytes for a big suite) are shared with the
        record, not copied; serialize the result, never change it.
        """
        doc: dict[str, Any] = {"kind": KIND}
        for item in fields(self):
            doc[item.name] = getattr(self, item.name)
        doc["tests"] = [asdict(test) for test in self.tests]
        if self.baseline is not None:
            side = self.baseline
            doc["baseline"] = {item.name: getattr(side, item.name) for item in fields(side)}
        return doc

    def full_json(self) -> str:
        """The whole record as JSON with every run in the API's shape (its transcript unpacked
        into `agent_responses`): the test-run:// resource."""
        doc = self.document()
        doc["invocation"] = compact_invocation.expanded_invocation(self.invocation)
        if self.baseline is not None:
            side = dict(doc["baseline"])
            side["invocation"] = compact_invocation.expanded_invocation(self.baseline.invocation)
            if self.baseline.runs_by_name is not None:
                side["runs_by_name"] = {
                    name: compact_invocation.expanded_runs(runs)
                    for name, runs in self.baseline.runs_by_name.items()
                }
            doc["baseline"] = side
        return compact_invocation.to_json(doc).decode()

    def side(self, index: int) -> tuple[str | None, dict[str, Any] | None]:
        """(invocation id, last invocation) of the candidate (0) or the live baseline (1)."""
        if index == 0:
            return self.invocation_id, self.invocation
        assert self.baseline is not None
        return self.baseline.invocation_id, self.baseline.invocation

    def set_side(self, index: int, invocation: dict[str, Any] | None) -> None:
        if index == 0:
            self.invocation = invocation
        elif self.baseline is not None:
            self.baseline.invocation = invocation

    def poll_signature(self) -> tuple[object, ...]:
        """What a poll may change: the status, and per side the runs per status and the
        grouping (the runner stores the record when this changed)."""
        out: list[object] = [self.status]
        for invocation in (self.invocation, self.baseline.invocation if self.baseline else None):
            if invocation is None:
                out.append(None)
                continue
            counts: dict[object, int] = {}
            for run in invocation.get("test_runs") or ():
                status = run.get("status") if isinstance(run, dict) else None
                counts[status] = counts.get(status, 0) + 1
            grouping = invocation.get("bucketing_status")
            out.append((tuple(sorted(counts.items(), key=repr)), grouping))
        return tuple(out)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> TestRunRecord:
        data = {k: v for k, v in doc.items() if k != "kind"}
        data["tests"] = [StoredTest(**t) for t in data.get("tests", [])]
        if data.get("baseline") is not None:
            data["baseline"] = BaselineSide(**data["baseline"])
        return cls(**data)


class UnknownRunError(LookupError):
    def __init__(self, run_id: str) -> None:
        super().__init__(
            f"Unknown test run {run_id[:40]!r}: it was never started here or is no longer kept. "
            "Run ids come from run_tests' result."
        )


class TestRunStore(Protocol):
    """The seam to the result store (testing/store.py): records by run id, each running run
    held by a lease its owner renews; `put` answers False once another process took it over."""

    @property
    def owner(self) -> str:
        """This process's owner id in the store."""
        ...

    @property
    def shared(self) -> bool:
        """Whether other hosts read the store too."""
        ...

    async def put(self, record: TestRunRecord) -> bool: ...

    async def load(self, run_id: str) -> StoredRecord | None: ...

    async def get(self, run_id: str) -> TestRunRecord | None: ...

    async def ids(self) -> list[str]: ...

    async def prune(self) -> int: ...

    async def now(self) -> float: ...

    def presumed_dead(self, stored: StoredRecord, now: float) -> bool: ...

    async def renew(self, run_ids: Iterable[str]) -> int: ...

    async def stale(self) -> list[StoredRecord]: ...

    async def claim(self, stored: StoredRecord) -> bool: ...

    async def release(self, run_ids: Iterable[str]) -> int: ...
