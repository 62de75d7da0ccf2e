"""The API client against a real HTTP server on loopback: endpoints, retries, streams, safety."""

from __future__ import annotations

import contextlib
import email.utils
import json
import time
from collections.abc import Iterator

import anyio
import httpx2
import pytest

from agents_mcp.api import (
    USER_AGENT,
    AgentsAPI,
    APIError,
    InvalidAgentIdError,
    RateLimitedError,
    RequestValidationError,
    StreamError,
    UpstreamError,
    create_http_client,
    validate_agent_id,
)
from agents_mcp.api.models import SimulateRequest
from agents_mcp.errors_text import error_text
from agents_mcp.settings import load_settings
from tests.support.apiserver import (
    TEST_KEY,
    APITestServer,
    DroppingServer,
    Reply,
    StreamReply,
    closed_port,
    make_api,
)
from tests.support.paths import DATA

pytestmark = pytest.mark.anyio
words = error_text  # what the model would read for an error: the tests check it with the facts
AGENT = "agent_3201k60p4ctyfg4smr22n17n6vxy"


@contextlib.contextmanager
def raises_saying(cls: type[APIError], *parts: str) -> Iterator[pytest.ExceptionInfo[APIError]]:
    """pytest.raises, then check that the model's words for the error contain `parts`."""
    with pytest.raises(cls) as info:
        yield info
    text = words(info.value)
    for part in parts:
        assert part in text, (part, text)


BASE = f"/v1/convai/agents/{AGENT}"
TURNS = json.loads((DATA / "docs_example_conversation_history.json").read_text())
ANALYSIS = json.loads((DATA / "docs_example_analysis.json").read_text())["analysis"]
REQUEST = {
    "simulation_specification": {
        "simulated_user_config": {
            "first_message": "Hello",
            "language": "en",
            "prompt": {"prompt": "You are a hurried customer.", "llm": "gpt-4o-mini"},
        }
    },
    "new_turns_limit": 6,
}


async def upstream_closed(srv: APITestServer, within: float = 3.0) -> None:
    """Wait until the server saw its streamed response end (the client closed it)."""
    with anyio.fail_after(within):
        while srv.streams_open:  # noqa: ASYNC110 - the server runs in another thread
            await anyio.sleep(0.02)


def frame_line(turns: list, analysis: dict | None = None) -> bytes:
    inner = json.dumps({"simulated_conversation": turns, "analysis": analysis})
    return json.dumps(inner).encode() + b"\n"


# --- the five endpoints ------------------------------------------------------------------------


async def test_get_agent_link_sends_key_and_user_agent(srv: APITestServer) -> None:
    token = {
        "agent_id": AGENT,
        "conversation_token": "tok_123",
        "purpose": "shareable_link",
        "expiration_time_unix_secs": None,
        "brand_new_field": 1,
    }
    srv.script("GET", f"{BASE}/link", Reply(json={"agent_id": AGENT, "token": token}))
    async with make_api(srv.base_url) as api:
        link = await api.get_agent_link(AGENT)
    assert link.agent_id == AGENT
    assert link.token is not None and link.token.conversation_token == "tok_123"
    assert link.token.model_extra == {"brand_new_field": 1}
    (req,) = srv.requests
    assert (req.method, req.path, req.query) == ("GET", f"{BASE}/link", "")
    assert req.headers["xi-api-key"] == TEST_KEY
    assert req.headers["user-agent"] == USER_AGENT == "agents-mcp/0.1.0"
    assert req.headers["accept"] == "application/json"


async def test_link_without_token(srv: APITestServer) -> None:
    srv.script("GET", f"{BASE}/link", Reply(json={"agent_id": AGENT, "token": None}))
    async with make_api(srv.base_url) as api:
        link = await api.get_agent_link(AGENT)
    assert link.token is None


async def test_delete_agent_with_and_without_force(srv: APITestServer) -> None:
    srv.script("DELETE", BASE, Reply(json={}), Reply(status=204))
    async with make_api(srv.base_url) as api:
        first = await api.delete_agent(AGENT)
        second = await api.delete_agent(AGENT, force=True)
    assert first.model_dump() == {} and second.model_dump() == {}
    assert [(r.method, r.path, r.query) for r in srv.requests] == [
        ("DELETE", BASE, ""),
        ("DELETE", BASE, "force=true"),
    ]


