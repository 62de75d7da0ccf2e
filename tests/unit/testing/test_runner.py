"""The test-run manager against the sandbox over loopback HTTP, its runs in the generic store
(SQLite here; PostgreSQL replicas: tests/e2e/http/test_store_replicas.py): a run left running by a
stopped process is finished by the next one; polling that keeps failing gives the run up, cancels it
upstream and deletes its temporary tests; a run stopped before it started is cleaned up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agents_mcp.api import AgentsAPI, create_http_client
from agents_mcp.settings import Settings
from agents_mcp.stores import SQLiteStore
from agents_mcp.testing import runner as runner_module
from agents_mcp.testing.record import StoredTest, TestRunRecord
from agents_mcp.testing.runner import TestRunManager
from agents_mcp.testing.store import MemoryTestRunStore, StoredTestRuns
from agents_mcp.testing.suite import parse_suite, scenario_body

pytestmark = pytest.mark.anyio
AGENT = "agent_demo_support"
SUITE = {"tests": [{"name": "polite", "user_prompt": "You ask about opening hours."}]}


def _api(sandbox: Any) -> AgentsAPI:
    settings = Settings(base_url=sandbox.base_url, api_key=sandbox.api_key, max_retries=0)
    return AgentsAPI.from_settings(settings, http=create_http_client(settings))


def _requests(sandbox: Any, method: str, contains: str) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests() if r["method"] == method and contains in r["path"]]


async def test_a_run_left_running_is_finished_by_the_next_process(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    fresh_sandbox.configure(run_delay=0.6)
    store = await StoredTestRuns(SQLiteStore(tmp_path)).open()
    api = _api(fresh_sandbox)
    async with TestRunManager(api, store, poll_seconds=0.05) as first:
        plan = await first.prepare(AGENT, parse_suite(SUITE).tests, repeat=2)
        record = await first.launch(plan)
    # the first "process" stopped: the record stays running, its lease released, tests kept
    stored = await store.load(record.run_id)
    assert stored is not None and stored.status == "running" and stored.lease_expires == 0
    assert not _requests(fresh_sandbox, "DELETE", "/agent-testing/")
    await store.close()
    # the next process (another owner on the same file) takes it over as soon as it reads it
    later = await StoredTestRuns(SQLiteStore(tmp_path)).open()
    async with TestRunManager(api, later, poll_seconds=0.05) as second:
        assert await second.ids() == [record.run_id]
        done = await second.wait(record.run_id, 15)
    assert done.status == "done" and done.cleaned_up
    assert len(_requests(fresh_sandbox, "DELETE", "/agent-testing/")) == 1
    assert (await later.load(record.run_id)).owner == later.owner  # type: ignore[union-attr]
    await api.aclose()
    await later.close()


async def test_a_run_stopped_before_it_started_is_failed_and_cleaned_up(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    api = _api(fresh_sandbox)
    test_id = await api.create_test(scenario_body(parse_suite(SUITE).tests[0], "orphan", {}))
    orphan = TestRunRecord(
        run_id="run_00000000000000aa",
        agent_id=AGENT,
        repeat=1,
        tests=[StoredTest(name="orphan", test_id=test_id, ad_hoc=True)],
    )
    dead = StoredTestRuns(SQLiteStore(tmp_path, owner="elsewhere:1:dead"))
    await dead.open()
    assert await dead.put(orphan) and await dead.release([orphan.run_id]) == 1
    await dead.close()
    store = await StoredTestRuns(SQLiteStore(tmp_path)).open()
    async with TestRunManager(api, store, poll_seconds=0.05) as manager:
        record = await manager.wait(orphan.run_id, 0)
    assert record.status == "failed" and "before this test run started" in (record.error or "")
    assert record.cleaned_up
    assert [r["path"] for r in _requests(fresh_sandbox, "DELETE", "/agent-testing/")] == [
        f"/v1/convai/agent-testing/{test_id}"
    ]
    await api.aclose()
    await store.close()


async def test_the_memory_store_keeps_runs_newest_first() -> None:
    store = MemoryTestRunStore()
    for i, created in enumerate((2.0, 3.0, 1.0)):
        run = TestRunRecord(f"run_{i:016x}", AGENT, 1, [], created_at=created)
        assert await store.put(run)
    assert await store.ids() == ["run_0000000000000001", "run_0000000000000000",
                                 "run_0000000000000002"]  # fmt: skip
    assert (await store.get("run_0000000000000001")).created_at == 3.0  # type: ignore[union-attr]
    assert await store.get("run_ffffffffffffffff") is None


async def test_polling_that_keeps_failing_gives_the_run_up_and_cleans_up(
    fresh_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "MAX_POLL_FAILURES", 2)
    fresh_sandbox.configure(run_delay=30)
    fresh_sandbox.arm_fault(
        "http_500", match={"method": "GET", "path_contains": "/test-invocations/"}, times=None
    )
    store = MemoryTestRunStore()
    api = _api(fresh_sandbox)
    async with TestRunManager(api, store, poll_seconds=0.05) as manager:
        plan = await manager.prepare(AGENT, parse_suite(SUITE).tests)
        record = await manager.launch(plan)
        done = await manager.wait(record.run_id, 10)
    assert done.status == "failed" and "Polling the run failed 2 times" in (done.error or "")
    assert len(_requests(fresh_sandbox, "POST", "/cancel")) == 1
    assert len(_requests(fresh_sandbox, "DELETE", "/agent-testing/")) == 1
    await api.aclose()


async def test_runs_of_the_pre_store_table_are_imported_once(tmp_path: Path) -> None:
    import json
    import sqlite3

    old = TestRunRecord("run_00000000000000bb", AGENT, 2, [], status="done", created_at=5.0)
    with sqlite3.connect(tmp_path / "simulations.sqlite3") as db:
        db.execute(
            "CREATE TABLE test_runs (run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
            "created_at REAL NOT NULL, document TEXT NOT NULL)"
        )
        db.execute(
            "INSERT INTO test_runs VALUES (?, 'test_run', 5.0, ?)",
            (old.run_id, json.dumps(old.document())),
        )
    store = await StoredTestRuns(SQLiteStore(tmp_path)).open()
    assert await store.get(old.run_id) == old
    assert await store.ids() == [old.run_id]
    assert await store.import_legacy() == 0  # the old table is gone
    await store.close()
