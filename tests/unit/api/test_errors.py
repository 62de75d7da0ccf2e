"""Error mapping: every body shape and status the API uses, over real HTTP, plus the pure parts.

Each case checks the facts the error carries and the words the model reads for it
(agents_mcp.errors_text); `str(error)` is a factual line without advice.
"""

from __future__ import annotations

import email.utils
import random
import time

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

from agents_mcp.api import (
    AgentNotFoundError,
    APIError,
    AuthenticationError,
    EndpointGoneError,
    RateLimitedError,
    RequestValidationError,
    StreamError,
    UpstreamError,
)
from agents_mcp.api.failures import read_error_body
from agents_mcp.api.retry import Backoff, parse_retry_after
from agents_mcp.errors_text import error_text as words
from tests.support.apiserver import TEST_KEY, APITestServer, Reply, make_api

pytestmark = pytest.mark.anyio
AGENT = "agent_7101k5zvyjhmfg983brhmhkd98n6"
BASE = f"/v1/convai/agents/{AGENT}"
REQUEST = {
    "simulation_specification": {
        "simulated_user_config": {"prompt": {"prompt": "You are a customer."}}
    }
}
# (method, path) of each operation, and how to call it
OPS = {
    "delete": ("DELETE", BASE),
    "duplicate": ("POST", f"{BASE}/duplicate"),
    "link": ("GET", f"{BASE}/link"),
    "simulate": ("POST", f"{BASE}/simulate-conversation"),
    "stream": ("POST", f"{BASE}/simulate-conversation/stream"),
}


async def run(api, op: str) -> object:
    if op == "delete":
        return await api.delete_agent(AGENT)
    if op == "duplicate":
        return await api.duplicate_agent(AGENT, name="copy")
    if op == "link":
        return await api.get_agent_link(AGENT)
    if op == "simulate":
        return await api.simulate(AGENT, REQUEST)
    return [frame async for frame in api.simulate_stream(AGENT, REQUEST)]


async def failure(srv: APITestServer, op: str, reply: Reply, **kw) -> APIError:
    """Script one answer for the operation, call it, and return the error it raised."""
    srv.script(*OPS[op], reply)
    async with make_api(srv.base_url, max_retries=0, **kw) as api:
        with pytest.raises(APIError) as info:
            await run(api, op)
    assert TEST_KEY not in words(info.value) and TEST_KEY not in words(info.value)
    assert_factual(info.value)
    return info.value


ADVICE = ("Set ", "retry", "Retry", "Check ", "check the", "tell the user", "Fix ")


def assert_factual(err: APIError) -> None:
    """str(error) states what happened (for logs); the advice is only in the model's words."""
    line = str(err)
    assert not any(word in line for word in ADVICE), line
    if err.operation is not None:
        assert line.startswith(err.operation.name), line


def detail(status: str, message: str, **extra: object) -> dict:
    return {"detail": {"status": status, "message": message, **extra}}


# --- authentication ----------------------------------------------------------------------------


async def test_invalid_key(srv: APITestServer) -> None:
    err = await failure(srv, "link", Reply(401, detail("invalid_api_key", "Invalid API key")))
    assert isinstance(err, AuthenticationError)
    assert (err.status, err.code, err.setting) == (401, "invalid_api_key", "ELEVENLABS_API_KEY")
    assert err.sent is True and err.effect == "none" and err.attempts == 1
    assert "ELEVENLABS_API_KEY" in words(err) and "refused the API key" in words(err)
    assert "as invalid" in words(err) and "Retrying will not help" in words(err)


async def test_missing_key_from_the_body_or_from_the_settings(srv: APITestServer) -> None:
    said = await failure(srv, "delete", Reply(401, detail("missing_api_key", "Missing key")))
    assert isinstance(said, AuthenticationError)
    assert "No API key was sent" in words(said) and "Set ELEVENLABS_API_KEY" in words(said)
    unset = await failure(srv, "duplicate", Reply(401, {"detail": "Unauthorized"}), api_key=None)
    assert isinstance(unset, AuthenticationError)
    assert "No API key was sent" in words(unset) and "ELEVENLABS_API_KEY" in words(unset)
    assert unset.code == "missing_api_key"