async def test_duplicate_agent_with_and_without_name(srv: APITestServer) -> None:
    srv.script("POST", f"{BASE}/duplicate", Reply(json={"agent_id": "agent_copy_1"}))
    async with make_api(srv.base_url) as api:
        named = await api.duplicate_agent(AGENT, name="Support (copy)")
        plain = await api.duplicate_agent(AGENT)
    assert named.agent_id == plain.agent_id == "agent_copy_1"
    assert [r.json() for r in srv.requests] == [{"name": "Support (copy)"}, {}]
    assert srv.requests[0].headers["content-type"] == "application/json"


async def test_simulate_posts_the_validated_body(srv: APITestServer) -> None:
    body = {"simulated_conversation": TURNS, "analysis": ANALYSIS, "new_top_level": "kept"}
    srv.script("POST", f"{BASE}/simulate-conversation", Reply(json=body))
    async with make_api(srv.base_url) as api:
        result = await api.simulate(AGENT, SimulateRequest.model_validate(REQUEST))
        again = await api.simulate(AGENT, REQUEST)  # a plain mapping is validated too
    assert len(result.simulated_conversation) == len(TURNS)
    assert result.analysis.call_successful == "success"
    assert result.model_extra == {"new_top_level": "kept"}
    assert again == result
    assert srv.requests[0].json() == REQUEST  # nulls left out, nothing added


async def test_invalid_simulate_request_is_refused_before_sending(srv: APITestServer) -> None:
    bad = {"simulation_specification": {"simulated_user_config": {"prompt": "a string"}}, "x": 1}
    async with make_api(srv.base_url) as api:
        with pytest.raises(RequestValidationError) as info:
            await api.simulate(AGENT, bad)
        with pytest.raises(RequestValidationError):
            api.simulate_stream(AGENT, bad)
    locations = [e.location for e in info.value.errors]
    assert "simulation_specification.simulated_user_config.prompt" in locations
    assert "x" in locations
    assert info.value.sent is False and "not sent" in words(info.value)
    assert srv.requests == []


async def test_simulate_stream_yields_frames_as_they_arrive(srv: APITestServer) -> None:
    chunks = [frame_line(TURNS[:2]), frame_line(TURNS[2:4]), frame_line([], ANALYSIS)]
    srv.script("POST", f"{BASE}/simulate-conversation/stream", StreamReply(chunks=chunks, gap=0.4))
    arrivals: list[float] = []
    frames = []
    async with make_api(srv.base_url) as api:
        start = time.monotonic()
        async for frame in api.simulate_stream(AGENT, REQUEST):
            arrivals.append(time.monotonic() - start)
            frames.append(frame)
    assert [len(f.simulated_conversation) for f in frames] == [2, 2, 0]
    assert frames[-1].analysis is not None
    # the first frame came while the server was still holding back the rest
    assert arrivals[0] < 0.3 and arrivals[-1] >= 0.75
    assert srv.requests[0].json() == REQUEST


async def test_simulate_stream_with_frames_split_across_chunks(srv: APITestServer) -> None:
    data = (
        b"".join(
            json.dumps({"simulated_conversation": [t], "analysis": None}).encode() for t in TURNS
        )
        + json.dumps({"simulated_conversation": [], "analysis": ANALYSIS}).encode()
    )
    chunks = [data[i : i + 37] for i in range(0, len(data), 37)]
    srv.script("POST", f"{BASE}/simulate-conversation/stream", StreamReply(chunks=chunks))
    async with make_api(srv.base_url) as api:
        frames = [f async for f in api.simulate_stream(AGENT, REQUEST)]
    assert len(frames) == len(TURNS) + 1
    assert [f.simulated_conversation[0].role for f in frames[:-1]] == [t["role"] for t in TURNS]


# --- agent ids and paths -----------------------------------------------------------------------

BAD_IDS = ["../x", "a%2Fb", "a/b", "?x", "#", "", "a b", "x" * 129, "agent\n", "é", "a.b"]


