"""Rough edges found by using the product as a new user would (the qa pass), each pinned here.

- run_tests checks `agent_config_override` (and the baseline's) field by field, as update_agent
  checks `changes`: a mistyped field or a wrong type is refused before any run spends credits.
- A branch the API does not know is reported as an unknown branch, not an unknown agent.
- A failure of a call about no id (listing agents) reads as plain words, without "(no id)".
- A live baseline's runs are counted on its own line; the first line counts the candidate's.
- update_agent(from_run_id) onto another agent than the run tested says so in the preview.
- duplicate_agent names the next calls on the copy and does not echo a huge name back whole.
- More criteria than MAX_CRITERIA are refused before anything starts (the summary lists each).
- The triage prompt's transcript step names the test= it needs.
- A test whose runs are all still pending is not tagged "new" against a live baseline.
- cancel_simulation on a simulation that already ended says nothing was cancelled.
- A password in ELEVENLABS_BASE_URL (a proxy's) is redacted like the key, in results and logs.
- get_agent(page>1) without a section is refused with the call that pages, not ignored.
- With no API key set, a call to the ElevenLabs API itself is refused at once, naming the
  setting (the API would refuse it; offline it was a confusing connection error).
- The sandbox judge's reasons quote the goal's words ("status"), not its keyword stems ("statu").
"""

from __future__ import annotations

import pytest
from mcp import Client

from agents_mcp.api.errors import AgentNotFoundError, Operation, UpstreamError
from agents_mcp.errors_text import error_text
from agents_mcp.server import build_server
from agents_mcp.settings import Settings
from agents_mcp.testing.agent_config import OverrideError, check_override
from tests.support.sandbox_fixture import SandboxHandle

pytestmark = pytest.mark.anyio
DEMO = "agent_demo_support"
TEST = "test_demo_refund_torn_jacket"


def text_of(result) -> str:
    return "".join(getattr(part, "text", "") for part in result.content)


def test_an_override_with_a_wrong_type_or_a_typo_is_refused_naming_the_field() -> None:
    hot = {"conversation_config": {"agent": {"prompt": {"temperature": "hot"}}}}
    with pytest.raises(OverrideError) as wrong_type:
        check_override(hot)
    assert "agent_config_override.conversation_config.agent.prompt.temperature" in str(
        wrong_type.value
    )
    typo = {"conversation_config": {"agent": {"promt": {"temperature": 0.2}}}}
    with pytest.raises(OverrideError) as unknown:
        check_override(typo, "baseline.agent_config_override")
    assert "baseline.agent_config_override.conversation_config.agent.promt" in str(unknown.value)
    assert "did you mean prompt" in str(unknown.value)
    good = {"conversation_config": {"agent": {"prompt": {"temperature": 0.2}}}}
    assert check_override(good) == good  # kept as given


async def test_run_tests_refuses_a_bad_override_before_anything_runs(
    fresh_sandbox: SandboxHandle, tmp_path
) -> None:
    settings = Settings(
        base_url=fresh_sandbox.base_url, api_key=fresh_sandbox.api_key, data_dir=tmp_path
    )
    hot = {"conversation_config": {"agent": {"prompt": {"temperature": "hot"}}}}
    async with Client(build_server(settings)) as client:
        before = len(fresh_sandbox.requests())
        candidate = await client.call_tool(
            "run_tests", {"agent_id": DEMO, "tests": [TEST], "agent_config_override": hot}
        )
        baseline = await client.call_tool(
            "run_tests",
            {"agent_id": DEMO, "tests": [TEST], "baseline": {"agent_config_override": hot}},
        )
        sent = fresh_sandbox.requests()[before:]
    assert candidate.is_error and baseline.is_error
    assert "agent_config_override.conversation_config.agent.prompt.temperature" in text_of(
        candidate
    )
    assert "baseline.agent_config_override.conversation_config" in text_of(baseline)
    assert "Nothing was sent" in text_of(candidate)
    assert not [r for r in sent if r["method"] != "GET"], "a bad override must start nothing"


