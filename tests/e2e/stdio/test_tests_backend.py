"""simulate_conversation on the agent-testing API, end to end: the real server over stdio, the
real MCP client, the sandbox over HTTP (with its simulate endpoints on or off).

Covers the auto switch after the simulate endpoint's 404, the tests backend never touching
simulate-conversation, one progress notification per poll, waiting past wait_seconds then
get_simulation, cancel (invocation cancelled upstream, test deleted), a 422 on create, and that
no ephemeral test is left behind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.support.mcp_fixture import sandbox_env, stdio_server, text_of

pytestmark = pytest.mark.anyio

AGENT = "agent_demo_support"
CRITERIA = [
    "The agent apologises for the damaged item",
    {"id": "callback", "name": "Callback offered", "goal": "The agent offers a callback [failure]"},
]


def result_bytes(result: Any) -> int:
    structured = json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":"))
    return len(text_of(result).encode()) + len(structured.encode())


def remaining_tests(sandbox: Any) -> list[dict[str, Any]]:
    r = httpx2.get(
        sandbox.base_url + "/v1/convai/agent-testing", headers=sandbox.headers(), timeout=10
    )
    r.raise_for_status()
    # the sandbox ships demo tests (test_demo_*); only ephemeral ones count as left behind
    return [t for t in r.json()["tests"] if not t["id"].startswith("test_demo_")]


async def document(client: Any, sid: str) -> dict[str, Any]:
    return json.loads((await client.read_resource(f"simulation://{sid}")).contents[0].text)


def simulate_calls(sandbox: Any) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests() if "/simulate-conversation" in r["path"]]


def env_for(sandbox: Any, tmp_path: Path, **extra: str) -> dict[str, str]:
    return sandbox_env(sandbox, tmp_path, AGENTS_MCP_POLL_SECONDS="0.1", **extra)


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[float, str | None]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.events.append((progress, message))


async def test_with_simulate_gone_auto_switches_and_keeps_every_criterion(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    fresh_sandbox.configure(legacy_simulate=False, run_delay=0.3)
    async with stdio_server(env_for(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        args = {
            "agent_id": AGENT,
            "user_prompt": "Your boots arrived damaged; you want a refund [turns=20]",
            "criteria": CRITERIA,
            "max_turns": 30,
        }
        result = await client.call_tool("simulate_conversation", args)
        assert not result.is_error, text_of(result)
        s = result.structured_content
        assert s["status"] == "done" and s["backend"] == "tests"
        assert s["outcome"] == "failure"
        assert {c["id"]: c["result"] for c in s["criteria"]} == {
            "agent_apologises_for_damaged_item": "success",
            "callback": "failure",
        }
        assert s["turns"]["total"] >= 20
        assert "agent-testing API" in text_of(result)
        assert result_bytes(result) <= 1_500
        again = await client.call_tool("simulate_conversation", {**args, "criteria": None})
        assert again.structured_content["backend"] == "tests", text_of(again)
        doc = await document(client, s["simulation_id"])
        assert doc["backend"] == "tests" and doc["upstream"]["test_deleted"] is True
        assert doc["upstream"]["invocation_id"] and doc["upstream"]["test_id"]
        assert doc["upstream"]["switched_from_stream"]  # met the 404
        # the second went straight to the tests backend: it never tried the stream
        later = await document(client, again.structured_content["simulation_id"])
        assert "switched_from_stream" not in later["upstream"]
    assert remaining_tests(fresh_sandbox) == []


async def test_tests_backend_never_touches_simulate_and_reports_each_poll(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    fresh_sandbox.configure(run_delay=0.6)
    env = env_for(fresh_sandbox, tmp_path, AGENTS_MCP_SIMULATION_BACKEND="tests")
    async with stdio_server(env, log_dir=tmp_path) as (client, _):
        rec = Recorder()
        args = {"agent_id": AGENT, "user_prompt": "Where is my order [turns=4]"}
        result = await client.call_tool("simulate_conversation", args, progress_callback=rec)
        assert not result.is_error, text_of(result)
        assert result.structured_content["backend"] == "tests"
    assert simulate_calls(fresh_sandbox) == []
    polls = [r for r in fresh_sandbox.requests() if "/test-invocations/" in r["path"]]
    gets = [r for r in polls if r["method"] == "GET"]
    assert len(rec.events) == len(gets) >= 3  # one notification per poll
    assert [p for p, _ in rec.events] == list(range(1, len(gets) + 1))
    assert "s elapsed" in rec.events[0][1]
    assert remaining_tests(fresh_sandbox) == []


async def test_wait_past_wait_seconds_then_get_simulation(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    fresh_sandbox.configure(run_delay=1.0)
    env = env_for(fresh_sandbox, tmp_path, AGENTS_MCP_SIMULATION_BACKEND="tests")
    async with stdio_server(env, log_dir=tmp_path) as (client, _):
        args = {"agent_id": AGENT, "user_prompt": "Refund [turns=6]", "wait_seconds": 0.2}
        first = await client.call_tool("simulate_conversation", args)
        s = first.structured_content
        assert s["status"] == "running" and s["backend"] == "tests", text_of(first)
        assert "get_simulation" in s["next"]
        sid = s["simulation_id"]
        done = await client.call_tool("get_simulation", {"simulation_id": sid, "wait_seconds": 20})
        assert done.structured_content["status"] == "done", text_of(done)
        page = await client.call_tool(
            "get_simulation", {"simulation_id": sid, "detail": "transcript"}
        )
        assert page.structured_content["turns"][0]["role"] in ("agent", "user")
        full = await client.call_tool("get_simulation", {"simulation_id": sid, "detail": "full"})
        assert '"simulated_conversation"' in full.structured_content["json"]
    assert remaining_tests(fresh_sandbox) == []


async def test_cancel_cancels_upstream_and_deletes_the_test(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    fresh_sandbox.configure(run_delay=30)
    env = env_for(fresh_sandbox, tmp_path, AGENTS_MCP_SIMULATION_BACKEND="tests")
    async with stdio_server(env, log_dir=tmp_path) as (client, _):
        args = {"agent_id": AGENT, "user_prompt": "Refund [turns=6]", "wait_seconds": 0.3}
        first = await client.call_tool("simulate_conversation", args)
        sid = first.structured_content["simulation_id"]
        stopped = await client.call_tool("cancel_simulation", {"simulation_id": sid})
        assert stopped.structured_content["status"] == "cancelled", text_of(stopped)
        doc = await document(client, sid)
    invocation_id = doc["upstream"]["invocation_id"]
    async with httpx2.AsyncClient(headers=fresh_sandbox.headers(), timeout=10) as http:
        r = await http.get(f"{fresh_sandbox.base_url}/v1/convai/test-invocations/{invocation_id}")
    assert r.json()["cancelled"] is True
    assert [run["status"] for run in r.json()["test_runs"]] == ["cancelled"]
    assert doc["upstream"]["test_deleted"] is True
    assert remaining_tests(fresh_sandbox) == []


async def test_argument_problems_and_mocks_on_the_tests_backend(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    """One server for three calls: an unknown tool name (tool error, nothing created), a 422 on
    create (the API's field, nothing run), and a mocked tool (mocked by its id)."""
    env = env_for(fresh_sandbox, tmp_path, AGENTS_MCP_SIMULATION_BACKEND="tests")
    async with stdio_server(env, log_dir=tmp_path) as (client, _):
        unknown = await client.call_tool(
            "simulate_conversation",
            {"agent_id": AGENT, "user_prompt": "Refund", "tool_mocks": {"lookup_ordr": {}}},
        )
        assert unknown.is_error
        text = text_of(unknown)
        assert "tool_mocks.lookup_ordr" in text and "lookup_order" in text  # the known names
        assert "nothing was started" in text
        assert [r for r in fresh_sandbox.requests() if r["method"] != "GET"] == []

        refused = await client.call_tool(
            "simulate_conversation", {"agent_id": AGENT, "user_prompt": "Refund", "max_turns": 60}
        )
        assert refused.is_error
        assert "max_turns (simulation_max_turns): " in text_of(refused)  # the API's field
        assert not [r for r in fresh_sandbox.requests() if r["path"].endswith("/run-tests")]

        mocked = await client.call_tool(
            "simulate_conversation",
            {
                "agent_id": AGENT,
                "user_prompt": "Where is my order NW-1234 [turns=8]",
                "tool_mocks": {"lookup_order": {"return": "Order service down", "is_error": True}},
            },
        )
        assert not mocked.is_error, text_of(mocked)
        errors = mocked.structured_content["tools"]["errors"]
        assert errors[0]["tool"] == "lookup_order"
        assert f"- turn {errors[0]['turn']} lookup_order" in text_of(mocked)
        assert ": Order service down" in text_of(mocked)
    assert remaining_tests(fresh_sandbox) == []