@pytest.mark.parametrize("bad", [*BAD_IDS, None, 123])
async def test_bad_agent_ids_are_refused_before_any_request(srv: APITestServer, bad) -> None:
    async with make_api(srv.base_url) as api:
        calls = [
            lambda: api.delete_agent(bad),
            lambda: api.duplicate_agent(bad),
            lambda: api.get_agent_link(bad),
            lambda: api.simulate(bad, REQUEST),
        ]
        for call in calls:
            with pytest.raises(InvalidAgentIdError) as info:
                await call()
            assert info.value.sent is False
            assert "Nothing was sent" in words(info.value)
        with pytest.raises(InvalidAgentIdError):
            api.simulate_stream(bad, REQUEST)  # refused when called, not when iterated
    assert srv.requests == []


def test_valid_agent_ids() -> None:
    for good in [AGENT, "a", "A-b_9", "x" * 128, "J3Pbu5gP6NNKBscdCdwB"]:
        assert validate_agent_id(good) == good


async def test_every_path_segment_is_percent_encoded() -> None:
    # the check above stops bad ids; the encoding is a second wall behind it
    async with make_api("http://127.0.0.1:9") as api:
        assert api._url("a/b", "x?y#z").endswith("/v1/convai/agents/a%2Fb/x%3Fy%23z")


# --- retries -----------------------------------------------------------------------------------

ERROR_500 = Reply(status=500, json={"detail": {"status": "something_went_wrong", "message": "x"}})


async def test_5xx_on_duplicate_is_sent_once(srv: APITestServer) -> None:
    srv.script("POST", f"{BASE}/duplicate", ERROR_500, Reply(json={"agent_id": "a2"}))
    async with make_api(srv.base_url) as api:
        with pytest.raises(UpstreamError) as info:
            await api.duplicate_agent(AGENT)
    assert srv.count("POST") == 1
    assert api.sleeps.delays == []
    assert "may have been created" in words(info.value)
    assert info.value.status == 500
    assert info.value.effect == "unknown" and info.value.not_sent_again


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_on_simulations_is_sent_once(srv: APITestServer, status: int) -> None:
    srv.script("POST", f"{BASE}/simulate-conversation", Reply(status=status, body=b"oops"))
    srv.script("POST", f"{BASE}/simulate-conversation/stream", Reply(status=status, body=b"x"))
    async with make_api(srv.base_url) as api:
        with raises_saying(UpstreamError, "costs credits"):
            await api.simulate(AGENT, REQUEST)
        with raises_saying(UpstreamError, "costs credits"):
            async for _ in api.simulate_stream(AGENT, REQUEST):
                pass
    assert srv.count("POST", f"{BASE}/simulate-conversation") == 1
    assert srv.count("POST", f"{BASE}/simulate-conversation/stream") == 1


async def test_5xx_on_link_is_retried_until_success(srv: APITestServer) -> None:
    ok = Reply(json={"agent_id": AGENT, "token": None})
    srv.script("GET", f"{BASE}/link", ERROR_500, Reply(status=503, body=b"busy"), ok)
    async with make_api(srv.base_url, backoff_base=0.5, backoff_max=8) as api:
        link = await api.get_agent_link(AGENT)
    assert link.agent_id == AGENT
    assert srv.count("GET") == 3
    first, second = api.sleeps.delays
    assert 0.25 <= first <= 0.5 and 0.5 <= second <= 1.0  # exponential, with jitter


async def test_5xx_on_delete_is_retried_then_reported(srv: APITestServer) -> None:
    srv.script("DELETE", BASE, Reply(status=503, json={"detail": "Service Unavailable"}))
    async with make_api(srv.base_url, max_retries=2) as api:
        with pytest.raises(UpstreamError) as info:
            await api.delete_agent(AGENT)
    assert srv.count("DELETE") == 3
    assert "tried 3 times" in words(info.value)
    assert info.value.attempts == 3 and not info.value.not_sent_again


