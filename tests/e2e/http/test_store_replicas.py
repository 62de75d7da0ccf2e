"""Two real replica processes (the HTTP sidecar) sharing a real PostgreSQL, each with its own data
directory, against the sandbox over HTTP: a job started on one is read and awaited on the other;
a replica killed with SIGKILL mid-run has its tests-backend job finished by the other (and its
streamed job marked interrupted); a replica stopped gracefully hands its job over at once."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest

from tests.support.http_sidecar import TOKEN, Sidecar, clean_env, mcp_client

pytestmark = pytest.mark.anyio
DEMO = "agent_demo_support"


def replica_env(sandbox: Any, data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    return clean_env(
        ELEVENLABS_BASE_URL=sandbox.base_url,
        ELEVENLABS_API_KEY=sandbox.api_key,
        AGENTS_MCP_AUTH_TOKEN=TOKEN,
        AGENTS_MCP_DATA_DIR=str(data_dir),  # not shared: the database is
        AGENTS_MCP_DATABASE_URL=database_url,
        **extra,
    )


def upstream_of(database_url: str, sim_id: str) -> dict[str, Any]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT data FROM agents_mcp_records WHERE kind = 'simulation' AND record_id = %s",
            (sim_id,),
        ).fetchone()
    return row[0].get("upstream") or {} if row else {}


async def wait_for_invocation(database_url: str, sim_id: str) -> dict[str, Any]:
    """The job's upstream ids once its test run has started (as the owner stored them)."""
    for _ in range(200):
        upstream = await anyio.to_thread.run_sync(upstream_of, database_url, sim_id)
        if upstream.get("invocation_id"):
            return upstream
        await anyio.sleep(0.05)
    raise AssertionError(f"no invocation stored for {sim_id}")


def deleted_tests(sandbox: Any) -> list[str]:
    return [
        r["path"].rsplit("/", 1)[1]
        for r in sandbox.requests()
        if r["method"] == "DELETE" and "/agent-testing/" in r["path"] and r["status"] < 300
    ]


async def test_a_job_started_on_one_replica_is_awaited_on_the_other(
    fresh_sandbox: Any, pg_url: str, tmp_path: Path
) -> None:
    fresh_sandbox.configure(turn_delay=0.05)
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    env = {"AGENTS_MCP_SIMULATION_BACKEND": "stream"}
    env_a = replica_env(fresh_sandbox, tmp_path / "a", pg_url, **env)
    env_b = replica_env(fresh_sandbox, tmp_path / "b", pg_url, **env)
    with Sidecar.serve(env=env_a) as a, Sidecar.serve(env=env_b) as b:
        async with mcp_client(a.url) as on_a, mcp_client(b.url) as on_b:
            started = await on_a.call_tool(
                "simulate_conversation",
                {
                    "agent_id": DEMO,
                    "user_prompt": "Where is my parcel? [turns=30]",
                    "wait_seconds": 0,
                },
            )
            sim_id = started.structured_content["simulation_id"]
            seen = await on_b.call_tool("get_simulation", {"simulation_id": sim_id})
            assert seen.structured_content["status"] in ("queued", "running")
            waited = await on_b.call_tool(
                "get_simulation",
                {"simulation_id": sim_id, "wait_seconds": 50},
                progress_callback=on_progress,
            )
            again = await on_a.call_tool("get_simulation", {"simulation_id": sim_id})
    assert waited.structured_content["status"] == "done"
    assert waited.structured_content == again.structured_content
    assert len(progress) >= 2  # B reports the checkpoints it sees (about one a second)
    assert progress == sorted(progress)


