"""Test runs shared by replicas: two real server processes (the HTTP sidecar) on one real
PostgreSQL, each with its own data directory, against the sandbox over HTTP. A run started on one
is read and awaited on the other (which polls the stored record, progress included); the owner
SIGKILLed mid-run has its run finished by the other (the same invocation polled, the temporary
tests deleted once). Runs use the sandbox's pacing (run_delay) so they are mid-run when looked at.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest

from tests.e2e.http.test_store_replicas import deleted_tests, replica_env
from tests.support.http_sidecar import Sidecar, mcp_client

pytestmark = pytest.mark.anyio
DEMO = "agent_demo_support"
ENV = {"AGENTS_MCP_POLL_SECONDS": "0.2"}
SCENARIO = {
    "name": "refund",
    "user_prompt": "Your tent arrived torn (order 1234); you want a refund.",
    "criteria": ["The agent is polite"],
}


def stored_run(database_url: str, run_id: str) -> dict[str, Any] | None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT data, owner FROM agents_mcp_records WHERE kind = 'test_run' AND record_id = %s",
            (run_id,),
        ).fetchone()
    return {**row[0], "_owner": row[1]} if row else None


async def start_run(client: Any, repeat: int) -> str:
    started = await client.call_tool(
        "run_tests",
        {"agent_id": DEMO, "tests": [SCENARIO], "repeat": repeat, "wait_seconds": 0},
    )
    assert not started.is_error, started
    assert started.structured_content["status"] == "running"
    return started.structured_content["run_id"]


async def test_a_run_started_on_one_replica_is_awaited_on_the_other(
    fresh_sandbox: Any, pg_url: str, tmp_path: Path
) -> None:
    fresh_sandbox.configure(run_delay=2)
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    env_a = replica_env(fresh_sandbox, tmp_path / "a", pg_url, **ENV)
    env_b = replica_env(fresh_sandbox, tmp_path / "b", pg_url, **ENV)
    with Sidecar.serve(env=env_a) as a, Sidecar.serve(env=env_b) as b:
        async with mcp_client(a.url) as on_a, mcp_client(b.url) as on_b:
            run_id = await start_run(on_a, repeat=3)
            seen = await on_b.call_tool("get_test_results", {"run_id": run_id})
            assert seen.structured_content["status"] == "running", seen.structured_content
            waited = await on_b.call_tool(
                "get_test_results",
                {"run_id": run_id, "wait_seconds": 40},
                progress_callback=on_progress,
            )
            again = await on_a.call_tool("get_test_results", {"run_id": run_id})
            resource = await on_b.read_resource(f"test-run://{run_id}")
    result = waited.structured_content
    assert result["status"] == "done", result
    assert result["runs"]["total"] == 3 and result["runs"]["done"] == 3
    assert again.structured_content == result
    assert run_id in resource.contents[0].text
    assert progress and progress == sorted(progress) and progress[-1] == 3
    assert "taking over" not in b.log()  # A was alive: B only read the store
    stored = await anyio.to_thread.run_sync(stored_run, pg_url, run_id)
    assert stored is not None and stored["cleaned_up"] is True
    assert stored["_owner"].split(":")[1] == str(a.proc.pid)  # type: ignore[union-attr]


async def test_a_killed_replica_s_run_is_finished_by_another(
    fresh_sandbox: Any, pg_url: str, tmp_path: Path
) -> None:
    fresh_sandbox.configure(run_delay=3)
    a = Sidecar.serve(env=replica_env(fresh_sandbox, tmp_path / "a", pg_url, **ENV)).start()
    try:
        with Sidecar.serve(env=replica_env(fresh_sandbox, tmp_path / "b", pg_url, **ENV)) as b:
            async with mcp_client(a.url) as on_a:
                run_id = await start_run(on_a, repeat=2)
                before = await anyio.to_thread.run_sync(stored_run, pg_url, run_id)
                a.stop(signal.SIGKILL)
            killed = time.monotonic()
            async with mcp_client(b.url) as on_b:
                waited = await on_b.call_tool(
                    "get_test_results", {"run_id": run_id, "wait_seconds": 40}
                )
            took = time.monotonic() - killed
    finally:
        a.stop(signal.SIGKILL)
    result = waited.structured_content
    assert result["status"] == "done", result
    assert result["runs"]["done"] == 2
    assert took < 30, took  # the lease (10 s) lapsed, then B polled the run to its end
    assert "taking over" in b.log()
    assert before is not None and before["status"] == "running"
    after = await anyio.to_thread.run_sync(stored_run, pg_url, run_id)
    assert after is not None and after["_owner"] != before["_owner"]
    assert after["invocation_id"] == before["invocation_id"]  # the same run, not a new one
    ad_hoc = before["tests"][0]["test_id"]
    assert deleted_tests(fresh_sandbox) == [ad_hoc]  # cleaned up by B, once