async def test_delete_that_404s_after_a_retry_says_it_may_be_done(srv: APITestServer) -> None:
    gone = Reply(status=404, json={"detail": {"status": "agent_not_found", "message": "nope"}})
    srv.script("DELETE", BASE, ERROR_500, gone)
    async with make_api(srv.base_url) as api:
        with pytest.raises(APIError) as info:
            await api.delete_agent(AGENT)
    assert srv.count("DELETE") == 2
    assert info.value.earlier == "HTTP 500" and info.value.attempts == 2
    assert "earlier attempt of this delete lost its answer (HTTP 500)" in words(info.value)
    assert "Do not retry" in words(info.value)


async def test_429_honours_retry_after_seconds(srv: APITestServer) -> None:
    busy = Reply(
        status=429, headers={"retry-after": "2"}, json={"detail": {"status": "system_busy"}}
    )
    srv.script("POST", f"{BASE}/duplicate", busy, Reply(json={"agent_id": "agent_new"}))
    async with make_api(srv.base_url) as api:
        created = await api.duplicate_agent(AGENT)
    assert created.agent_id == "agent_new"
    assert srv.count("POST") == 2  # a 429 was not processed: sending again is safe
    assert api.sleeps.delays == [2.0]


async def test_429_honours_retry_after_http_date(srv: APITestServer) -> None:
    when = email.utils.formatdate(time.time() + 3, usegmt=True)
    busy = Reply(status=429, headers={"Retry-After": when}, json={"detail": "slow down"})
    srv.script(
        "POST",
        f"{BASE}/simulate-conversation",
        busy,
        Reply(json={"simulated_conversation": TURNS, "analysis": ANALYSIS}),
    )
    async with make_api(srv.base_url) as api:
        await api.simulate(AGENT, REQUEST)
    assert srv.count("POST") == 2
    (delay,) = api.sleeps.delays
    assert 1.0 <= delay <= 3.0


async def test_429_retry_after_is_waited_for_real(srv: APITestServer) -> None:
    busy = Reply(status=429, headers={"retry-after": "0.3"}, json={})
    srv.script("GET", f"{BASE}/link", busy, Reply(json={"agent_id": AGENT}))
    async with make_api(srv.base_url, sleep=anyio.sleep) as api:
        start = time.monotonic()
        await api.get_agent_link(AGENT)
    assert time.monotonic() - start >= 0.3
    assert srv.count() == 2


async def test_429_without_retry_after_backs_off_then_gives_up(srv: APITestServer) -> None:
    busy = Reply(
        status=429,
        json={"detail": {"status": "too_many_concurrent_requests", "message": "Too many"}},
        headers={"current-concurrent-requests": "4", "maximum-concurrent-requests": "4"},
    )
    srv.script("POST", f"{BASE}/simulate-conversation/stream", busy)
    async with make_api(srv.base_url, max_retries=3, backoff_base=1.0, backoff_max=3.0) as api:
        with pytest.raises(RateLimitedError) as info:
            async for _ in api.simulate_stream(AGENT, REQUEST):
                pass
    assert srv.count() == 4
    delays = api.sleeps.delays
    assert len(delays) == 3
    assert 0.5 <= delays[0] <= 1.0 and 1.0 <= delays[1] <= 2.0 and 1.5 <= delays[2] <= 3.0
    message = words(info.value)
    assert "too_many_concurrent_requests" in message and "allows 4 concurrent" in message
    assert "Wait a few seconds" in message
    assert (info.value.attempts, info.value.max_concurrent) == (4, "4")


async def test_429_retry_after_beyond_the_wait_cap_is_not_waited(srv: APITestServer) -> None:
    busy = Reply(status=429, headers={"retry-after": "120"}, json={})
    srv.script("DELETE", BASE, busy)
    async with make_api(srv.base_url, max_retry_wait=30) as api:
        with pytest.raises(RateLimitedError) as info:
            await api.delete_agent(AGENT)
    assert srv.count() == 1
    assert api.sleeps.delays == []
    assert info.value.retry_after == 120
    assert "Retry in 120 s" in words(info.value)


async def test_total_backoff_is_capped(srv: APITestServer) -> None:
    srv.script("GET", f"{BASE}/link", Reply(status=502, body=b"bad gateway"))
    async with make_api(
        srv.base_url, max_retries=10, backoff_base=4, backoff_max=60, max_retry_wait=10
    ) as api:
        with pytest.raises(UpstreamError):
            await api.get_agent_link(AGENT)
    assert sum(api.sleeps.delays) <= 10.0 + 1e-9
    assert srv.count() == len(api.sleeps.delays) + 1 < 11


