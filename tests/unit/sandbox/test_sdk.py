"""The official `elevenlabs` SDK (2.78), pointed at the sandbox, runs every operation and parses
every answer into its own models: both the SDK's lenient parsing and strict pydantic validation."""

from __future__ import annotations

import httpx2
import pytest
from elevenlabs import AsyncElevenLabs, ElevenLabs
from elevenlabs.core.api_error import ApiError
from elevenlabs.errors import UnprocessableEntityError
from elevenlabs.types import (
    AgentSimulatedChatTestResponseModel,
    ConversationSimulationSpecification,
    GetAgentLinkResponseModel,
    GetAgentResponseModel,
    GetAgentsPageResponseModel,
    PromptEvaluationCriteria,
)

DEMO = "agent_demo_support"


@pytest.fixture
def client(fresh_sandbox) -> ElevenLabs:
    return ElevenLabs(base_url=fresh_sandbox.base_url, api_key=fresh_sandbox.api_key)


def _spec(prompt: str, **extra) -> ConversationSimulationSpecification:
    return ConversationSimulationSpecification(
        simulated_user_config={"prompt": {"prompt": prompt, "llm": "gpt-4o-mini"}}, **extra
    )


def test_list_and_get_parse_into_sdk_models(client, fresh_sandbox):
    page = client.conversational_ai.agents.list(page_size=2)
    assert isinstance(page, GetAgentsPageResponseModel)
    assert len(page.agents) == 2 and page.has_more and page.next_cursor
    rest = client.conversational_ai.agents.list(page_size=100, cursor=page.next_cursor)
    ids = [a.agent_id for a in page.agents + rest.agents]
    assert DEMO in ids and len(ids) == len(set(ids))
    found = client.conversational_ai.agents.list(search="northWIND")
    assert DEMO in [a.agent_id for a in found.agents]
    assert all("northwind" in a.name.lower() for a in found.agents)
    assert client.conversational_ai.agents.list(search="no such agent anywhere").agents == []

    agent = client.conversational_ai.agents.get(DEMO)
    assert isinstance(agent, GetAgentResponseModel)
    assert agent.agent_id == DEMO
    tools = agent.conversation_config.agent.prompt.tools
    assert {t.name for t in tools} >= {"lookup_order", "create_refund", "show_order_summary"}
    # Strict validation too (the SDK itself parses without validating).
    raw = httpx2.get(
        f"{fresh_sandbox.base_url}/v1/convai/agents/{DEMO}", headers=fresh_sandbox.headers()
    ).json()
    GetAgentResponseModel.model_validate(raw)
    GetAgentsPageResponseModel.model_validate(
        httpx2.get(
            f"{fresh_sandbox.base_url}/v1/convai/agents", headers=fresh_sandbox.headers()
        ).json()
    )


def test_duplicate_link_delete_round_trip(client):
    agents = client.conversational_ai.agents
    copy = agents.duplicate(DEMO, name="Support copy")
    assert copy.agent_id.startswith("agent_") and len(copy.agent_id) == 34
    assert agents.get(copy.agent_id).name == "Support copy"
    unnamed = agents.duplicate(DEMO)
    assert agents.get(unnamed.agent_id).name == "Northwind Support (demo) (copy)"

    link = agents.link.get(copy.agent_id)
    assert isinstance(link, GetAgentLinkResponseModel)
    assert link.agent_id == copy.agent_id and link.token is None
    faq = agents.link.get("agent_demo_faq")  # auth enabled: a shareable token
    assert faq.token is not None and faq.token.purpose == "shareable_link"
    assert (
        agents.link.get("agent_demo_faq").token.conversation_token == faq.token.conversation_token
    )

    assert agents.delete(copy.agent_id) is None
    assert agents.delete(unnamed.agent_id, force=True) is None
    with pytest.raises(ApiError) as err:
        agents.get(copy.agent_id)
    assert err.value.status_code == 404
    assert err.value.body["detail"]["status"] == "agent_not_found"


def test_create_then_simulate(client):
    agents = client.conversational_ai.agents
    created = agents.create(
        name="Tiny agent",
        conversation_config={
            "agent": {"first_message": "Hello!", "prompt": {"prompt": "You are Bo."}}
        },
    )
    assert agents.get(created.agent_id).conversation_config.agent.first_message == "Hello!"
    result = agents.simulate_conversation(
        created.agent_id,
        simulation_specification=_spec("You want opening hours."),
        new_turns_limit=3,
    )
    assert [t.role for t in result.simulated_conversation] == ["agent", "user", "agent", "user"]
    assert result.simulated_conversation[0].message == "Hello!"
    agents.delete(created.agent_id)


def test_simulate_conversation_parses_fully(client, fresh_sandbox):
    result = client.conversational_ai.agents.simulate_conversation(
        DEMO,
        simulation_specification=_spec(
            "You are an upset customer whose backpack arrived damaged. You want a refund.",
            tool_mock_config={"create_refund": {"default_return_value": '{"status": "approved"}'}},
            dynamic_variables={"customer_name": "Dana"},
        ),
        extra_evaluation_criteria=[
            PromptEvaluationCriteria(
                id="mentions_refund",
                name="Refund",
                conversation_goal_prompt="The agent issues a refund.",
            )
        ],
    )
    assert isinstance(result, AgentSimulatedChatTestResponseModel)
    assert result.simulated_conversation[0].message.startswith("Hi Dana,")
    called = {c.tool_name for t in result.simulated_conversation for c in (t.tool_calls or [])}
    assert {"lookup_order", "create_refund"} <= called
    assert set(result.analysis.evaluation_criteria_results) >= {"mentions_refund", "issue_resolved"}
    assert result.analysis.call_successful in ("success", "failure", "unknown")
    raw = httpx2.post(
        f"{fresh_sandbox.base_url}/v1/convai/agents/{DEMO}/simulate-conversation",
        headers=fresh_sandbox.headers(),
        json={"simulation_specification": {"simulated_user_config": {"prompt": {"prompt": "hi"}}}},
    ).json()
    AgentSimulatedChatTestResponseModel.model_validate(raw)


def test_stream_call_and_errors_through_sdk(client):
    agents = client.conversational_ai.agents
    # The SDK reads the streamed body whole and returns None: it must not fail on our frames.
    assert agents.simulate_conversation_stream(DEMO, simulation_specification=_spec("hi")) is None
    with pytest.raises(UnprocessableEntityError) as err:
        agents.simulate_conversation(DEMO, simulation_specification={"simulated_user_config": 5})
    assert isinstance(err.value.body["detail"], list)
    with pytest.raises(ApiError) as err:
        ElevenLabs(
            base_url=client._client_wrapper.get_base_url(), api_key="wrong"
        ).conversational_ai.agents.list()
    assert err.value.status_code == 401
    assert err.value.body["detail"]["status"] == "invalid_api_key"


@pytest.mark.anyio
async def test_async_sdk(fresh_sandbox):
    client = AsyncElevenLabs(base_url=fresh_sandbox.base_url, api_key=fresh_sandbox.api_key)
    agents = client.conversational_ai.agents
    copy = await agents.duplicate("agent_demo_booking")
    link = await agents.link.get(copy.agent_id)
    assert link.token is None
    result = await agents.simulate_conversation(
        copy.agent_id, simulation_specification=_spec("You want a table for four. [turns=6]")
    )
    assert sum(1 for t in result.simulated_conversation if t.message) == 7  # first message + 6
    await agents.delete(copy.agent_id)
    page = await agents.list()
    assert copy.agent_id not in [a.agent_id for a in page.agents]