async def test_quota_exceeded(srv: APITestServer) -> None:
    body = detail("quota_exceeded", "This request exceeds your quota of 10000.")
    err = await failure(srv, "simulate", Reply(401, body))
    assert isinstance(err, AuthenticationError)
    assert "out of quota" in words(err) and "exceeds your quota" in words(err)


async def test_forbidden(srv: APITestServer) -> None:
    body = detail("missing_permissions", "The API key is missing the permission convai_write")
    err = await failure(srv, "delete", Reply(403, body))
    assert isinstance(err, AuthenticationError)
    assert f"not allowed to delete agent {AGENT}" in words(err)
    assert "convai_write" in words(err) and "ELEVENLABS_API_KEY" in words(err)


async def test_newer_error_shape_with_code_and_request_id(srv: APITestServer) -> None:
    body = {
        "detail": {
            "type": "authentication_error",
            "code": "invalid_api_key",
            "message": "Invalid API key",
            "request_id": "req_abc123",
            "param": None,
        }
    }
    err = await failure(srv, "link", Reply(401, body))
    assert isinstance(err, AuthenticationError)
    assert err.code == "invalid_api_key" and err.request_id == "req_abc123"


# --- not found and gone ------------------------------------------------------------------------


@pytest.mark.parametrize("op", list(OPS))
async def test_agent_not_found_names_the_id(srv: APITestServer, op: str) -> None:
    body = detail("agent_not_found", f"Agent {AGENT} not found")
    err = await failure(srv, op, Reply(404, body))
    assert isinstance(err, AgentNotFoundError)
    assert f"agent {AGENT}" in words(err) and err.code == "agent_not_found"
    assert err.operation is not None and err.operation.agent_id == AGENT
    assert "ELEVENLABS_API_RESIDENCY" in words(err)


@pytest.mark.parametrize("op", ["delete", "duplicate", "link"])
async def test_bare_404_on_agent_routes_is_agent_not_found(srv: APITestServer, op: str) -> None:
    err = await failure(srv, op, Reply(404, {"detail": "Not Found"}))
    assert isinstance(err, AgentNotFoundError)


@pytest.mark.parametrize("op", ["simulate", "stream"])
async def test_bare_404_on_simulate_means_the_endpoint_is_gone(srv: APITestServer, op) -> None:
    err = await failure(srv, op, Reply(404, {"detail": "Not Found"}))
    assert isinstance(err, EndpointGoneError)
    assert "deprecated" in words(err) and "31 Oct 2026" in words(err)
    assert "agent-testing" in words(err)
    assert srv.count() == 1


async def test_unknown_route_answers_like_fastapi(srv: APITestServer) -> None:
    # nothing scripted: the test server answers 404 {"detail": "Not Found"} as FastAPI does
    async with make_api(srv.base_url) as api:
        with pytest.raises(EndpointGoneError):
            await api.simulate(AGENT, REQUEST)


@pytest.mark.parametrize("op", ["simulate", "stream"])
async def test_410_on_simulate(srv: APITestServer, op: str) -> None:
    err = await failure(srv, op, Reply(410, detail("gone", "This endpoint was removed")))
    assert isinstance(err, EndpointGoneError)
    assert "This endpoint was removed" in words(err) and "agent-testing" in words(err)


async def test_410_elsewhere(srv: APITestServer) -> None:
    err = await failure(srv, "link", Reply(410, {"detail": "Gone"}))
    assert isinstance(err, EndpointGoneError) and "no longer offers" in words(err)


# --- validation --------------------------------------------------------------------------------


async def test_422_list_form_lists_every_field(srv: APITestServer) -> None:
    body = {
        "detail": [
            {
                "loc": ["body", "simulation_specification", "simulated_user_config", "prompt"],
                "msg": "Input should be a valid dictionary",
                "type": "dict_type",
            },
            {"loc": ["body", "new_turns_limit"], "msg": "Input should be > 0", "type": "gt"},
            {"loc": ["query", "force"], "msg": "bad bool", "type": "bool_parsing"},
        ]
    }
    err = await failure(srv, "simulate", Reply(422, body))
    assert isinstance(err, RequestValidationError)
    assert [(e.location, e.reason) for e in err.errors] == [
        (
            "simulation_specification.simulated_user_config.prompt",
            "Input should be a valid dictionary",
        ),
        ("new_turns_limit", "Input should be > 0"),
        ("force", "bad bool"),
    ]
    message = words(err)
    assert (
        "simulation_specification.simulated_user_config.prompt: Input should be a valid" in message
    )
    assert "new_turns_limit: Input should be > 0" in message and "HTTP 422" in message