async def test_a_killed_replica_s_test_run_is_finished_by_another(
    fresh_sandbox: Any, pg_url: str, tmp_path: Path
) -> None:
    fresh_sandbox.configure(run_delay=3)
    env = {"AGENTS_MCP_SIMULATION_BACKEND": "tests", "AGENTS_MCP_POLL_SECONDS": "0.2"}
    a = Sidecar.serve(env=replica_env(fresh_sandbox, tmp_path / "a", pg_url, **env)).start()
    try:
        with Sidecar.serve(env=replica_env(fresh_sandbox, tmp_path / "b", pg_url, **env)) as b:
            async with mcp_client(a.url) as on_a:
                started = await on_a.call_tool(
                    "simulate_conversation",
                    {"agent_id": DEMO, "user_prompt": "I want a refund.", "wait_seconds": 0},
                )
                sim_id = started.structured_content["simulation_id"]
                upstream = await wait_for_invocation(pg_url, sim_id)
                a.stop(signal.SIGKILL)
            killed = time.monotonic()
            async with mcp_client(b.url) as on_b:
                waited = await on_b.call_tool(
                    "get_simulation", {"simulation_id": sim_id, "wait_seconds": 40}
                )
            took = time.monotonic() - killed
    finally:
        a.stop(signal.SIGKILL)
    result = waited.structured_content
    assert result["status"] == "done", result
    assert took < 30, took
    assert "taking over" in b.log()
    assert upstream["test_id"] in deleted_tests(fresh_sandbox)  # cleaned up by B
    final = await anyio.to_thread.run_sync(upstream_of, pg_url, sim_id)
    assert final["invocation_id"] == upstream["invocation_id"]  # the same run, not a new one
    assert final.get("test_deleted") is True


async def test_a_killed_replica_s_stream_is_marked_interrupted(
    fresh_sandbox: Any, pg_url: str, tmp_path: Path
) -> None:
    fresh_sandbox.configure(turn_delay=0.05)
    env = {"AGENTS_MCP_SIMULATION_BACKEND": "stream"}
    a = Sidecar.serve(env=replica_env(fresh_sandbox, tmp_path / "a", pg_url, **env)).start()
    try:
        with Sidecar.serve(env=replica_env(fresh_sandbox, tmp_path / "b", pg_url, **env)) as b:
            async with mcp_client(a.url) as on_a:
                started = await on_a.call_tool(
                    "simulate_conversation",
                    {"agent_id": DEMO, "user_prompt": "Long chat [turns=400]", "wait_seconds": 1.5},
                )
                sim_id = started.structured_content["simulation_id"]
                a.stop(signal.SIGKILL)
            async with mcp_client(b.url) as on_b:
                waited = await on_b.call_tool(
                    "get_simulation", {"simulation_id": sim_id, "wait_seconds": 40}
                )
    finally:
        a.stop(signal.SIGKILL)
    result = waited.structured_content
    assert result["status"] == "failed", result
    text = "".join(part.text for part in waited.content)  # the error is told in the text
    assert "stopped before this simulation finished" in text, text
    assert 0 < result["turns"]["total"] < 400  # what A had checkpointed is kept


async def test_a_stopping_replica_hands_its_test_run_over(
    fresh_sandbox: Any, pg_url: str, tmp_path: Path
) -> None:
    fresh_sandbox.configure(run_delay=3)
    env = {"AGENTS_MCP_SIMULATION_BACKEND": "tests", "AGENTS_MCP_POLL_SECONDS": "0.2"}
    a = Sidecar.serve(env=replica_env(fresh_sandbox, tmp_path / "a", pg_url, **env)).start()
    try:
        with Sidecar.serve(env=replica_env(fresh_sandbox, tmp_path / "b", pg_url, **env)) as b:
            async with mcp_client(a.url) as on_a:
                started = await on_a.call_tool(
                    "simulate_conversation",
                    {"agent_id": DEMO, "user_prompt": "I want a refund.", "wait_seconds": 0},
                )
                sim_id = started.structured_content["simulation_id"]
                upstream = await wait_for_invocation(pg_url, sim_id)
            code, _ = a.stop(signal.SIGTERM)
            stopped = time.monotonic()
            async with mcp_client(b.url) as on_b:
                waited = await on_b.call_tool(
                    "get_simulation", {"simulation_id": sim_id, "wait_seconds": 40}
                )
            took = time.monotonic() - stopped
    finally:
        a.stop(signal.SIGKILL)
    assert code == 0
    assert "handed over" in a.log()
    assert waited.structured_content["status"] == "done", waited.structured_content
    assert took < 8, took  # released at once: no lease to wait out
    assert "taking over" in b.log()
    assert deleted_tests(fresh_sandbox) == [upstream["test_id"]]  # once, by B only