async def test_an_unknown_branch_is_called_a_branch(fresh_sandbox: SandboxHandle, tmp_path) -> None:
    settings = Settings(
        base_url=fresh_sandbox.base_url, api_key=fresh_sandbox.api_key, data_dir=tmp_path
    )
    async with Client(build_server(settings)) as client:
        result = await client.call_tool(
            "run_tests", {"agent_id": DEMO, "tests": [TEST], "branch_id": "agtbrch_nope"}
        )
    said = text_of(result)
    assert result.is_error
    assert "Unknown branch" in said and "branch_id" in said
    assert "Unknown agent" not in said


def test_branch_not_found_words_and_a_list_failure_without_no_id() -> None:
    op = Operation("run_tests", DEMO, idempotent=False)
    exc = AgentNotFoundError(
        "Branch agtbrch_x not found for agent agent_demo_support.",
        operation=op,
        status=404,
        code="branch_not_found",
    )
    words = error_text(exc)
    assert words.startswith("Unknown branch: the API has no such branch of agent agent_demo_")
    down = UpstreamError(
        "All connection attempts failed",
        kind="connect",
        url="http://127.0.0.1:1",
        operation=Operation("list_agents", "", idempotent=True),
    )
    said = error_text(down)
    assert "to list the agents" in said and "(no id)" not in said