async def test_422_with_many_fields_is_clipped(srv: APITestServer) -> None:
    items = [{"loc": ["body", f"f{i}"], "msg": "bad", "type": "x"} for i in range(40)]
    err = await failure(srv, "duplicate", Reply(422, {"detail": items}))
    assert isinstance(err, RequestValidationError)
    assert len(err.errors) == 40
    assert "and 32 more" in words(err) and len(words(err)) < 600  # 8 fields shown
    assert "and 30 more" in str(err) and len(str(err)) < 600  # 10 in the log line


async def test_400_object_and_422_text_forms(srv: APITestServer) -> None:
    body = detail("invalid_request", "name is too long", param="name")
    obj = await failure(srv, "duplicate", Reply(400, body))
    assert isinstance(obj, RequestValidationError)
    assert "invalid_request" in words(obj) and "name is too long" in words(obj)
    assert [e.location for e in obj.errors] == ["name"]
    text = await failure(srv, "simulate", Reply(422, {"detail": "prompt must not be empty"}))
    assert isinstance(text, RequestValidationError)
    assert "prompt must not be empty" in words(text)


# --- rate limits and upstream failures ---------------------------------------------------------


async def test_429_message_says_when_to_retry(srv: APITestServer) -> None:
    reply = Reply(429, detail("rate_limit_exceeded", "Slow down"), headers={"retry-after": "7"})
    err = await failure(srv, "link", reply)
    assert isinstance(err, RateLimitedError)
    assert err.retry_after == 7 and "Retry in 7 s" in words(err) and "Slow down" in words(err)
    plain = await failure(srv, "stream", Reply(429, body=b"Too Many Requests"))
    assert isinstance(plain, RateLimitedError) and plain.retry_after is None
    assert "Wait a few seconds, then retry; run fewer simulations at the same time" in words(plain)


async def test_500_with_request_id_header(srv: APITestServer) -> None:
    body = detail(
        "something_went_wrong",
        "An internal server error occurred. You are not charged for this request.",
    )
    err = await failure(srv, "link", Reply(500, body, headers={"request-id": "rid-42"}))
    assert isinstance(err, UpstreamError)
    assert (err.status, err.request_id, err.code) == (500, "rid-42", "something_went_wrong")
    assert "request id rid-42" in words(err) and "not charged" in words(err)


async def test_request_id_from_trace_header_or_body(srv: APITestServer) -> None:
    traced = await failure(srv, "delete", Reply(502, {}, headers={"x-trace-id": "trace-9"}))
    assert traced.request_id == "trace-9"
    in_body = await failure(srv, "delete", Reply(503, detail("busy", "x", request_id="body-7")))
    assert in_body.request_id == "body-7" and "request id body-7" in words(in_body)


async def test_html_error_page(srv: APITestServer) -> None:
    page = (
        b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>b{}</style></head>"
        b"<body><h1>502 Bad Gateway</h1>" + b"<p>filler</p>" * 2000 + b"</body></html>"
    )
    err = await failure(
        srv, "duplicate", Reply(502, body=page, content_type="text/html; charset=utf-8")
    )
    assert isinstance(err, UpstreamError)
    assert "502 Bad Gateway" in words(err) and "<" not in words(err)
    assert "check the agent list" in words(err)  # a failed duplicate may still have happened
    assert err.effect == "unknown" and err.not_sent_again and err.attempts == 1
    assert len(words(err)) < 500


async def test_html_page_without_title_and_long_text_bodies(srv: APITestServer) -> None:
    untitled = await failure(srv, "link", Reply(503, body=b"<html><body><p>Down &amp; out</p>"))
    assert "Down & out" in words(untitled) and "<p>" not in words(untitled)
    long = await failure(srv, "link", Reply(500, body=b"error " * 5000))
    assert isinstance(long, UpstreamError) and len(words(long)) < 500 and "..." in words(long)


@pytest.mark.parametrize(
    "body", [b"", b"null", b"[1, 2]", b"42", b'"just a string"', b"\xff\xfe not utf-8"]
)
async def test_odd_bodies_do_not_break_the_mapping(srv: APITestServer, body: bytes) -> None:
    err = await failure(srv, "link", Reply(500, body=body, content_type="application/json"))
    assert isinstance(err, UpstreamError) and "HTTP 500" in words(err)