async def test_connection_refused_is_retried_then_reported() -> None:
    attempts: list[str] = []

    async def count(request: httpx2.Request) -> None:
        attempts.append(request.method)

    http = create_http_client(None, event_hooks={"request": [count]})
    async with make_api(f"http://127.0.0.1:{closed_port()}", http=http, max_retries=2) as api:
        with pytest.raises(UpstreamError) as info:
            await api.duplicate_agent(AGENT)  # not even a POST is at risk: nothing was sent
    await http.aclose()
    assert attempts == ["POST"] * 3
    assert len(api.sleeps.delays) == 2
    message = words(info.value)
    assert info.value.sent is False and info.value.setting == "ELEVENLABS_BASE_URL"
    assert "Could not connect" in message and "Nothing was sent" in message
    assert "ELEVENLABS_BASE_URL" in message
    assert info.value.__cause__ is None and info.value.__context__ is None


async def test_dropped_connection_is_retried_only_for_idempotent_calls() -> None:
    with DroppingServer() as drop:
        async with make_api(drop.base_url, max_retries=2) as api:
            with pytest.raises(UpstreamError) as dup:
                await api.duplicate_agent(AGENT)
            with pytest.raises(UpstreamError):
                await api.simulate(AGENT, REQUEST)
            with raises_saying(UpstreamError, "costs credits"):
                async for _ in api.simulate_stream(AGENT, REQUEST):
                    pass
            n_posts = len(drop.received)
            with pytest.raises(UpstreamError):
                await api.get_agent_link(AGENT)
            with pytest.raises(UpstreamError):
                await api.delete_agent(AGENT)
    assert n_posts == 3  # each POST once
    assert [line.split()[0] for line in drop.received[3:]] == ["GET"] * 3 + ["DELETE"] * 3
    assert "may have been created" in words(dup.value) and "broke" in words(dup.value)


async def test_read_timeout_on_duplicate_is_not_retried(srv: APITestServer) -> None:
    srv.script("POST", f"{BASE}/duplicate", Reply(json={"agent_id": "late"}, delay=1.0))
    async with make_api(srv.base_url, request_timeout=0.2) as api:
        with pytest.raises(UpstreamError) as info:
            await api.duplicate_agent(AGENT)
    assert srv.count("POST") == 1
    assert "did not answer within 0.2 s" in words(info.value)
    assert "may have been created" in words(info.value)


async def test_pool_timeout_is_retried_and_sends_nothing(srv: APITestServer) -> None:
    # the only connection is held by a running stream: the duplicate waits for the pool, times
    # out before anything is sent, and is tried again safely
    srv.script(
        "POST",
        f"{BASE}/simulate-conversation/stream",
        StreamReply(chunks=[frame_line(TURNS[:1])], stall=3),
    )
    http = create_http_client(None, limits=httpx2.Limits(max_connections=1))
    async with make_api(srv.base_url, http=http, request_timeout=0.2, max_retries=2) as api:
        stream = api.simulate_stream(AGENT, REQUEST)
        first = await stream.__anext__()
        assert len(first.simulated_conversation) == 1
        with raises_saying(UpstreamError, "Nothing was sent"):
            await api.duplicate_agent(AGENT)
        await stream.aclose()
    await http.aclose()
    assert srv.count("POST", f"{BASE}/duplicate") == 0
    assert len(api.sleeps.delays) == 2


# --- streams: stalls, ends, closing ------------------------------------------------------------


async def test_stalled_stream_raises_and_closes_upstream(srv: APITestServer) -> None:
    srv.script(
        "POST",
        f"{BASE}/simulate-conversation/stream",
        StreamReply(chunks=[frame_line(TURNS[:2])], stall=10),
    )
    got = []
    async with make_api(srv.base_url, stall_timeout=0.3) as api:
        start = time.monotonic()
        with pytest.raises(StreamError) as info:
            async for frame in api.simulate_stream(AGENT, REQUEST):
                got.append(frame)
        elapsed = time.monotonic() - start
    assert len(got) == 1
    assert 0.3 <= elapsed < 2.0
    assert "stalled" in words(info.value) and "AGENTS_MCP_STALL_TIMEOUT" in words(info.value)
    assert "1 frames and 2 turns" in words(info.value)
    await upstream_closed(srv)


