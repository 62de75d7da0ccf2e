"""Several replicas behind a load balancer: what must be shared, shown with two real processes.

- request_state_keys: a multi-round tool call (delete_agent's confirmation, protocol 2026-07-28)
  begun on replica A can be finished on replica B only when both seal with the same keys.
- data_dir: a simulation started on A can be awaited and read on B when they share the store.
- stateless_http: handshake-era clients work without sessions (so without sticky routing), and
  progress still arrives.
"""

from __future__ import annotations

import secrets

import httpx2
import pytest
from mcp import types

from agents_mcp.tools.registry import tool_names
from tests.support.http_sidecar import TOKEN, Sidecar, clean_env, mcp_client

DEMO = "agent_demo_support"


def replica_env(sandbox, data_dir, **extra: str) -> dict[str, str]:
    return clean_env(
        ELEVENLABS_BASE_URL=sandbox.base_url,
        ELEVENLABS_API_KEY=sandbox.api_key,
        AGENTS_MCP_AUTH_TOKEN=TOKEN,
        AGENTS_MCP_DATA_DIR=str(data_dir),
        **extra,
    )


async def accept(context, params) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"confirm": True})


@pytest.mark.anyio
@pytest.mark.parametrize("shared", [True, False], ids=["shared-keys", "own-keys"])
async def test_a_confirmation_round_started_on_one_replica_finishes_on_another(
    fresh_sandbox, tmp_path, shared
):
    key = secrets.token_hex(32)
    keys_a = key
    keys_b = key if shared else secrets.token_hex(32)
    env_a = replica_env(fresh_sandbox, tmp_path, AGENTS_MCP_REQUEST_STATE_KEYS=keys_a)
    env_b = replica_env(fresh_sandbox, tmp_path, AGENTS_MCP_REQUEST_STATE_KEYS=keys_b)
    with Sidecar.serve(env=env_a) as a, Sidecar.serve(env=env_b) as b:
        async with (
            mcp_client(a.url, elicitation_callback=accept) as on_a,
            mcp_client(b.url, elicitation_callback=accept) as on_b,
        ):
            copy = await on_a.call_tool("duplicate_agent", {"agent_id": DEMO})
            agent_id = copy.structured_content["agent_id"]
            # round 1 on A: the server asks the user to confirm and seals its state
            first = await on_a.session.call_tool(
                "delete_agent", {"agent_id": agent_id}, allow_input_required=True
            )
            assert isinstance(first, types.InputRequiredResult)
            assert first.request_state and first.input_requests
            answers = {
                k: types.ElicitResult(action="accept", content={"confirm": True})
                for k in first.input_requests
            }
            # round 2 on B (the load balancer sent the retry elsewhere)
            if shared:
                second = await on_b.session.call_tool(
                    "delete_agent",
                    {"agent_id": agent_id},
                    input_responses=answers,
                    request_state=first.request_state,
                )
                assert second.structured_content == {
                    "agent_id": agent_id,
                    "deleted": True,
                    "status": "deleted",
                }
            else:
                with pytest.raises(Exception, match="Invalid or expired requestState"):
                    await on_b.session.call_tool(
                        "delete_agent",
                        {"agent_id": agent_id},
                        input_responses=answers,
                        request_state=first.request_state,
                    )
            link = await on_a.call_tool("get_agent_link", {"agent_id": agent_id})
            assert link.is_error is shared  # deleted only when B could read A's state
    key_text = a.log() + b.log()
    assert keys_a not in key_text and keys_b not in key_text


@pytest.mark.anyio
async def test_replicas_sharing_the_data_dir_see_each_others_simulations(fresh_sandbox, tmp_path):
    fresh_sandbox.configure(turn_delay=0.05)
    env = replica_env(fresh_sandbox, tmp_path)
    with Sidecar.serve(env=env) as a, Sidecar.serve(env=env) as b:
        async with mcp_client(a.url) as on_a, mcp_client(b.url) as on_b:
            started = await on_a.call_tool(
                "simulate_conversation",
                {"agent_id": DEMO, "user_prompt": "Where is my parcel?", "wait_seconds": 0},
            )
            sim_id = started.structured_content["simulation_id"]
            waited = await on_b.call_tool(
                "get_simulation", {"simulation_id": sim_id, "wait_seconds": 50}
            )
    assert waited.structured_content["simulation_id"] == sim_id
    assert waited.structured_content["status"] == "done"


@pytest.mark.anyio
async def test_stateless_mode_serves_handshake_clients_without_sessions(fresh_sandbox, tmp_path):
    fresh_sandbox.configure(turn_delay=0.01)
    env = replica_env(fresh_sandbox, tmp_path, AGENTS_MCP_STATELESS_HTTP="1")
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    with Sidecar.serve(env=env) as server:
        async with mcp_client(server.url, mode="legacy") as client:
            tools = await client.list_tools()
            assert {t.name for t in tools.tools} == set(tool_names())
            sim = await client.call_tool(
                "simulate_conversation",
                {"agent_id": DEMO, "user_prompt": "Change my booking.", "wait_seconds": 50},
                progress_callback=on_progress,
            )
            # no back channel without a session, so no dialog: the confirm argument is the way
            copy = await client.call_tool("duplicate_agent", {"agent_id": DEMO})
            deleted = await client.call_tool(
                "delete_agent", {"agent_id": copy.structured_content["agent_id"], "confirm": True}
            )
        async with httpx2.AsyncClient(timeout=10) as http:
            initialize = await http.post(
                server.url,
                json={
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "protocolVersion": "2025-06-18",
                        "capabilities": {},
                        "clientInfo": {"name": "t", "version": "0"},
                    },
                },
                headers={
                    "Authorization": f"Bearer {TOKEN}",
                    "Accept": "application/json, text/event-stream",
                },
            )
    assert sim.structured_content["status"] == "done"
    assert len(progress) >= 2
    assert deleted.structured_content["deleted"] is True
    assert initialize.status_code == 200
    assert "mcp-session-id" not in initialize.headers  # nothing to route on: no stickiness needed
