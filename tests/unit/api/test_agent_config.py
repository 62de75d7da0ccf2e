"""AgentConfigAPI over real HTTP: paths, queries, paging of the tools, what is never resent, and
the errors (a scripted server for exact exchanges, the sandbox for real behaviour)."""

from __future__ import annotations

import pytest

from agents_mcp.api.agent_config import AgentConfigAPI
from agents_mcp.api.errors import (
    AgentNotFoundError,
    InvalidAgentIdError,
    RequestValidationError,
    UpstreamError,
)
from tests.support.apiserver import TEST_KEY, APITestServer, Reply, make_api

pytestmark = pytest.mark.anyio

AGENT = "agent_3201k60p4ctyfg4smr22n17n6vxy"
PATH = f"/v1/convai/agents/{AGENT}"


async def test_list_tools_follows_every_page(srv: APITestServer) -> None:
    first = [{"id": f"tool_{i}", "tool_config": {"name": f"t{i}"}} for i in range(2)]
    srv.script(
        "GET",
        "/v1/convai/tools",
        Reply(json={"tools": first, "has_more": True, "next_cursor": "c2"}),
        Reply(json={"tools": [{"id": "tool_9", "tool_config": {}}, 7], "has_more": False}),
    )
    async with make_api(srv.base_url) as api:
        tools = await AgentConfigAPI(api).list_tools()
    assert [t["id"] for t in tools] == ["tool_0", "tool_1", "tool_9"]
    assert [r.query for r in srv.requests] == ["page_size=100", "page_size=100&cursor=c2"]
    assert all(r.headers["xi-api-key"] == TEST_KEY for r in srv.requests)


async def test_get_and_update_send_branch_id_as_a_query(srv: APITestServer) -> None:
    srv.script("GET", PATH, Reply(json={"agent_id": AGENT, "name": "A"}))
    srv.script("PATCH", PATH, Reply(json={"agent_id": AGENT, "name": "B"}))
    async with make_api(srv.base_url) as api:
        config = AgentConfigAPI(api)
        assert (await config.get_agent(AGENT, branch_id="agtbrch_1"))["name"] == "A"
        after = await config.update_agent(AGENT, {"name": "B"}, branch_id="agtbrch_1")
    assert after["name"] == "B"
    get, patch = srv.requests
    assert (get.method, get.query) == ("GET", "branch_id=agtbrch_1")
    assert (patch.method, patch.query, patch.json()) == (
        "PATCH",
        "branch_id=agtbrch_1",
        {"name": "B"},
    )


async def test_a_failed_patch_is_never_sent_again(srv: APITestServer) -> None:
    srv.script("PATCH", PATH, Reply(status=503, json={"detail": "unavailable"}))
    async with make_api(srv.base_url, max_retries=3) as api:
        with pytest.raises(UpstreamError):
            await AgentConfigAPI(api).update_agent(AGENT, {"name": "B"})
    assert srv.count("PATCH") == 1 and api.sleeps.delays == []


async def test_nothing_is_sent_for_bad_input(srv: APITestServer) -> None:
    async with make_api(srv.base_url) as api:
        config = AgentConfigAPI(api)
        with pytest.raises(InvalidAgentIdError):
            await config.get_agent("../v1/user")
        with pytest.raises(RequestValidationError, match="branch id"):
            await config.update_agent(AGENT, {"name": "B"}, branch_id="a/b")
        with pytest.raises(RequestValidationError) as bad:
            await config.update_agent(AGENT, {"conversation_config": {"agnt": {}}})
        with pytest.raises(RequestValidationError, match="page_size"):
            await config.list_agents(page_size=0)
    assert bad.value.errors[0].location == "changes.conversation_config.agnt"
    assert "did you mean agent" in bad.value.errors[0].reason
    assert srv.requests == []


async def test_a_404_on_a_list_is_not_an_unknown_agent(srv: APITestServer) -> None:
    async with make_api(srv.base_url) as api:  # nothing scripted: FastAPI's own 404
        with pytest.raises(UpstreamError, match="no such endpoint"):
            await AgentConfigAPI(api).list_agents()
        with pytest.raises(AgentNotFoundError):
            await AgentConfigAPI(api).get_agent(AGENT)


async def test_against_the_sandbox_tools_resolve_the_agents_tool_ids(fresh_sandbox) -> None:
    async with make_api(fresh_sandbox.base_url, api_key=fresh_sandbox.api_key) as api:
        config = AgentConfigAPI(api)
        doc = await config.get_agent("agent_demo_support")
        tools = {t["id"]: t["tool_config"]["name"] for t in await config.list_tools()}
        page = await config.list_agents(search="Northwind", page_size=1)
    ids = doc["conversation_config"]["agent"]["prompt"]["tool_ids"]
    assert [tools[i] for i in ids] == ["lookup_order", "create_refund", "show_order_summary"]
    assert page["agents"][0]["agent_id"] == "agent_demo_support"