async def test_stall_before_the_headers_is_a_stream_error(srv: APITestServer) -> None:
    srv.script("POST", f"{BASE}/simulate-conversation/stream", Reply(json={}, delay=2))
    async with make_api(srv.base_url, stall_timeout=0.2) as api:
        with raises_saying(StreamError, "stalled"):
            async for _ in api.simulate_stream(AGENT, REQUEST):
                pass
    assert srv.count() == 1


async def test_stall_after_the_analysis_ends_the_stream_normally(srv: APITestServer) -> None:
    chunks = [frame_line(TURNS[:2]), frame_line([], ANALYSIS)]
    srv.script("POST", f"{BASE}/simulate-conversation/stream", StreamReply(chunks=chunks, stall=10))
    async with make_api(srv.base_url, stall_timeout=0.3) as api:
        frames = [f async for f in api.simulate_stream(AGENT, REQUEST)]
    assert frames[-1].analysis is not None


async def test_stream_without_analysis_raises(srv: APITestServer) -> None:
    chunks = [frame_line(TURNS[:2]), frame_line(TURNS[2:3])]
    srv.script("POST", f"{BASE}/simulate-conversation/stream", StreamReply(chunks=chunks))
    got = []
    async with make_api(srv.base_url) as api:
        with raises_saying(StreamError, "without an analysis after 2 frames and 3 turns"):
            async for frame in api.simulate_stream(AGENT, REQUEST):
                got.append(frame)
    assert len(got) == 2  # what did arrive was delivered first


async def test_stream_cut_mid_frame_raises(srv: APITestServer) -> None:
    chunks = [frame_line(TURNS[:2]), frame_line([], ANALYSIS)[:50]]
    srv.script("POST", f"{BASE}/simulate-conversation/stream", StreamReply(chunks=chunks))
    async with make_api(srv.base_url) as api:
        with raises_saying(StreamError, "middle of a frame"):
            async for _ in api.simulate_stream(AGENT, REQUEST):
                pass


async def test_connection_breaking_mid_stream_raises(srv: APITestServer) -> None:
    chunks = [frame_line(TURNS[:2]), frame_line(TURNS[2:3])[:20]]
    srv.script(
        "POST", f"{BASE}/simulate-conversation/stream", StreamReply(chunks=chunks, abort=True)
    )
    async with make_api(srv.base_url) as api:
        with raises_saying(StreamError, "connection broke") as info:
            async for _ in api.simulate_stream(AGENT, REQUEST):
                pass
    assert "costs credits" in words(info.value)
    assert srv.count() == 1


async def test_malformed_frame_in_a_live_stream_raises(srv: APITestServer) -> None:
    chunks = [frame_line(TURNS[:1]), b'"{not json}"\n', frame_line([], ANALYSIS)]
    srv.script("POST", f"{BASE}/simulate-conversation/stream", StreamReply(chunks=chunks))
    async with make_api(srv.base_url) as api:
        with raises_saying(StreamError, "malformed frame"):
            async for _ in api.simulate_stream(AGENT, REQUEST):
                pass


async def test_simulation_timeout_bounds_the_whole_stream(srv: APITestServer) -> None:
    chunks = [frame_line(TURNS[:1])] * 20
    srv.script("POST", f"{BASE}/simulate-conversation/stream", StreamReply(chunks=chunks, gap=0.1))
    async with make_api(srv.base_url, stall_timeout=5, simulation_timeout=0.5) as api:
        start = time.monotonic()
        with raises_saying(StreamError, "took longer than 0.5 s"):
            async for _ in api.simulate_stream(AGENT, REQUEST):
                pass
    assert time.monotonic() - start < 2