async def test_a_dead_upstream_is_logged_as_upstream_not_as_bad_arguments(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(
        base_url=f"http://127.0.0.1:{port}", api_key="sk_x", data_dir=tmp_path, max_retries=0
    )
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("run_tests", {"agent_id": DEMO, "tests": [TEST]})
    assert result.is_error and "Could not connect" in text_of(result)
    lines = [r.getMessage() for r in caplog.records if "tool=run_tests" in r.getMessage()]
    assert lines and "outcome=upstream" in lines[-1], lines


async def test_a_live_baseline_counts_its_own_runs_apart_from_the_candidate(
    fresh_sandbox: SandboxHandle, tmp_path
) -> None:
    settings = Settings(
        base_url=fresh_sandbox.base_url, api_key=fresh_sandbox.api_key, data_dir=tmp_path
    )
    cooler = {"conversation_config": {"agent": {"prompt": {"temperature": 0.1}}}}
    async with Client(build_server(settings)) as client:
        result = await client.call_tool(
            "run_tests",
            {
                "agent_id": DEMO,
                "tests": [TEST],
                "repeat": 2,
                "agent_config_override": cooler,
                "baseline": {},
                "wait_seconds": 30,
            },
        )
    said = text_of(result)
    data = result.structured_content or {}
    assert not result.is_error and data["status"] == "done", said
    assert data["runs"]["total"] == 2  # the candidate's runs
    assert said.splitlines()[0].startswith(f"Test run {data['run_id']} done: 2/2 runs done")
    assert f"Baseline (live): agent {DEMO}: 2/2 runs done" in said


async def test_promoting_a_run_onto_another_agent_says_which_agent_it_tested(
    fresh_sandbox: SandboxHandle, tmp_path
) -> None:
    settings = Settings(
        base_url=fresh_sandbox.base_url, api_key=fresh_sandbox.api_key, data_dir=tmp_path
    )
    cooler = {"conversation_config": {"agent": {"prompt": {"temperature": 0.1}}}}
    async with Client(build_server(settings)) as client:
        copy = await client.call_tool("duplicate_agent", {"agent_id": DEMO, "name": "trial"})
        copy_id = (copy.structured_content or {})["agent_id"]
        run = await client.call_tool(
            "run_tests",
            {
                "agent_id": copy_id,
                "tests": [TEST],
                "agent_config_override": cooler,
                "wait_seconds": 30,
            },
        )
        run_id = (run.structured_content or {})["run_id"]
        onto_original = await client.call_tool(
            "update_agent", {"agent_id": DEMO, "from_run_id": run_id}
        )
        onto_copy = await client.call_tool(
            "update_agent", {"agent_id": copy_id, "from_run_id": run_id}
        )
    assert not onto_original.is_error and not onto_copy.is_error
    assert f"(which tested agent {copy_id}, not this one)" in text_of(onto_original)
    assert "which tested" not in text_of(onto_copy)
    assert "Not changed yet" in text_of(onto_original)  # still only a preview


async def test_duplicate_names_the_next_calls_and_clips_a_huge_name(
    fresh_sandbox: SandboxHandle, tmp_path
) -> None:
    settings = Settings(
        base_url=fresh_sandbox.base_url, api_key=fresh_sandbox.api_key, data_dir=tmp_path
    )
    async with Client(build_server(settings)) as client:
        huge = await client.call_tool("duplicate_agent", {"agent_id": DEMO, "name": "y" * 50_000})
        plain = await client.call_tool("duplicate_agent", {"agent_id": DEMO, "name": "trial"})
    copy_id = (plain.structured_content or {})["agent_id"]
    assert f"run_tests(agent_id='{copy_id}', ...)" in text_of(plain)
    assert f"update_agent(agent_id='{copy_id}', ...)" in text_of(plain)
    assert (plain.structured_content or {})["name"] == "trial"
    assert not huge.is_error
    assert len(text_of(huge)) < 600 and len(str(huge.structured_content)) < 600
    assert (huge.structured_content or {})["name"].endswith("…")


async def test_too_many_criteria_are_refused_before_anything_starts(
    fresh_sandbox: SandboxHandle, tmp_path
) -> None:
    from agents_mcp.simulations.request import MAX_CRITERIA

    settings = Settings(
        base_url=fresh_sandbox.base_url, api_key=fresh_sandbox.api_key, data_dir=tmp_path
    )
    many = [f"The agent says word {i}" for i in range(MAX_CRITERIA + 1)]
    scenario = {"name": "many", "user_prompt": "hi", "criteria": many}
    async with Client(build_server(settings)) as client:
        before = len(fresh_sandbox.requests())
        sim = await client.call_tool(
            "simulate_conversation", {"agent_id": DEMO, "user_prompt": "hi", "criteria": many}
        )
        run = await client.call_tool("run_tests", {"agent_id": DEMO, "tests": [scenario]})
        sent = fresh_sandbox.requests()[before:]
    assert sim.is_error and run.is_error
    for said in (text_of(sim), text_of(run)):
        assert f"{MAX_CRITERIA + 1} given, at most {MAX_CRITERIA}" in said, said
    assert not [r for r in sent if r["method"] != "GET"]


async def test_the_triage_prompt_names_the_test_its_transcript_call_needs(tmp_path) -> None:
    settings = Settings(base_url="http://127.0.0.1:9", api_key="sk_x", data_dir=tmp_path)
    async with Client(build_server(settings)) as client:
        prompt = await client.get_prompt("triage_failing_test", {"run_id": "run_0123456789abcdef"})
    said = prompt.messages[0].content.text  # type: ignore[union-attr]
    assert "detail='transcript', test=<that test's name>)" in said


def test_a_test_whose_runs_are_all_pending_is_not_called_new() -> None:
    from agents_mcp.testing import analysis

    spec = analysis.TestSpec(name="refund", test_id="test_x")
    pending = [{"test_id": "test_x", "status": "pending"}] * 2
    no_base_yet = analysis.summarize_test(spec, pending, None, has_baseline=True)
    base_pending = analysis.summarize_test(spec, pending, analysis.baseline_rate(pending))
    assert no_base_yet["change"] is None and base_pending["change"] is None
    finished = [{"test_id": "test_x", "status": "passed"}]
    assert analysis.summarize_test(spec, finished, None, has_baseline=True)["change"] == "new"


async def test_cancelling_an_ended_simulation_says_nothing_was_cancelled(
    fresh_sandbox: SandboxHandle, tmp_path
) -> None:
    settings = Settings(
        base_url=fresh_sandbox.base_url, api_key=fresh_sandbox.api_key, data_dir=tmp_path
    )
    async with Client(build_server(settings)) as client:
        done = await client.call_tool(
            "simulate_conversation",
            {"agent_id": DEMO, "user_prompt": "refund for order NW-12345", "wait_seconds": 30},
        )
        sid = (done.structured_content or {})["simulation_id"]
        cancel = await client.call_tool("cancel_simulation", {"simulation_id": sid})
    assert (done.structured_content or {})["status"] == "done"
    assert not cancel.is_error
    assert cancel.structured_content == done.structured_content
    assert text_of(cancel).endswith("Nothing to cancel: the simulation had already ended (done).")


async def test_a_password_in_the_base_url_never_reaches_a_result_or_the_log(tmp_path) -> None:
    import socket

    from tests.support.mcp_fixture import stdio_server

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        "ELEVENLABS_BASE_URL": f"http://proxyuser:pr0xy-s3cret@127.0.0.1:{port}",
        "ELEVENLABS_API_KEY": "sk_qa_key_0123",
        "AGENTS_MCP_DATA_DIR": str(tmp_path),
        "AGENTS_MCP_MAX_RETRIES": "0",
    }
    async with stdio_server(env, log_dir=tmp_path) as (client, log):
        result = await client.call_tool("list_agents", {})
    said = text_of(result)
    assert result.is_error and "Could not connect" in said
    assert "pr0xy-s3cret" not in said and "pr0xy-s3cret" not in log.text()
    assert "127.0.0.1" in said  # the URL is still named, without its password


