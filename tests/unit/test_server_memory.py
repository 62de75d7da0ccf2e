"""The server in memory (`Client(server)`) against the real sandbox over loopback HTTP:
delete confirmation by elicitation (accepted, declined, cancelled, unticked, unsupported), on
both protocol eras, the size of tools/list, and the link result's token fields.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.types import (
    ClientCapabilities,
    ElicitationCapability,
    ElicitRequestParams,
    ElicitResult,
    FormElicitationCapability,
    UrlElicitationCapability,
)

from agents_mcp.api.models import AgentLink
from agents_mcp.server import build_server
from agents_mcp.settings import Settings
from agents_mcp.tools.agents import _client_can_ask, _link_result, expires_in
from agents_mcp.tools.registry import tool_names
from tests.support.mcp_fixture import text_of, tools_list_bytes

DEMO = "agent_demo_support"
ERAS = ["legacy", "auto"]  # initialize handshake (elicitation mid-call) / 2026 input_required


@pytest.fixture(autouse=True)
def _restore_demo_agents(sandbox):
    """The sandbox is shared by the whole session: leave no copies behind for other tests."""
    yield
    sandbox.reset(agents=True)


@pytest.fixture
def settings(fresh_sandbox, tmp_path) -> Settings:
    return Settings(
        base_url=fresh_sandbox.base_url,
        api_key=fresh_sandbox.api_key,
        data_dir=tmp_path,
        max_retries=0,
    )


def agent_exists(sandbox, agent_id: str) -> bool:
    response = httpx2.get(
        f"{sandbox.base_url}/v1/convai/agents/{agent_id}", headers=sandbox.headers(), timeout=10
    )
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


def copy_of_demo(sandbox) -> str:
    response = httpx2.post(
        f"{sandbox.base_url}/v1/convai/agents/{DEMO}/duplicate",
        headers=sandbox.headers(),
        json={"name": "test copy"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["agent_id"]


def answering(action: str, content: dict[str, Any] | None = None):
    """An elicitation callback that answers `action` and records the questions it was asked."""
    asked: list[ElicitRequestParams] = []

    async def callback(_context, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params)
        return ElicitResult(action=action, content=content)

    callback.asked = asked  # type: ignore[attr-defined]
    return callback


# --- elicitation -------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_confirmed_by_the_user_deletes(settings, fresh_sandbox, mode):
    agent_id = copy_of_demo(fresh_sandbox)
    callback = answering("accept", {"confirm": True})
    async with Client(build_server(settings), mode=mode, elicitation_callback=callback) as client:
        result = await client.call_tool("delete_agent", {"agent_id": agent_id})
    assert not result.is_error, text_of(result)
    assert result.structured_content == {"agent_id": agent_id, "deleted": True, "status": "deleted"}
    assert len(callback.asked) == 1
    assert agent_id in callback.asked[0].message  # the question names the agent
    assert "'test copy'" in callback.asked[0].message  # by its name too
    assert "cannot be undone" in callback.asked[0].message
    assert not agent_exists(fresh_sandbox, agent_id)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize(
    ("action", "content", "status"),
    [
        ("decline", None, "declined"),
        ("cancel", None, "cancelled"),
        ("accept", {"confirm": False}, "declined"),  # submitted the form without ticking
    ],
)
async def test_not_confirmed_deletes_nothing(
    settings, fresh_sandbox, mode, action, content, status
):
    agent_id = copy_of_demo(fresh_sandbox)
    fresh_sandbox.clear_requests()
    callback = answering(action, content)
    async with Client(build_server(settings), mode=mode, elicitation_callback=callback) as client:
        # confirm=true from the model does not bypass the user's answer
        result = await client.call_tool("delete_agent", {"agent_id": agent_id, "confirm": True})
    assert not result.is_error, text_of(result)
    assert result.structured_content["deleted"] is False
    assert result.structured_content["status"] == status
    assert "Not deleted" in text_of(result)
    # the agent was read (once per round) to name it in the question; no DELETE
    assert {r["method"] for r in fresh_sandbox.requests()} == {"GET"}
    assert agent_exists(fresh_sandbox, agent_id)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_client_without_elicitation_needs_confirm_true(settings, fresh_sandbox, mode):
    agent_id = copy_of_demo(fresh_sandbox)
    fresh_sandbox.clear_requests()
    async with Client(build_server(settings), mode=mode) as client:  # no elicitation capability
        refused = await client.call_tool("delete_agent", {"agent_id": agent_id})
        assert not refused.is_error
        assert refused.structured_content["status"] == "needs_confirmation"
        assert "confirm=true" in text_of(refused)
        assert [r["method"] for r in fresh_sandbox.requests()] == ["GET"]  # no DELETE
        assert agent_exists(fresh_sandbox, agent_id)

        done = await client.call_tool("delete_agent", {"agent_id": agent_id, "confirm": True})
    assert done.structured_content == {"agent_id": agent_id, "deleted": True, "status": "deleted"}
    assert not agent_exists(fresh_sandbox, agent_id)


def test_url_only_elicitation_counts_as_no_dialog():
    """A client that can only open URLs cannot show the form: fall back to `confirm`."""

    def ctx(caps: ClientCapabilities | None) -> Any:
        return SimpleNamespace(client_capabilities=caps)

    assert not _client_can_ask(ctx(None))
    assert not _client_can_ask(ctx(ClientCapabilities()))
    url_only = ElicitationCapability(url=UrlElicitationCapability())
    assert not _client_can_ask(ctx(ClientCapabilities(elicitation=url_only)))
    assert _client_can_ask(ctx(ClientCapabilities(elicitation=ElicitationCapability())))
    form = ElicitationCapability(form=FormElicitationCapability())
    assert _client_can_ask(ctx(ClientCapabilities(elicitation=form)))


@pytest.mark.anyio
async def test_invalid_id_is_refused_before_any_question_or_request(settings, fresh_sandbox):
    callback = answering("accept", {"confirm": True})
    async with Client(build_server(settings), elicitation_callback=callback) as client:
        for tool in ("delete_agent", "duplicate_agent", "get_agent_link"):
            result = await client.call_tool(tool, {"agent_id": "../../v1/user"})
            assert result.is_error, tool
            assert "Invalid agent id" in text_of(result)
            assert "sent" in text_of(result)
    assert callback.asked == []
    assert fresh_sandbox.requests() == []


# --- tools/list --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_tools_list_is_within_8_kb(settings):
    async with Client(build_server(settings)) as client:
        tools = (await client.list_tools()).tools
    assert sorted(t.name for t in tools) == sorted(tool_names())
    size = tools_list_bytes(tools)
    assert size <= 8192, f"tools/list is {size} bytes"
    for tool in tools:
        assert '"title"' not in str(tool.input_schema).replace("'", '"')  # compacted
        assert tool.description and len(tool.description) < 300


@pytest.mark.anyio
async def test_annotations_and_output_schemas(settings):
    async with Client(build_server(settings)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        instructions = client.instructions
    assert instructions and "confirm" in instructions and "simulation_id" in instructions
    delete = tools["delete_agent"]
    assert delete.annotations.destructive_hint is True
    assert delete.annotations.idempotent_hint is True
    assert tools["get_agent_link"].annotations.read_only_hint is True
    assert tools["duplicate_agent"].annotations.destructive_hint is False
    for name in ("delete_agent", "duplicate_agent", "get_agent_link"):
        assert tools[name].output_schema is None  # not listed: it costs bytes, no model needs it
    # flat inputs: no nesting under a parameter, no $ref
    assert set(delete.input_schema["properties"]) == {"agent_id", "confirm", "force"}
    assert "$defs" not in str(delete.input_schema)


# --- link: token fields ------------------------------------------------------------------------


def test_link_with_an_expiring_token():
    link = AgentLink.model_validate(
        {
            "agent_id": "agent_x",
            "token": {
                "agent_id": "agent_x",
                "conversation_token": "tok",
                "expiration_time_unix_secs": 1_700_000_900,
                "purpose": "signed_url",
            },
        }
    )
    r = _link_result(link, now=1_700_000_000)
    assert r.url == "https://elevenlabs.io/app/talk-to?agent_id=agent_x"
    assert r.token == "tok" and r.token_purpose == "signed_url"
    assert r.token_expires_at == "2023-11-14T22:28:20Z"
    assert r.token_expires_in == "expires in 15 min"


def test_link_without_token():
    r = _link_result(AgentLink(agent_id="agent_x", token=None), now=0)
    assert r.token is None and r.token_expires_in is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (30, "expires in 30 s"),
        (600, "expires in 10 min"),
        (2 * 3600 + 300, "expires in 2 h 5 min"),
        (3 * 3600, "expires in 3 h"),
        (5 * 86400, "expires in 5 days"),
        (-120, "expired 2 min ago"),
    ],
)
def test_expires_in(seconds, text):
    assert expires_in(seconds) == text
