"""Arguments a tool does not take are refused with the list of those it takes, before anything
runs (pydantic alone would drop them silently: get_simulation's removed `cancel` did nothing)."""

from __future__ import annotations

import pytest
from mcp import Client

from agents_mcp.server import build_server
from agents_mcp.settings import Settings
from tests.support.sandbox_fixture import SandboxHandle

pytestmark = pytest.mark.anyio
DEMO = "agent_demo_support"


def text_of(result) -> str:
    return "".join(getattr(part, "text", "") for part in result.content)


async def test_unknown_arguments_are_refused_and_nothing_is_sent(
    fresh_sandbox: SandboxHandle, tmp_path
) -> None:
    settings = Settings(
        base_url=fresh_sandbox.base_url, api_key=fresh_sandbox.api_key, data_dir=tmp_path
    )
    async with Client(build_server(settings)) as client:
        before = len(fresh_sandbox.requests())
        copy = await client.call_tool("duplicate_agent", {"agent_id": DEMO, "nmae": "typo"})
        cancel = await client.call_tool(
            "get_simulation", {"simulation_id": "sim_0123456789abcdef", "cancel": True}
        )
        many = await client.call_tool(
            "get_agent_link", {"agent_id": DEMO, **{f"x{i}": i for i in range(7)}}
        )
        ok = await client.call_tool("get_agent_link", {"agent_id": DEMO})
    assert copy.is_error and "Unknown argument(s) for duplicate_agent: 'nmae'" in text_of(copy)
    assert "It takes: agent_id, name." in text_of(copy)
    assert cancel.is_error and "'cancel'" in text_of(cancel)
    assert "It takes: simulation_id, detail, wait_seconds, page." in text_of(cancel)
    assert many.is_error and "and 2 more" in text_of(many)
    assert not ok.is_error, text_of(ok)
    # the three refused calls sent nothing; the good one sent one GET
    assert len(fresh_sandbox.requests()) == before + 1