async def test_get_agent_page_without_a_section_names_the_call_that_pages(
    fresh_sandbox: SandboxHandle, tmp_path
) -> None:
    settings = Settings(
        base_url=fresh_sandbox.base_url, api_key=fresh_sandbox.api_key, data_dir=tmp_path
    )
    async with Client(build_server(settings)) as client:
        before = len(fresh_sandbox.requests())
        paged = await client.call_tool("get_agent", {"agent_id": DEMO, "page": 2})
        sent = fresh_sandbox.requests()[before:]
        first = await client.call_tool("get_agent", {"agent_id": DEMO, "page": 1})
    assert paged.is_error and not sent
    assert f"get_agent(agent_id='{DEMO}', section='prompt', page=2)" in text_of(paged)
    assert not first.is_error


async def test_no_key_for_the_real_api_is_said_at_once_without_a_request(tmp_path) -> None:
    from agents_mcp.api.failures import refuses_without_key

    assert refuses_without_key("https://api.eu.residency.elevenlabs.io")
    assert not refuses_without_key("http://127.0.0.1:8787")
    assert not refuses_without_key("https://proxy.example/elevenlabs.io")
    settings = Settings(data_dir=tmp_path)  # no key, the default (global) API URL
    async with Client(build_server(settings)) as client:
        listed = await client.call_tool("list_agents", {})
        read = await client.call_tool("get_agent", {"agent_id": DEMO})
    for result in (listed, read):
        said = text_of(result)
        assert result.is_error and said.count("No API key is set, so nothing was sent") == 1
        assert "Set ELEVENLABS_API_KEY in the MCP server's environment" in said
        assert "Could not connect" not in said


def test_the_sandbox_judge_quotes_the_goals_words_not_stems() -> None:
    from agents_mcp.sandbox.engine.judging import _word_of

    goal = "the agent tells the delivery status before acting"
    assert [_word_of(k, goal) for k in ("delivery", "statu", "act")] == [
        "delivery",
        "status",
        "acting",
    ]
    assert _word_of("zzz", goal) == "zzz"
