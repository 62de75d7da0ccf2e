"""completion/complete end to end: the real server over stdio, the sandbox over loopback HTTP.

Agent ids come from the upstream agents list (matched on id and name), simulation and test run
ids from the store (newest first), detail values from the fixed lists; an upstream failure or an
unknown argument answers an empty list, never an error.
"""

from __future__ import annotations

import pytest
from mcp.types import PromptReference, ResourceTemplateReference

from agents_mcp import completions
from tests.support.mcp_fixture import sandbox_env, stdio_server, text_of

pytestmark = pytest.mark.anyio

PROMPT = PromptReference(type="ref/prompt", name="test_agent")
SIMULATION = ResourceTemplateReference(type="ref/resource", uri="simulation://{simulation_id}")
TEST_RUN = ResourceTemplateReference(type="ref/resource", uri="test-run://{run_id}")


async def values(client, ref, name: str, value: str) -> list[str]:
    result = await client.complete(ref, {"name": name, "value": value})
    return result.completion.values


async def test_completions(fresh_sandbox, tmp_path):
    env = sandbox_env(fresh_sandbox, tmp_path)
    async with stdio_server(env, log_dir=tmp_path) as (client, log):
        assert client.server_capabilities.completions is not None

        # agent ids: by id prefix, by a word of the name (any case), and nothing for a stranger
        assert await values(client, PROMPT, "agent_id", "agent_demo_f") == ["agent_demo_faq"]
        assert await values(client, PROMPT, "agent_id", "trattoria") == ["agent_demo_booking"]
        everything = await values(client, PROMPT, "agent_id", "")
        assert {"agent_demo_faq", "agent_demo_support", "agent_demo_booking"} <= set(everything)
        assert await values(client, PROMPT, "agent_id", "zzz-no-such") == []

        # simulation ids from the store (one real simulation on the sandbox)
        started = await client.call_tool(
            "simulate_conversation",
            {"agent_id": "agent_demo_faq", "user_prompt": "Ask about warranty.", "max_turns": 2},
        )
        assert not started.is_error, text_of(started)
        sim_id = started.structured_content["simulation_id"]
        assert await values(client, SIMULATION, "simulation_id", sim_id[:6]) == [sim_id]
        assert await values(client, SIMULATION, "simulation_id", "sim_zzz") == []
        assert await values(client, SIMULATION, "other", "") == []
        assert await values(client, TEST_RUN, "run_id", "run_") == []  # no test runs stored

        # run ids from the store, newest first (two real runs on the sandbox)
        run_ids = []
        for name in ("first", "second"):
            scenario = {"name": name, "user_prompt": "Ask about warranty."}
            ran = await client.call_tool(
                "run_tests", {"agent_id": "agent_demo_faq", "tests": [scenario]}
            )
            assert not ran.is_error, text_of(ran)
            run_ids.append(ran.structured_content["run_id"])
        assert await values(client, TEST_RUN, "run_id", "run_") == run_ids[::-1]
        assert await values(client, TEST_RUN, "run_id", run_ids[0][:10]) == [run_ids[0]]
        assert await values(client, TEST_RUN, "run_id", "sim_") == []

        # detail values, filtered by what was typed
        triage = PromptReference(type="ref/prompt", name="triage_failing_test")
        assert await values(client, triage, "detail", "") == ["summary", "runs", "transcript"]
        assert await values(client, triage, "detail", "t") == ["transcript"]

        # unknown prompts and arguments (the conformance suite's) answer an empty list
        other = PromptReference(type="ref/prompt", name="test_prompt_with_arguments")
        assert await values(client, other, "arg1", "test") == []

        # the API fails: no suggestions, no error, and the model's next call still works
        fresh_sandbox.arm_fault("http_500", match={"path_suffix": "/v1/convai/agents"})
        assert await values(client, PROMPT, "agent_id", "agent") == []
        assert "no completions for agent_id" in log.text()
        assert await values(client, PROMPT, "agent_id", "agent_demo_s") == ["agent_demo_support"]
        assert fresh_sandbox.api_key not in log.text()


def test_values_are_capped_at_the_protocol_limit():
    many = [f"sim_{i:016x}" for i in range(250)]
    result = completions.starting_with(many, "SIM_")
    assert len(result.values) == completions.MAX_VALUES
    assert result.total == 250 and result.has_more is True
    # duplicates once, in first-seen order
    assert completions.starting_with(["b1", "a1", "b1", "a2"], "") == completions.Completion(
        values=["b1", "a1", "a2"], total=3, has_more=False
    )
