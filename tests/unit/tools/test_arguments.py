"""Arguments that do not fit a tool's schema: a short tool error naming each field and why,
without echoing the rejected values, and no request reaching the API."""

from __future__ import annotations

import pytest
from mcp import Client

from agents_mcp.server import build_server
from agents_mcp.settings import Settings
from tests.support.mcp_fixture import text_of

SECRET_LOOKING = "sk_pasted_secret_value_0123456789"


@pytest.fixture
def server(sandbox, tmp_path):
    settings = Settings(
        base_url=sandbox.base_url, api_key=sandbox.api_key, data_dir=tmp_path / "sims"
    )
    return build_server(settings)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("tool", "arguments", "fields"),
    [
        (
            "simulate_conversation",
            {"agent_id": "agent_demo_support", "user_prompt": "x", "max_turns": SECRET_LOOKING},
            ["max_turns"],
        ),
        ("simulate_conversation", {"agent_id": "agent_demo_support"}, ["user_prompt"]),
        ("get_agent_link", {"agent_id": ["agent_demo_support", SECRET_LOOKING]}, ["agent_id"]),
        (
            "get_simulation",
            {"simulation_id": "sim_0000000000000000", "detail": SECRET_LOOKING},
            ["detail"],
        ),
        (
            "delete_agent",
            {"agent_id": "agent_demo_support", "confirm": {"x": SECRET_LOOKING}},
            ["confirm"],
        ),
    ],
)
async def test_invalid_arguments_name_fields_not_values(
    server, sandbox, tool, arguments, fields
) -> None:
    sandbox.reset()
    async with Client(server) as client:
        result = await client.call_tool(tool, arguments)
    text = text_of(result)
    assert result.is_error
    assert text.startswith(f"Invalid arguments for {tool}: ")
    assert text.endswith("Fix them and call again.")
    for field in fields:
        assert f"{field}: " in text
    assert SECRET_LOOKING not in text
    assert "errors.pydantic.dev" not in text and "\n" not in text
    assert sandbox.requests() == []
