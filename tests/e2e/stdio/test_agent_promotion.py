"""update_agent(from_run_id=...) promotes the candidate config a stored test run tried, through
the real server process (stdio) against the sandbox: run_tests with an agent_config_override,
then update_agent applies that override, read back through the official SDK.

Needs the run_tests tool (the `agents_mcp.testing` package); skipped where the server lacks it.
"""

from __future__ import annotations

import importlib.util

import pytest

from tests.e2e.stdio.test_agent_config_tools import copy_of_demo, sdk_agent, without
from tests.support.mcp_fixture import sandbox_env, stdio_server, text_of

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.timeout(90),
    pytest.mark.skipif(
        importlib.util.find_spec("agents_mcp.testing") is None, reason="no run_tests tool"
    ),
]

OVERRIDE = {"conversation_config": {"agent": {"prompt": {"temperature": 0.15}}}}
SCENARIO = {
    "name": "refund",
    "user_prompt": "You want a refund for damaged boots; give order NW-12345 when asked.",
    "criteria": [{"id": "order", "goal": "The agent asks for the order number"}],
}


async def test_update_agent_promotes_the_config_a_test_run_tried(fresh_sandbox, tmp_path):
    agent_id = copy_of_demo(fresh_sandbox)
    before = sdk_agent(fresh_sandbox, agent_id)
    env = sandbox_env(fresh_sandbox, tmp_path)
    async with stdio_server(env, log_dir=tmp_path) as (c, _):
        ran = await c.call_tool(
            "run_tests",
            {
                "agent_id": agent_id,
                "tests": [SCENARIO],
                "agent_config_override": OVERRIDE,
                "confirm": True,
                "wait_seconds": 30,
            },
        )
        assert not ran.is_error, text_of(ran)
        run_id = ran.structured_content["run_id"]
        shown = await c.call_tool("update_agent", {"agent_id": agent_id, "from_run_id": run_id})
        done = await c.call_tool(
            "update_agent", {"agent_id": agent_id, "from_run_id": run_id, "confirm": True}
        )
    assert shown.structured_content["status"] == "needs_confirmation"
    assert f"from test run {run_id}:" in text_of(shown)
    assert "temperature: 0.3 -> 0.15" in text_of(shown)
    assert done.structured_content["status"] == "updated", text_of(done)
    assert "conversation_config.agent.prompt.temperature: 0.3 -> 0.15" in text_of(done)
    after = sdk_agent(fresh_sandbox, agent_id)
    assert after["conversation_config"]["agent"]["prompt"]["temperature"] == 0.15
    changed = "conversation_config.agent.prompt.temperature"
    assert without(after, changed) == without(before, changed)
