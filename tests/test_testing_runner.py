"""The test-run manager against the sandbox over loopback HTTP: a run left running by a stopped
process is finished by the next one; polling that keeps failing gives the run up, cancels it
upstream and deletes its temporary tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agents_mcp.api import AgentsAPI, create_http_client
from agents_mcp.settings import Settings
from agents_mcp.testing import runner as runner_module
from agents_mcp.testing.runner import TestRunManager
from agents_mcp.testing.store import SQLiteTestRunStore
from agents_mcp.testing.suite import parse_suite

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
    store = SQLiteTestRunStore(tmp_path).open()
    api = _api(fresh_sandbox)
    async with TestRunManager(api, store, poll_seconds=0.05) as first:
        plan = await first.prepare(AGENT, parse_suite(SUITE).tests, repeat=2)
        record = await first.launch(plan)
    # the first "process" stopped: the record stays running, its tests are not deleted yet
    assert store.get(record.run_id).status == "running"  # type: ignore[union-attr]
    assert not _requests(fresh_sandbox, "DELETE", "/agent-testing/")
    async with TestRunManager(api, store, poll_seconds=0.05) as second:
        done = await second.wait(record.run_id, 15)
    assert done.status == "done" and done.cleaned_up
    assert len(_requests(fresh_sandbox, "DELETE", "/agent-testing/")) == 1
    await api.aclose()
    store.close()


async def test_polling_that_keeps_failing_gives_the_run_up_and_cleans_up(
    fresh_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "MAX_POLL_FAILURES", 2)
    fresh_sandbox.configure(run_delay=30)
    fresh_sandbox.arm_fault(
        "http_500", match={"method": "GET", "path_contains": "/test-invocations/"}, times=None
    )
    store = SQLiteTestRunStore(tmp_path).open()
    api = _api(fresh_sandbox)
    async with TestRunManager(api, store, poll_seconds=0.05) as manager:
        plan = await manager.prepare(AGENT, parse_suite(SUITE).tests)
        record = await manager.launch(plan)
        done = await manager.wait(record.run_id, 10)
    assert done.status == "failed" and "Polling the run failed 2 times" in (done.error or "")
    assert len(_requests(fresh_sandbox, "POST", "/cancel")) == 1
    assert len(_requests(fresh_sandbox, "DELETE", "/agent-testing/")) == 1
    await api.aclose()
    store.close()
