"""The workflow prompts: offered by what the tools allow, rendered with checked arguments, and
naming exactly the product tools they use. End to end over stdio, plus pure checks."""

from __future__ import annotations

import re

import pytest
from mcp.shared.exceptions import MCPError

from agents_mcp import prompts
from agents_mcp.tools.registry import mutating_tools, tool_names
from tests.support.mcp_fixture import sandbox_env, stdio_server

ARGS = {
    "test_agent": {"agent_id": "agent_demo_faq", "scenario": "A caller asks about the warranty."},
    "baseline_change_compare": {
        "agent_id": "agent_demo_faq",
        "change": "Answer in two sentences at most.",
        "scenarios": "Warranty question\nRefund request",
        "repeat": "4",
    },
    "triage_failing_test": {"run_id": "run_0123456789abcdef", "test": "Refund request"},
    "work_on_a_copy": {"agent_id": "agent_demo_faq", "scenario": "A rude caller."},
}


def rendered(name: str, **overrides: str) -> str:
    definition = next(p for p in prompts.PROMPTS if p.name == name)
    return definition.render(**{**ARGS[name], **overrides})


def named_tools(text: str) -> set[str]:
    return {name for name in prompts.PRODUCT_TOOLS if re.search(rf"\b{name}\(", text)}


@pytest.mark.parametrize("definition", prompts.PROMPTS, ids=lambda p: p.name)
def test_each_prompt_names_exactly_the_tools_it_uses(definition):
    assert definition.uses <= prompts.PRODUCT_TOOLS
    assert definition.needs <= definition.uses
    assert named_tools(rendered(definition.name)) == definition.uses


def test_arguments_are_checked_with_clear_messages():
    with pytest.raises(MCPError, match=r"Invalid agent id 'not an id!'"):
        rendered("test_agent", agent_id="not an id!")
    with pytest.raises(MCPError, match="scenario is empty"):
        rendered("work_on_a_copy", scenario="   ")
    with pytest.raises(MCPError, match="repeat must be a whole number from 1 to 20"):
        rendered("baseline_change_compare", repeat="50")
    with pytest.raises(MCPError, match="Invalid run id"):
        rendered("triage_failing_test", run_id="../etc/passwd")
    with pytest.raises(MCPError, match="detail must be summary, runs or transcript"):
        rendered("triage_failing_test", detail="everything")
    text = rendered("baseline_change_compare")
    assert "repeat=4" in text and "   - Refund request" in text


def test_read_only_offers_no_workflow_that_changes_agents():
    full = {p.name for p in prompts.offered(prompts.PRODUCT_TOOLS)}
    assert full == {p.name for p in prompts.PROMPTS}
    read_only = prompts.PRODUCT_TOOLS - {"delete_agent", "duplicate_agent", "update_agent"}
    assert "work_on_a_copy" not in {p.name for p in prompts.offered(read_only)}


@pytest.mark.anyio
async def test_prompts_over_stdio(sandbox, tmp_path):
    expected = [p.name for p in prompts.offered(tool_names())]
    assert "test_agent" in expected and "work_on_a_copy" in expected
    async with stdio_server(sandbox_env(sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        listed = (await client.list_prompts()).prompts
        assert [p.name for p in listed] == expected
        test_agent = next(p for p in listed if p.name == "test_agent")
        args = {a.name: a.required for a in test_agent.arguments or []}
        assert args == {"agent_id": True, "scenario": True, "criteria": False}
        assert test_agent.title == "Test an agent on a scenario"

        result = await client.get_prompt("work_on_a_copy", ARGS["work_on_a_copy"])
        text = result.messages[0].content.text
        assert result.messages[0].role == "user"
        assert "duplicate_agent(agent_id='agent_demo_faq'" in text
        assert "Never delete agent_demo_faq." in text

        with pytest.raises(MCPError, match="Invalid agent id"):
            await client.get_prompt("test_agent", {"agent_id": "bad id", "scenario": "x"})


@pytest.mark.anyio
async def test_read_only_server_lists_no_copy_workflow(sandbox, tmp_path):
    env = sandbox_env(sandbox, tmp_path, AGENTS_MCP_READ_ONLY="1")
    async with stdio_server(env, log_dir=tmp_path) as (client, _):
        names = {p.name for p in (await client.list_prompts()).prompts}
    assert "work_on_a_copy" not in names
    assert names == {p.name for p in prompts.offered(set(tool_names()) - mutating_tools())}
