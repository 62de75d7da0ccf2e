"""The API client against the sandbox (the offline emulator of the Agents API) over real HTTP:
all five operations, and the retry and stream rules with the sandbox's faults."""

from __future__ import annotations

import time

import pytest

from agents_mcp.api import (
    AgentNotFoundError,
    APIError,
    AuthenticationError,
    RateLimitedError,
    StreamError,
    UpstreamError,
)
from agents_mcp.api.models import SimulateRequest
from agents_mcp.errors_text import error_text
from tests.support.apiserver import make_api
from tests.support.sandbox_fixture import SandboxHandle

pytestmark = pytest.mark.anyio
DEMO = "agent_demo_support"
REQUEST = SimulateRequest.model_validate(
    {
        "simulation_specification": {
            "simulated_user_config": {
                "first_message": "Hi, my boots arrived damaged.",
                "prompt": {"prompt": "You want a refund for damaged boots. [turns=6]"},
            }
        },
        "new_turns_limit": 6,
    }
)


def api_for(sb: SandboxHandle, **kw):
    return make_api(sb.base_url, api_key=sb.api_key, **kw)


def paths(sb: SandboxHandle, suffix: str) -> list[int]:
    return [r["status"] for r in sb.requests() if r["path"].endswith(suffix)]


async def test_all_five_operations(fresh_sandbox: SandboxHandle) -> None:
    sb = fresh_sandbox
    async with api_for(sb) as api:
        link = await api.get_agent_link(DEMO)
        assert link.agent_id == DEMO

        copy = await api.duplicate_agent(DEMO, name="Support (copy)")
        assert copy.agent_id != DEMO
        assert (await api.get_agent_link(copy.agent_id)).agent_id == copy.agent_id
        assert (await api.delete_agent(copy.agent_id)).model_dump() == {}
        with pytest.raises(AgentNotFoundError, match=copy.agent_id):
            await api.get_agent_link(copy.agent_id)
        with pytest.raises(AgentNotFoundError):
            await api.delete_agent(copy.agent_id, force=True)

        whole = await api.simulate(DEMO, REQUEST)
        assert whole.simulated_conversation and whole.analysis.call_successful

        frames = [frame async for frame in api.simulate_stream(DEMO, REQUEST)]
        assert frames[-1].analysis is not None
        assert all(f.analysis is None for f in frames[:-1])
        assert sum(len(f.simulated_conversation) for f in frames) > 0
    assert all(r["status"] in (200, 404) for r in sb.requests())


async def test_sandbox_auth_errors(fresh_sandbox: SandboxHandle) -> None:
    async with make_api(fresh_sandbox.base_url, api_key="sk_wrong_key_123456") as api:
        with pytest.raises(AuthenticationError) as wrong:
            await api.get_agent_link(DEMO)
    async with make_api(fresh_sandbox.base_url, api_key=None) as api:
        with pytest.raises(AuthenticationError) as missing:
            await api.get_agent_link(DEMO)
    assert wrong.value.code == "invalid_api_key" and "sk_wrong_key_123456" not in str(wrong.value)
    assert missing.value.code == "missing_api_key" and "No API key was sent" in error_text(
        missing.value
    )


async def test_500_on_duplicate_is_sent_once(fresh_sandbox: SandboxHandle) -> None:
    fresh_sandbox.arm_fault("http_500", match={"path_suffix": "/duplicate"})
    async with api_for(fresh_sandbox) as api:
        with pytest.raises(UpstreamError, match="something_went_wrong"):
            await api.duplicate_agent(DEMO)
    assert paths(fresh_sandbox, "/duplicate") == [500]


@pytest.mark.parametrize("fault", ["http_500", "http_502", "http_503"])
async def test_5xx_on_link_is_retried(fresh_sandbox: SandboxHandle, fault: str) -> None:
    fresh_sandbox.arm_fault(fault, match={"path_suffix": "/link"}, times=2)
    async with api_for(fresh_sandbox) as api:
        assert (await api.get_agent_link(DEMO)).agent_id == DEMO
    assert paths(fresh_sandbox, "/link") == [int(fault[-3:])] * 2 + [200]


async def test_rate_limit_with_retry_after_on_a_stream(fresh_sandbox: SandboxHandle) -> None:
    fresh_sandbox.arm_fault("rate_limit", match={"path_suffix": "/stream"}, retry_after=1)
    async with api_for(fresh_sandbox) as api:
        frames = [f async for f in api.simulate_stream(DEMO, REQUEST)]
    assert frames[-1].analysis is not None
    assert api.sleeps.delays == [1.0]
    assert paths(fresh_sandbox, "/stream") == [429, 200]


async def test_rate_limit_that_persists(fresh_sandbox: SandboxHandle) -> None:
    fresh_sandbox.arm_fault(
        "rate_limit", match={"path_suffix": "/simulate-conversation"}, times=None
    )
    async with api_for(fresh_sandbox, max_retries=2) as api:
        with pytest.raises(RateLimitedError, match="too_many_concurrent_requests"):
            await api.simulate(DEMO, REQUEST)
    assert paths(fresh_sandbox, "/simulate-conversation") == [429] * 3


async def test_dropped_connection(fresh_sandbox: SandboxHandle) -> None:
    sb = fresh_sandbox
    sb.arm_fault("drop_connection", match={"path_suffix": "/duplicate"}, after_processing=True)
    sb.arm_fault("drop_connection", match={"path_suffix": "/link"})
    async with api_for(sb) as api:
        with pytest.raises(UpstreamError) as info:
            await api.duplicate_agent(DEMO)
        assert info.value.not_sent_again  # its words: "a copy may have been created anyway"
        assert (await api.get_agent_link(DEMO)).agent_id == DEMO  # idempotent: tried again
    assert len(paths(sb, "/duplicate")) == 1
    assert len(paths(sb, "/link")) == 2
    sb.reset(agents=True)  # the dropped duplicate did create a copy


@pytest.mark.parametrize(
    ("fault", "params", "needle"),
    [
        ("drop_mid_stream", {"after_frames": 1}, "connection broke"),
        ("malformed_frame", {"after_frames": 1}, "malformed frame"),
        ("no_analysis", {}, "without an analysis"),
        ("stall", {"seconds": 5, "after_frames": 1}, "stalled"),
    ],
)
async def test_stream_faults(fresh_sandbox: SandboxHandle, fault, params, needle) -> None:
    fresh_sandbox.arm_fault(fault, match={"path_suffix": "/stream"}, **params)
    got = []
    async with api_for(fresh_sandbox, stall_timeout=0.5) as api:
        start = time.monotonic()
        with pytest.raises(StreamError, match=needle) as info:
            async for frame in api.simulate_stream(DEMO, REQUEST):
                got.append(frame)
    assert time.monotonic() - start < 4
    assert fresh_sandbox.api_key not in str(info.value)
    assert len(paths(fresh_sandbox, "/stream")) == 1  # a simulation is never sent twice
    if fault != "no_analysis":
        assert len(got) >= 1  # frames before the fault were delivered


async def test_huge_answer_is_refused(fresh_sandbox: SandboxHandle) -> None:
    fresh_sandbox.arm_fault("huge_response", match={"path_suffix": "/link"}, bytes=3_000_000)
    async with api_for(fresh_sandbox) as api:
        with pytest.raises(APIError, match="larger than"):
            await api.get_agent_link(DEMO)