async def test_other_client_errors_keep_the_api_message(srv: APITestServer) -> None:
    body = detail("agent_in_use", "The agent is used by 2 other agents; pass force=true")
    err = await failure(srv, "delete", Reply(409, body))
    assert type(err) is APIError
    assert err.status == 409 and "force=true" in words(err)


async def test_stream_errors_are_api_errors() -> None:
    assert issubclass(StreamError, APIError)


# --- the key never leaks -----------------------------------------------------------------------


async def test_a_key_echoed_by_the_server_is_redacted(srv: APITestServer) -> None:
    async def echo(request: Request) -> JSONResponse:
        key = request.headers.get("xi-api-key", "")
        return JSONResponse(
            {"detail": {"status": "invalid_api_key", "message": f"Key {key} is invalid"}},
            status_code=401,
            headers={"request-id": key},
        )

    srv.script("GET", f"{BASE}/link", echo)
    async with make_api(srv.base_url) as api:
        with pytest.raises(AuthenticationError) as info:
            await api.get_agent_link(AGENT)
    assert srv.requests[0].headers["xi-api-key"] == TEST_KEY
    assert "[redacted]" in words(info.value)
    assert_no_key(info.value)


def assert_no_key(err: BaseException) -> None:
    texts = [words(err), repr(err), *map(str, err.args), *map(repr, vars(err).values())]
    assert not any(TEST_KEY in t for t in texts), texts
    assert err.__cause__ is None


async def test_no_error_or_repr_carries_the_key(srv: APITestServer) -> None:
    scenarios = [
        ("link", Reply(401, detail("invalid_api_key", "bad"))),
        ("delete", Reply(404, {"detail": "Not Found"})),
        ("duplicate", Reply(500, body=b"<html>oops</html>")),
        ("simulate", Reply(422, {"detail": [{"loc": ["body"], "msg": "x"}]})),
        ("stream", Reply(429, {})),
        ("stream", Reply(200, body=b'"{\\"simulated_conversation\\": []}"')),  # no analysis
    ]
    async with make_api(srv.base_url, max_retries=0) as api:
        assert TEST_KEY not in repr(api) and "api_key=set" in repr(api)
        for op, reply in scenarios:
            srv.script(*OPS[op], reply)
            with pytest.raises(APIError) as info:
                await run(api, op)
            assert_no_key(info.value)
    # and for transport failures, where httpx2 exceptions (holding the request) were involved
    async with make_api("http://127.0.0.1:1", max_retries=1) as api:
        with pytest.raises(UpstreamError) as info:
            await api.get_agent_link(AGENT)
        assert_no_key(info.value)
        assert info.value.__context__ is None


# --- pure parts --------------------------------------------------------------------------------


def test_read_error_body_shapes() -> None:
    obj = read_error_body(b'{"detail": {"status": "invalid_api_key", "message": "Bad"}}')
    assert (obj.code, obj.message) == ("invalid_api_key", "Bad")
    lst = read_error_body(b'{"detail": [{"loc": ["body", "a", 0, "b"], "msg": "m"}]}')
    assert [(f.location, f.reason) for f in lst.fields] == [("a.0.b", "m")]
    text = read_error_body(b'{"detail": "Not Found"}')
    assert text.bare_not_found and text.message == "Not Found"
    nested = read_error_body(b'{"error": {"code": "oops", "message": "Nested"}}')
    assert (nested.code, nested.message) == ("oops", "Nested")
    html = read_error_body(b"<html><title> Gateway &lt;Timeout&gt; </title></html>", "text/html")
    assert html.message == "Gateway <Timeout>"
    assert read_error_body(b"").message == ""
    assert read_error_body(b"plain words").message == "plain words"


def test_parse_retry_after() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("-3") is None
    assert parse_retry_after("nan") is None
    assert parse_retry_after("soon") is None
    now = time.time()
    future = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= parse_retry_after(future, now=now) <= 31
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0


def test_backoff_is_exponential_bounded_and_jittered() -> None:
    backoff = Backoff(base=0.5, max_delay=4.0, rng=random.Random(7))
    for attempt in range(12):
        ceiling = min(4.0, 0.5 * 2**attempt)
        samples = {backoff.delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= s <= ceiling for s in samples)
        assert len(samples) > 1  # jittered
