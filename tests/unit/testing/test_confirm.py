"""run_tests past AGENTS_MCP_MAX_RUNS asks the user (elicitation) before anything is created, on
both protocol eras; the server in memory, the sandbox over loopback HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.types import ElicitRequestParams, ElicitResult

from agents_mcp.server import build_server
from agents_mcp.settings import Settings
from tests.support.mcp_fixture import text_of

pytestmark = pytest.mark.anyio
ERAS = ["legacy", "auto"]
ARGS = {
    "agent_id": "agent_demo_support",
    "tests": [{"name": "polite", "user_prompt": "You ask about opening hours."}],
    "repeat": 3,
    "baseline": {},
}


def answering(action: str, content: dict[str, Any] | None = None) -> Any:
    asked: list[ElicitRequestParams] = []

    async def callback(_context: Any, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params)
        return ElicitResult(action=action, content=content)

    callback.asked = asked  # type: ignore[attr-defined]
    return callback


def settings(sandbox: Any, tmp_path: Any) -> Settings:
    return Settings(
        base_url=sandbox.base_url,
        api_key=sandbox.api_key,
        data_dir=tmp_path,
        max_retries=0,
        max_runs=5,
        poll_seconds=0.05,
    )


def posts(sandbox: Any) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests() if r["method"] == "POST"]


@pytest.mark.parametrize("mode", ERAS)
async def test_the_user_confirms_the_run_count(
    fresh_sandbox: Any, tmp_path: Any, mode: str
) -> None:
    callback = answering("accept", {"confirm": True})
    server = build_server(settings(fresh_sandbox, tmp_path))
    async with Client(server, mode=mode, elicitation_callback=callback) as client:
        result = await client.call_tool("run_tests", ARGS)
    assert result.structured_content["status"] == "done", text_of(result)
    assert len(callback.asked) == 1
    assert "Start 6 test runs" in callback.asked[0].message  # 1 test x 3, twice with the baseline
    assert len([p for p in posts(fresh_sandbox) if p["path"].endswith("/run-tests")]) == 2


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize(
    ("action", "content", "status"),
    [
        ("decline", None, "declined"),
        ("cancel", None, "cancelled"),
        ("accept", {"confirm": False}, "declined"),
    ],
)
async def test_not_confirmed_starts_nothing(
    fresh_sandbox: Any, tmp_path: Any, mode: str, action: str, content: Any, status: str
) -> None:
    callback = answering(action, content)
    server = build_server(settings(fresh_sandbox, tmp_path))
    async with Client(server, mode=mode, elicitation_callback=callback) as client:
        result = await client.call_tool("run_tests", ARGS)
    assert result.structured_content["status"] == status, text_of(result)
    assert not posts(fresh_sandbox)


async def test_within_the_limit_nobody_is_asked(fresh_sandbox: Any, tmp_path: Any) -> None:
    callback = answering("decline")
    server = build_server(settings(fresh_sandbox, tmp_path))
    async with Client(server, elicitation_callback=callback) as client:
        result = await client.call_tool("run_tests", {**ARGS, "repeat": 2, "baseline": None})
    assert result.structured_content["status"] == "done", text_of(result)
    assert callback.asked == []