async def test_aclose_closes_the_upstream_response_at_once(srv: APITestServer) -> None:
    chunks = [frame_line(TURNS[:1]), frame_line(TURNS[1:2])]
    srv.script("POST", f"{BASE}/simulate-conversation/stream", StreamReply(chunks=chunks, gap=30))
    async with make_api(srv.base_url) as api:
        stream = api.simulate_stream(AGENT, REQUEST)
        await stream.__anext__()
        assert srv.streams_open == 1
        closed_at = time.monotonic()
        await stream.aclose()
        await upstream_closed(srv)
    assert srv.stream_ended_at is not None and srv.stream_ended_at - closed_at < 2


async def test_cancelling_the_reader_closes_the_upstream_response(srv: APITestServer) -> None:
    chunks = [frame_line(TURNS[:1]), frame_line(TURNS[1:2])]
    srv.script("POST", f"{BASE}/simulate-conversation/stream", StreamReply(chunks=chunks, gap=30))
    got = []
    async with make_api(srv.base_url) as api:
        with anyio.move_on_after(0.5) as scope:
            async for frame in api.simulate_stream(AGENT, REQUEST):
                got.append(frame)
        assert scope.cancelled_caught and len(got) == 1
        await upstream_closed(srv)
        # the client is still usable afterwards
        srv.script("GET", f"{BASE}/link", Reply(json={"agent_id": AGENT}))
        assert (await api.get_agent_link(AGENT)).agent_id == AGENT


# --- bodies, redirects, clients ----------------------------------------------------------------


async def test_oversized_answer_is_refused(srv: APITestServer) -> None:
    huge = {"agent_id": AGENT, "token": None, "padding": "x" * (2 * 1024 * 1024)}
    srv.script("GET", f"{BASE}/link", Reply(json=huge))
    async with make_api(srv.base_url) as api:
        with raises_saying(UpstreamError, "larger than"):
            await api.get_agent_link(AGENT)


async def test_unexpected_success_body_is_an_upstream_error(srv: APITestServer) -> None:
    srv.script(
        "POST",
        f"{BASE}/duplicate",
        Reply(body=b"<html>captive portal</html>", content_type="text/html"),
    )
    async with make_api(srv.base_url) as api:
        with raises_saying(UpstreamError, "unexpected body"):
            await api.duplicate_agent(AGENT)
    assert srv.count() == 1


async def test_redirects_are_not_followed(srv: APITestServer) -> None:
    srv.script(
        "GET", f"{BASE}/link", Reply(status=307, headers={"location": "http://127.0.0.1:9/steal"})
    )
    async with make_api(srv.base_url) as api:
        with raises_saying(UpstreamError, "redirect") as info:
            await api.get_agent_link(AGENT)
    assert srv.count() == 1
    assert "ELEVENLABS_BASE_URL" in words(info.value)


async def test_missing_key_sends_no_key_header(srv: APITestServer) -> None:
    srv.script("GET", f"{BASE}/link", Reply(json={"agent_id": AGENT}))
    for key in (None, ""):
        async with make_api(srv.base_url, api_key=key) as api:
            await api.get_agent_link(AGENT)
            assert "api_key=missing" in repr(api)
    assert all("xi-api-key" not in r.headers for r in srv.requests)


async def test_create_http_client_and_from_settings(srv: APITestServer) -> None:
    settings = load_settings(
        env={
            "ELEVENLABS_API_KEY": TEST_KEY,
            "ELEVENLABS_BASE_URL": srv.base_url,
            "AGENTS_MCP_CONNECT_TIMEOUT": "2.5",
            "AGENTS_MCP_REQUEST_TIMEOUT": "7",
        }
    )
    http = create_http_client(settings)
    assert http.timeout.connect == 2.5 and http.timeout.read == 7
    assert http.headers["user-agent"] == USER_AGENT
    assert http.follow_redirects is False
    await http.aclose()

    srv.script("GET", f"{BASE}/link", Reply(json={"agent_id": AGENT}))
    async with AgentsAPI.from_settings(settings) as api:
        assert api.base_url == srv.base_url and api.request_timeout == 7
        await api.get_agent_link(AGENT)
        owned = api._http
    assert owned.is_closed  # it created its client, so it closed it
    assert srv.requests[0].headers["xi-api-key"] == TEST_KEY

    shared = create_http_client(settings)
    api = AgentsAPI.from_settings(settings, http=shared)
    await api.aclose()
    assert not shared.is_closed  # a shared client belongs to its creator
    await shared.aclose()
