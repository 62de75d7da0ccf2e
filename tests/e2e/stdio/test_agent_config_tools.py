"""list_agents, get_agent and update_agent through the real MCP client and the real server process
(stdio) against the sandbox over loopback HTTP; changes are read back through the official SDK."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2
import pytest
from mcp.types import ElicitRequestParams, ElicitResult

from tests.support.mcp_fixture import sandbox_env, stdio_server, text_of

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

DEMO = "agent_demo_support"
LONG_PROMPT = "\n".join(
    f"Rule {i}: if {{{{customer_name}}}} asks about topic {i}, answer briefly and politely."
    for i in range(170)
)  # ~13 KB


def _http(sandbox: Any, method: str, path: str, **kw: Any) -> httpx2.Response:
    return httpx2.request(
        method, f"{sandbox.base_url}{path}", headers=sandbox.headers(), timeout=10, **kw
    )


def copy_of_demo(sandbox: Any, name: str = "agentview copy") -> str:
    answer = _http(sandbox, "POST", f"/v1/convai/agents/{DEMO}/duplicate", json={"name": name})
    answer.raise_for_status()
    return answer.json()["agent_id"]


def stored(sandbox: Any, agent_id: str) -> dict[str, Any]:
    answer = _http(sandbox, "GET", f"/v1/convai/agents/{agent_id}")
    answer.raise_for_status()
    return answer.json()


def methods(sandbox: Any) -> list[str]:
    return [r["method"] for r in sandbox.requests()]


def size(result: Any) -> int:
    structured = json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False)
    return len(text_of(result).encode()) + len(structured.encode())


def answering(action: str, content: dict[str, Any] | None = None) -> Any:
    async def callback(_context: Any, params: ElicitRequestParams) -> ElicitResult:
        callback.asked.append(params.message)
        return ElicitResult(action=action, content=content)

    callback.asked = []
    return callback


PROMPT_CHANGE = {
    "conversation_config": {"agent": {"prompt": {"temperature": 0.9, "prompt": "Be brief."}}}
}


# --- list --------------------------------------------------------------------------------------


async def test_list_agents_pages_through_all_naming_the_next_call(fresh_sandbox, tmp_path):
    every = _http(fresh_sandbox, "GET", "/v1/convai/agents", params={"page_size": 100}).json()
    expected = [a["agent_id"] for a in every["agents"]]
    assert len(expected) >= 3
    seen: list[str] = []
    async with stdio_server(sandbox_env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (c, _):
        args: dict[str, Any] = {"page_size": 2}
        for _ in range(20):
            page = await c.call_tool("list_agents", args)
            assert not page.is_error, text_of(page)
            seen += [a["agent_id"] for a in page.structured_content["agents"]]
            for agent in page.structured_content["agents"]:
                assert agent["agent_id"] in text_of(page) and agent["name"] in text_of(page)
            following = page.structured_content["next"]
            if following is None:
                assert "No more agents." in text_of(page)
                break
            assert f"More: {following}" in text_of(page)
            call = re.fullmatch(r'list_agents\(page_size=2, cursor="([^"]+)"\)', following)
            assert call, following
            args = {"page_size": 2, "cursor": call.group(1)}
        found = await c.call_tool("list_agents", {"search": "Northwind"})
    assert seen == expected
    names = [a["name"] for a in found.structured_content["agents"]]
    assert names and all("Northwind" in n for n in names)


# --- get ---------------------------------------------------------------------------------------


async def test_get_agent_is_compact_and_the_prompt_pages_rebuild_it(fresh_sandbox, tmp_path):
    agent_id = copy_of_demo(fresh_sandbox)
    doc = stored(fresh_sandbox, agent_id)
    config = doc["conversation_config"]
    config["agent"]["prompt"]["prompt"] = LONG_PROMPT
    created = _http(
        fresh_sandbox,
        "POST",
        "/v1/convai/agents/create",
        json={"name": "Long prompt", "conversation_config": config, "tags": ["long"]},
    )
    long_id = created.json()["agent_id"]
    async with stdio_server(sandbox_env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (c, _):
        view = await c.call_tool("get_agent", {"agent_id": long_id})
        assert not view.is_error, text_of(view)
        pages: list[str] = []
        args = {"agent_id": long_id, "section": "prompt", "page": 1}
        for _ in range(10):
            part = await c.call_tool("get_agent", args)
            pages.append(part.structured_content["text"])
            if part.structured_content["next"] is None:
                break
            args["page"] += 1
            assert part.structured_content["next"] == (
                f'get_agent(agent_id="{long_id}", section="prompt", page={args["page"]})'
            )
        full = await c.call_tool("get_agent", {"agent_id": long_id, "section": "full"})
        past = await c.call_tool("get_agent", {"agent_id": long_id, "section": "prompt", "page": 9})
        missing = await c.call_tool("get_agent", {"agent_id": "agent_doesnotexist0000"})
        bad = await c.call_tool("get_agent", {"agent_id": "../../v1/user"})
    text = text_of(view)
    assert len(LONG_PROMPT) > 12_000 and size(view) <= 2_500, size(view)
    assert f'get_agent(agent_id="{long_id}", section="prompt", page=1)' in text
    assert "lookup_order" in text and "create_refund" in text  # its tools, by name
    assert "customer_name" in view.structured_content["dynamic_variables"]
    assert view.structured_content["prompt_chars"] == len(LONG_PROMPT)
    assert "".join(pages) == LONG_PROMPT
    assert full.structured_content["page"] == 1 and '"conversation_config"' in text_of(full)
    assert past.is_error and "page(s)" in text_of(past)
    tools = {t["name"]: t["id"] for t in view.structured_content["tools"]}
    assert tools["lookup_order"].startswith("tool_")  # a workspace tool: named through its id
    assert f"lookup_order ({tools['lookup_order']})" in text
    assert missing.is_error and "Unknown agent" in text_of(missing)
    assert bad.is_error and "Invalid agent id" in text_of(bad)


# --- update: shown, confirmed, nothing sent before -------------------------------------------


async def test_update_without_confirmation_shows_the_diff_and_sends_nothing(
    fresh_sandbox, tmp_path
):
    agent_id = copy_of_demo(fresh_sandbox)
    before = stored(fresh_sandbox, agent_id)
    fresh_sandbox.clear_requests()
    args = {"agent_id": agent_id, "changes": PROMPT_CHANGE}
    async with stdio_server(sandbox_env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (c, log):
        shown = await c.call_tool("update_agent", args)
    assert not shown.is_error, text_of(shown)
    text = text_of(shown)
    assert shown.structured_content["status"] == "needs_confirmation"
    assert "'agentview copy'" in text and "confirm=true" in text
    assert "conversation_config.agent.prompt.temperature: 0.3 -> 0.9" in text
    assert "--- prompt (now)" in text and "+Be brief." in text and "-You are Ava" in text
    assert sorted(shown.structured_content["fields"]) == [
        "conversation_config.agent.prompt.prompt",
        "conversation_config.agent.prompt.temperature",
    ]
    assert methods(fresh_sandbox) == ["GET"]  # read to show the change; nothing sent
    assert stored(fresh_sandbox, agent_id) == before
    assert f"agent_id={agent_id} outcome=not_confirmed" in log.text()


async def test_bad_or_empty_updates_send_nothing(fresh_sandbox, tmp_path):
    fresh_sandbox.clear_requests()
    bad = {"conversation_config": {"agent": {"prompt": {"temprature": 0.9}}}}
    async with stdio_server(sandbox_env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (c, _):
        typo = await c.call_tool("update_agent", {"agent_id": DEMO, "changes": bad})
        neither = await c.call_tool("update_agent", {"agent_id": DEMO})
        both = await c.call_tool(
            "update_agent", {"agent_id": DEMO, "changes": {"name": "x"}, "from_run_id": "run_1"}
        )
        promoted = await c.call_tool("update_agent", {"agent_id": DEMO, "from_run_id": "run_1"})
        branch = await c.call_tool(
            "update_agent", {"agent_id": DEMO, "changes": {"name": "x"}, "branch_id": "../x"}
        )
        assert fresh_sandbox.requests() == []
        no_branch = await c.call_tool(
            "update_agent",
            {"agent_id": DEMO, "changes": {"name": "x"}, "branch_id": "agtbrch_nosuchbranch"},
        )
        same = {"name": stored(fresh_sandbox, DEMO)["name"]}
        unchanged = await c.call_tool("update_agent", {"agent_id": DEMO, "changes": same})
    assert typo.is_error
    assert "changes.conversation_config.agent.prompt.temprature" in text_of(typo)
    assert "did you mean temperature" in text_of(typo) and "nothing was sent" in text_of(typo)
    assert neither.is_error and both.is_error and "exactly one" in text_of(neither)
    # an unknown run id: promotion says so before any request
    assert promoted.is_error and "No stored test run 'run_1'" in text_of(promoted)
    assert branch.is_error and "Invalid branch id" in text_of(branch)
    assert no_branch.is_error and "branch_id: agent agent_demo_support has no such branch" in (
        text_of(no_branch)
    )
    assert unchanged.structured_content["status"] == "unchanged"
    assert "PATCH" not in methods(fresh_sandbox)


async def test_the_user_declining_the_dialog_changes_nothing(fresh_sandbox, tmp_path):
    agent_id = copy_of_demo(fresh_sandbox)
    before = stored(fresh_sandbox, agent_id)
    fresh_sandbox.clear_requests()
    callback = answering("decline")
    env = sandbox_env(fresh_sandbox, tmp_path)
    async with stdio_server(env, log_dir=tmp_path, elicitation_callback=callback) as (c, _):
        # confirm=true from the model does not bypass the user's answer
        args = {"agent_id": agent_id, "changes": PROMPT_CHANGE, "confirm": True}
        declined = await c.call_tool("update_agent", args)
    assert not declined.is_error, text_of(declined)
    assert declined.structured_content["status"] == "declined"
    (question,) = callback.asked
    assert "'agentview copy'" in question and agent_id in question
    assert "temperature: 0.3 -> 0.9" in question and "+Be brief." in question
    assert "PATCH" not in methods(fresh_sandbox)
    assert stored(fresh_sandbox, agent_id) == before


async def test_read_only_mode_hides_update_agent(fresh_sandbox, tmp_path):
    env = sandbox_env(fresh_sandbox, tmp_path, AGENTS_MCP_READ_ONLY="1")
    async with stdio_server(env, log_dir=tmp_path) as (c, _):
        tools = {t.name: t for t in (await c.list_tools()).tools}
        refused = await c.call_tool("update_agent", {"agent_id": DEMO, "changes": {"name": "x"}})
    assert {"list_agents", "get_agent"} <= set(tools)
    assert "update_agent" not in tools and "delete_agent" not in tools
    assert tools["get_agent"].annotations.read_only_hint is True
    assert tools["list_agents"].annotations.read_only_hint is True
    assert refused.is_error


# --- update: applied ---------------------------------------------


def sdk_agent(sandbox: Any, agent_id: str) -> dict[str, Any]:
    """The agent read through the official SDK (its own models), as plain JSON."""
    from elevenlabs import ElevenLabs

    client = ElevenLabs(base_url=sandbox.base_url, api_key=sandbox.api_key)
    return client.conversational_ai.agents.get(agent_id).model_dump(mode="json", by_alias=True)


def without(doc: dict[str, Any], *paths: str) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    for path in paths:
        *parents, last = path.split(".")
        node = doc
        for key in parents:
            node = node[key]
        node.pop(last, None)
    doc.get("metadata", {}).pop("updated_at_unix_secs", None)
    for key in ("version_id", "branch_id"):
        doc.pop(key, None)
    return doc


CHANGED = (
    "conversation_config.agent.prompt.temperature",
    "conversation_config.agent.prompt.prompt",
)


async def test_the_user_accepting_applies_one_patch_keeping_every_other_field(
    fresh_sandbox, tmp_path
):
    agent_id = copy_of_demo(fresh_sandbox)
    before = sdk_agent(fresh_sandbox, agent_id)
    fresh_sandbox.clear_requests()
    callback = answering("accept", {"confirm": True})
    env = sandbox_env(fresh_sandbox, tmp_path)
    async with stdio_server(env, log_dir=tmp_path, elicitation_callback=callback) as (c, _):
        done = await c.call_tool("update_agent", {"agent_id": agent_id, "changes": PROMPT_CHANGE})
    assert not done.is_error, text_of(done)
    assert done.structured_content["status"] == "updated"
    assert "temperature: 0.3 -> 0.9" in text_of(done)
    assert methods(fresh_sandbox).count("PATCH") == 1
    after = sdk_agent(fresh_sandbox, agent_id)
    prompt = after["conversation_config"]["agent"]["prompt"]
    assert (prompt["temperature"], prompt["prompt"]) == (0.9, "Be brief.")
    assert without(after, *CHANGED) == without(before, *CHANGED)  # every other field kept


async def test_confirm_true_applies_when_the_client_has_no_dialog(fresh_sandbox, tmp_path):
    agent_id = copy_of_demo(fresh_sandbox)
    args = {"agent_id": agent_id, "changes": {"name": "Renamed", "tags": ["x"]}, "confirm": True}
    async with stdio_server(sandbox_env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (c, _):
        done = await c.call_tool("update_agent", args)
    assert done.structured_content["status"] == "updated", text_of(done)
    after = sdk_agent(fresh_sandbox, agent_id)
    assert (after["name"], after["tags"]) == ("Renamed", ["x"])


async def test_a_422_names_the_field_and_nothing_is_applied(fresh_sandbox, tmp_path):
    agent_id = copy_of_demo(fresh_sandbox)
    before = stored(fresh_sandbox, agent_id)
    field = "conversation_config.agent.prompt.temperature"
    fresh_sandbox.arm_fault("http_422", match={"method": "PATCH"}, field=field)
    args = {"agent_id": agent_id, "changes": PROMPT_CHANGE, "confirm": True}
    async with stdio_server(sandbox_env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (c, _):
        refused = await c.call_tool("update_agent", args)
    assert refused.is_error
    assert field in text_of(refused) and "Nothing was changed" in text_of(refused)
    assert stored(fresh_sandbox, agent_id) == before


@pytest.mark.parametrize("processed", [True, False])
async def test_a_lost_answer_is_read_back_not_sent_again(fresh_sandbox, tmp_path, processed):
    agent_id = copy_of_demo(fresh_sandbox)
    fresh_sandbox.arm_fault(
        "drop_connection", match={"method": "PATCH"}, after_processing=processed
    )
    fresh_sandbox.clear_requests()
    args = {"agent_id": agent_id, "changes": {"name": "After loss"}, "confirm": True}
    env = sandbox_env(fresh_sandbox, tmp_path, AGENTS_MCP_MAX_RETRIES="3")
    async with stdio_server(env, log_dir=tmp_path) as (c, _):
        result = await c.call_tool("update_agent", args)
    assert methods(fresh_sandbox).count("PATCH") == 1  # never sent twice
    if processed:
        assert result.structured_content["status"] == "updated", text_of(result)
        assert "answer was lost" in text_of(result)
        assert stored(fresh_sandbox, agent_id)["name"] == "After loss"
    else:
        assert result.is_error
        assert "The update was not applied" in text_of(result) and "safe" in text_of(result)
        assert "name differs" in text_of(result)
        assert stored(fresh_sandbox, agent_id)["name"] == "agentview copy"


# --- promotion seam --------------------------------------------------------------------------


class _Runs:
    """A store of test runs as the seam expects it: the candidate config of a run, by id."""

    def __init__(self, runs: dict[str, dict[str, Any]]) -> None:
        self.runs = runs

    def candidate_config(self, run_id: str) -> dict[str, Any] | None:
        if run_id not in self.runs:
            raise LookupError(run_id)
        return self.runs[run_id]


async def test_candidate_config_reads_the_run_store_seam() -> None:
    from types import SimpleNamespace

    from mcp.server.mcpserver.exceptions import ToolError

    from agents_mcp.tools.agent_config import candidate_config

    override = {"conversation_config": {"agent": {"prompt": {"temperature": 0.2}}}}
    state: Any = SimpleNamespace(test_runs=_Runs({"run_a": override, "run_plain": None}))
    assert await candidate_config(state, "run_a") == override
    with pytest.raises(ToolError, match="No stored test run"):
        await candidate_config(state, "run_missing")
    with pytest.raises(ToolError, match="no candidate config"):
        await candidate_config(state, "run_plain")
    with pytest.raises(ToolError, match="pass the fields to change"):
        await candidate_config(SimpleNamespace(), "run_a")  # type: ignore[arg-type]


async def test_a_branch_is_changed_and_main_is_kept(fresh_sandbox, tmp_path):
    agent_id = copy_of_demo(fresh_sandbox)
    branch = "agtbrch_agentviewtest"
    made = _http(
        fresh_sandbox,
        "PATCH",
        f"/v1/convai/agents/{agent_id}",
        params={"branch_id": branch},
        json={"tags": ["branch"]},
    )
    assert made.status_code == 200, made.text
    main_before = stored(fresh_sandbox, agent_id)
    args = {"agent_id": agent_id, "changes": PROMPT_CHANGE, "branch_id": branch, "confirm": True}
    async with stdio_server(sandbox_env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (c, _):
        done = await c.call_tool("update_agent", args)
    assert done.structured_content["status"] == "updated", text_of(done)
    on_branch = _http(
        fresh_sandbox, "GET", f"/v1/convai/agents/{agent_id}", params={"branch_id": branch}
    ).json()
    assert on_branch["conversation_config"]["agent"]["prompt"]["temperature"] == 0.9
    assert on_branch["tags"] == ["branch"]
    assert stored(fresh_sandbox, agent_id) == main_before


@pytest.mark.parametrize("mode", ["legacy", "auto"])  # mid-call question / 2026 input_required
async def test_both_protocol_eras_ask_once_and_apply_once(fresh_sandbox, tmp_path, mode):
    from mcp import Client

    from agents_mcp.server import build_server
    from agents_mcp.settings import Settings

    agent_id = copy_of_demo(fresh_sandbox)
    settings = Settings(
        base_url=fresh_sandbox.base_url, api_key=fresh_sandbox.api_key, data_dir=tmp_path
    )
    fresh_sandbox.clear_requests()
    callback = answering("accept", {"confirm": True})
    async with Client(build_server(settings), mode=mode, elicitation_callback=callback) as c:
        done = await c.call_tool("update_agent", {"agent_id": agent_id, "changes": {"tags": ["a"]}})
    assert done.structured_content["status"] == "updated", text_of(done)
    assert len(callback.asked) == 1 and 'tags: ["demo","support"] -> ["a"]' in callback.asked[0]
    assert methods(fresh_sandbox).count("PATCH") == 1
    assert stored(fresh_sandbox, agent_id)["tags"] == ["a"]
