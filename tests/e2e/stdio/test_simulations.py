"""Simulations end to end: the real server over stdio, the real MCP client, the sandbox API.

Covers progress (one notification per frame, before the result), long runs finished through
get_simulation, cancellation (the upstream stream is closed), broken streams (clear error,
partial transcript kept), restarts (results survive), paging, and the result size targets.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from agents_mcp.simulations.store import SimulationStore
from tests.support.mcp_fixture import sandbox_env, stdio_server, text_of

pytestmark = pytest.mark.anyio

AGENT = "agent_demo_support"
SIM_PATH = f"/v1/convai/agents/{AGENT}/simulate-conversation"


def result_bytes(result: Any) -> int:
    """What the client receives for a result: the text plus the compact structured content."""
    structured = json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":"))
    return len(text_of(result).encode()) + len(structured.encode())


class Recorder:
    """A progress callback that notes when each notification arrived."""

    def __init__(self) -> None:
        self.events: list[tuple[float, float, str | None]] = []
        self.arrived = anyio.Event()

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.events.append((time.monotonic(), progress, message))
        if len(self.events) >= 2:
            self.arrived.set()


async def document(client: Any, sid: str) -> dict[str, Any]:
    read = await client.read_resource(f"simulation://{sid}")
    return json.loads(read.contents[0].text)


def stream_lines(sandbox: Any, body: dict[str, Any]) -> int:
    """How many frames the sandbox sends for `body` (it is deterministic per request)."""
    r = httpx2.post(
        sandbox.base_url + SIM_PATH + "/stream", json=body, headers=sandbox.headers(), timeout=30
    )
    r.raise_for_status()
    return len([line for line in r.text.splitlines() if line.strip()])


def running_upstream(sandbox: Any) -> int:
    return sandbox.status()["running_simulations"]


async def wait_until(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        await anyio.sleep(0.05)
    return predicate()


# --- progress ------------------------------------------------------------------------------------


async def test_one_progress_notification_per_frame_before_the_result(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    fresh_sandbox.configure(turn_delay=0.03)
    async with stdio_server(sandbox_env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        rec = Recorder()
        args = {"agent_id": AGENT, "user_prompt": "Refund for damaged boots [turns=12]"}
        result = await client.call_tool("simulate_conversation", args, progress_callback=rec)
        returned = time.monotonic()
        count_at_return = len(rec.events)
        assert not result.is_error, text_of(result)
        sid = result.structured_content["simulation_id"]
        assert result.structured_content["status"] == "done"
        doc = await document(client, sid)

    frames = stream_lines(fresh_sandbox, doc["request"])
    assert doc["frames"] == frames
    assert count_at_return == frames  # all of them, one per frame, by the time the call returned
    progress = [p for _, p, _ in rec.events]
    assert progress == list(range(1, frames + 1))  # strictly increasing
    # they arrived as the frames did, spread over the run, not in a burst at the end
    assert rec.events[0][0] < returned - 0.15
    assert rec.events[0][2].startswith("1 turn · agent: ")
    assert rec.events[-1][2] == f"{len(doc['simulated_conversation'])} turns, analysis received"


# --- long runs and get_simulation ---------------------------------------------------------------


async def test_long_simulation_is_finished_through_get_simulation(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    fresh_sandbox.configure(turn_delay=0.05)
    async with stdio_server(sandbox_env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        first = Recorder()
        args = {
            "agent_id": AGENT,
            "user_prompt": "Where is my order [turns=40]",
            "wait_seconds": 0.5,
        }
        result = await client.call_tool("simulate_conversation", args, progress_callback=first)
        assert not result.is_error, text_of(result)
        s = result.structured_content
        sid = s["simulation_id"]
        assert s["status"] == "running"
        call = f'get_simulation(simulation_id="{sid}", wait_seconds=45)'
        assert s["next"] == call and call in text_of(result)
        assert 0 < s["turns"]["total"] < 40
        assert first.events  # progress while it lasted

        second = Recorder()
        done = await client.call_tool(
            "get_simulation", {"simulation_id": sid, "wait_seconds": 30}, progress_callback=second
        )
        assert done.structured_content["status"] == "done"
        assert done.structured_content["outcome"] in ("success", "failure", "unknown")
        assert second.events and second.events[0][1] > first.events[-1][1] - 1
        assert [p for _, p, _ in second.events] == sorted({p for _, p, _ in second.events})

        page = await client.call_tool(
            "get_simulation", {"simulation_id": sid, "detail": "transcript"}
        )
        turns = page.structured_content["turns"]
        assert page.structured_content["turns_total"] == len(turns) > 40
        assert turns[0]["i"] == 0 and turns[-1]["i"] == len(turns) - 1
        full = await client.call_tool("get_simulation", {"simulation_id": sid, "detail": "full"})
        assert full.structured_content["pages"] >= 1
        assert full.structured_content["json"].startswith('{"simulated_conversation":[')


async def test_abandoned_get_simulation_wait_does_not_cancel(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    fresh_sandbox.configure(turn_delay=0.05)
    async with stdio_server(sandbox_env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        args = {
            "agent_id": AGENT,
            "user_prompt": "Billing question [turns=30]",
            "wait_seconds": 0.2,
        }
        started = await client.call_tool("simulate_conversation", args)
        sid = started.structured_content["simulation_id"]
        rec = Recorder()
        with anyio.move_on_after(0.6):  # the caller gives up on this wait
            await client.call_tool(
                "get_simulation", {"simulation_id": sid, "wait_seconds": 30}, progress_callback=rec
            )
        assert rec.events
        done = await client.call_tool("get_simulation", {"simulation_id": sid, "wait_seconds": 30})
        assert done.structured_content["status"] == "done"


# --- cancellation --------------------------------------------------------------------------------


async def test_cancelling_the_call_stops_the_simulation_and_closes_the_stream(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    fresh_sandbox.configure(turn_delay=0.1)
    async with stdio_server(sandbox_env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        rec = Recorder()
        args = {"agent_id": AGENT, "user_prompt": "Long chat [turns=200]"}
        with anyio.CancelScope() as scope:

            async def cancel_after_progress() -> None:
                await rec.arrived.wait()
                assert running_upstream(fresh_sandbox) == 1
                scope.cancel()  # the client sends notifications/cancelled

            async with anyio.create_task_group() as tg:
                tg.start_soon(cancel_after_progress)
                await client.call_tool("simulate_conversation", args, progress_callback=rec)
        cancelled_at = time.monotonic()
        assert await wait_until(lambda: running_upstream(fresh_sandbox) == 0, 1.0)
        assert time.monotonic() - cancelled_at < 1.0

        store = await SimulationStore(tmp_path).open()
        (sid,) = await store.ids()
        await store.close()
        shown = await client.call_tool("get_simulation", {"simulation_id": sid})
        s = shown.structured_content
        assert s["status"] == "cancelled"
        assert 0 < s["turns"]["total"] < 200  # the turns received before the cancel are kept
        assert "cancelled" in text_of(shown).lower()


async def test_cancel_simulation_stops_a_running_simulation(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    fresh_sandbox.configure(turn_delay=0.1)
    async with stdio_server(sandbox_env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        args = {"agent_id": AGENT, "user_prompt": "Long chat [turns=200]", "wait_seconds": 0.3}
        started = await client.call_tool("simulate_conversation", args)
        sid = started.structured_content["simulation_id"]
        assert running_upstream(fresh_sandbox) == 1
        stopped = await client.call_tool("cancel_simulation", {"simulation_id": sid})
        assert not stopped.is_error, text_of(stopped)
        assert stopped.structured_content["status"] == "cancelled"
        assert await wait_until(lambda: running_upstream(fresh_sandbox) == 0, 1.0)
        # a second cancel changes nothing; get_simulation only reads
        again = await client.call_tool("cancel_simulation", {"simulation_id": sid})
        assert again.structured_content == stopped.structured_content
        shown = await client.call_tool("get_simulation", {"simulation_id": sid})
        assert shown.structured_content["status"] == "cancelled"


# --- broken streams ------------------------------------------------------------------------------


async def test_stream_cut_midway_is_a_clear_error_and_keeps_the_partial_transcript(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    fresh_sandbox.arm_fault("drop_mid_stream", match={"path_suffix": "/stream"}, after_frames=4)
    async with stdio_server(sandbox_env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        args = {"agent_id": AGENT, "user_prompt": "Refund please [turns=20]"}
        result = await client.call_tool("simulate_conversation", args)
        assert result.is_error
        s = result.structured_content
        assert s["status"] == "failed" and s["simulation_id"].startswith("sim_")
        text = text_of(result)
        assert "stream" in text.lower() and "Partial transcript kept (4 turns)" in text
        page = await client.call_tool(
            "get_simulation", {"simulation_id": s["simulation_id"], "detail": "transcript"}
        )
        assert not page.is_error
        assert page.structured_content["status"] == "failed"
        assert len(page.structured_content["turns"]) == 4
        assert "Error:" in text_of(page)


async def test_stream_without_analysis_is_a_clear_error(fresh_sandbox: Any, tmp_path: Path) -> None:
    fresh_sandbox.arm_fault("no_analysis", match={"path_suffix": "/stream"})
    async with stdio_server(sandbox_env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        args = {"agent_id": AGENT, "user_prompt": "Refund please [turns=6]"}
        result = await client.call_tool("simulate_conversation", args)
        assert result.is_error
        assert "analysis" in text_of(result)
        s = result.structured_content
        assert s["status"] == "failed" and s["turns"]["total"] >= 6
        summary = await client.call_tool("get_simulation", {"simulation_id": s["simulation_id"]})
        assert summary.structured_content["status"] == "failed"
        assert "analysis" in text_of(summary).split("\n")[1]  # the Error: line


# --- persistence ---------------------------------------------------------------------------------


async def test_results_survive_a_server_restart(fresh_sandbox: Any, tmp_path: Path) -> None:
    env = sandbox_env(fresh_sandbox, tmp_path / "data")
    args = {"agent_id": AGENT, "user_prompt": "Refund please [turns=8]"}
    async with stdio_server(env, log_dir=tmp_path) as (client, _):
        first = await client.call_tool("simulate_conversation", args)
        sid = first.structured_content["simulation_id"]
        before = await document(client, sid)
    async with stdio_server(env, log_dir=tmp_path) as (client, _):  # a new process
        again = await client.call_tool("get_simulation", {"simulation_id": sid})
        assert again.structured_content == first.structured_content
        assert text_of(again) == text_of(first)
        assert await document(client, sid) == before


# --- errors --------------------------------------------------------------------------------------


async def test_unknown_ids_bad_pages_and_bad_arguments_are_clear_errors(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    async with stdio_server(sandbox_env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        missing = await client.call_tool(
            "get_simulation", {"simulation_id": "sim_0000000000000000"}
        )
        assert missing.is_error and "Unknown simulation id 'sim_0000000000000000'" in text_of(
            missing
        )
        malformed = await client.call_tool("get_simulation", {"simulation_id": "hello"})
        assert malformed.is_error and "ids look like sim_" in text_of(malformed)

        bad = await client.call_tool(
            "simulate_conversation",
            {
                "agent_id": AGENT,
                "user_prompt": "x",
                "advanced": {"partial_conversation_history": [{"role": "user"}], "bogus": 1},
            },
        )
        assert bad.is_error
        assert "partial_conversation_history.0.time_in_call_secs: Field required" in text_of(bad)
        assert "advanced.bogus: not a field of the simulate request" in text_of(bad)
        bad_llm = await client.call_tool(
            "simulate_conversation", {"agent_id": AGENT, "user_prompt": "x", "user_llm": "gpt-99"}
        )
        assert bad_llm.is_error and "user_llm (" in text_of(bad_llm)
        assert not [r for r in fresh_sandbox.requests() if "simulate" in r["path"]]  # none sent

        unknown = await client.call_tool(
            "simulate_conversation",
            {"agent_id": "agent_0000000000nosuchagent00000", "user_prompt": "x"},
        )
        assert unknown.is_error and "Unknown agent" in text_of(unknown)
        assert unknown.structured_content["simulation_id"].startswith("sim_")

        short = await client.call_tool(
            "simulate_conversation", {"agent_id": AGENT, "user_prompt": "Hi [turns=2]"}
        )
        sid = short.structured_content["simulation_id"]
        page = await client.call_tool(
            "get_simulation", {"simulation_id": sid, "detail": "transcript", "page": 9}
        )
        assert page.is_error and "page 9 does not exist" in text_of(page)


# --- size targets --------------------------------------------------------------------------------

CRITERIA = [
    "The agent apologises for the damaged item",
    {"id": "offers_callback", "name": "Offers a callback", "goal": "The agent offers a callback"},
]
MOCKS = {
    "lookup_order": {"return": "Order service timed out (503)", "is_error": True},
    "create_refund": {"return": {"error": "card declined"}, "is_error": True},
}


def failed_tool_calls(turns: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [
        (i, r["tool_name"])
        for i, t in enumerate(turns)
        for r in t.get("tool_results") or []
        if r.get("is_error")
    ]


@pytest.mark.parametrize(("turns", "limit"), [(2, 1_500), (20, 1_500), (200, 1_500)])
async def test_default_result_size_and_content(
    fresh_sandbox: Any, tmp_path: Path, turns: int, limit: int
) -> None:
    async with stdio_server(sandbox_env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        args = {
            "agent_id": AGENT,
            "user_prompt": f"An angry caller whose boots arrived damaged [turns={turns}]",
            "criteria": CRITERIA,
            "tool_mocks": MOCKS,
        }
        result = await client.call_tool("simulate_conversation", args)
        assert not result.is_error, text_of(result)
        doc = await document(client, result.structured_content["simulation_id"])

    size = result_bytes(result)
    raw = len(
        json.dumps(
            {"simulated_conversation": doc["simulated_conversation"], "analysis": doc["analysis"]},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
    )
    print(f"{turns} turns: result {size} bytes, raw {raw} bytes")
    assert size <= limit
    s, text = result.structured_content, text_of(result)
    # every criterion: its result in the structured content, its verdict and reason in the text
    expected = {k: v["result"] for k, v in doc["analysis"]["evaluation_criteria_results"].items()}
    assert {"agent_apologises_for_damaged_item", "offers_callback"} <= set(expected)
    assert {c["id"]: c["result"] for c in s["criteria"]} == expected
    for cid, result in expected.items():
        mark = "ok" if result == "success" else result.upper()
        assert re.search(rf"^- {mark} {cid} — \w+", text, re.M), text
    # every failed tool call (up to the listed cap), with its turn and tool
    failed = failed_tool_calls(doc["simulated_conversation"])
    if turns >= 20:
        assert failed, "the mocks make tool calls fail"
    listed = [(e["turn"], e["tool"]) for e in s.get("tools", {}).get("errors", [])]
    assert listed == failed[: len(listed)]
    if turns <= 20:
        assert listed == failed
    for turn, tool in listed:
        assert f"turn {turn} {tool}" in text
    assert s["turns"]["total"] == len(doc["simulated_conversation"])
