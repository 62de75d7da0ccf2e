"""Unit tests of the sidecar's pure-ASGI layers: auth, request log, probes, drain, host rules."""

from __future__ import annotations

import logging

import anyio
import httpx2
import pytest

from agents_mcp import __version__
from agents_mcp.sidecar.middleware import (
    BearerAuthMiddleware,
    Drain,
    DrainMiddleware,
    RequestLogMiddleware,
)
from agents_mcp.sidecar.probes import ProbesMiddleware, Upstream
from agents_mcp.sidecar.security import bind_refusal, is_loopback, transport_security

TOKEN = "s3cret-token-0123456789abcdef"


class Recorder:
    """An ASGI app that answers 200 and remembers every request that reached it."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    async def __call__(self, scope, receive, send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.calls.append({"path": scope["path"], "body": body})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"inner"})


def client_for(app) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1")


# --- bearer auth -------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"Authorization": "Bearer wrong-token"}, "invalid"),
        ({"Authorization": f"Basic {TOKEN}"}, "invalid"),
        ({"Authorization": "Bearer "}, "missing"),
        ({"Authorization": f"Bearer {TOKEN}x"}, "invalid"),
        ({"Authorization": "Bearer tökén".encode()}, "invalid"),
    ],
)
async def test_auth_refuses_without_the_token_and_the_app_never_sees_it(headers, reason):
    inner = Recorder()
    async with client_for(BearerAuthMiddleware(inner, TOKEN)) as client:
        response = await client.post("/mcp", headers=headers, content=b'{"x":1}')
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert ('error="invalid_token"' in challenge) == (reason == "invalid")
    assert response.json()["error"] == "unauthorized"
    assert TOKEN not in response.text
    assert inner.calls == []


@pytest.mark.anyio
async def test_auth_lets_the_right_token_through_case_insensitive_scheme():
    inner = Recorder()
    async with client_for(BearerAuthMiddleware(inner, TOKEN)) as client:
        for scheme in ("Bearer", "bearer", "BEARER"):
            response = await client.post("/mcp", headers={"Authorization": f"{scheme} {TOKEN}"})
            assert response.status_code == 200
            assert response.text == "inner"
    assert len(inner.calls) == 3


@pytest.mark.anyio
async def test_auth_without_a_configured_token_lets_everything_through():
    inner = Recorder()
    async with client_for(BearerAuthMiddleware(inner, None)) as client:
        assert (await client.get("/mcp")).status_code == 200
    assert len(inner.calls) == 1


# --- request log -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_request_id_is_echoed_when_sane_and_minted_otherwise(caplog):
    app = RequestLogMiddleware(Recorder())
    caplog.set_level(logging.INFO, logger="agents_mcp.http")
    async with client_for(app) as client:
        given = await client.get("/x", headers={"X-Request-Id": "abc-123.def"})
        minted = await client.get("/x")
        hostile = await client.get("/x", headers={"X-Request-Id": "evil\tvalue" + "a" * 200})
    assert given.headers["x-request-id"] == "abc-123.def"
    assert len(minted.headers["x-request-id"]) == 32
    assert hostile.headers["x-request-id"] not in ("evil\tvalue" + "a" * 200,)
    assert len(hostile.headers["x-request-id"]) == 32
    ids = [r.http["request_id"] for r in caplog.records]
    assert ids == [
        "abc-123.def",
        minted.headers["x-request-id"],
        hostile.headers["x-request-id"],
    ]


@pytest.mark.anyio
async def test_request_log_has_one_line_with_rpc_method_and_tool_but_no_arguments(caplog):
    app = RequestLogMiddleware(BearerAuthMiddleware(Recorder(), TOKEN))
    caplog.set_level(logging.INFO, logger="agents_mcp.http")
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "delete_agent", "arguments": {"agent_id": "agent_private_123"}},
    }
    async with client_for(app) as client:
        ok = await client.post("/mcp", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        denied = await client.post("/mcp", json=body, headers={"Authorization": "Bearer nope"})
    assert (ok.status_code, denied.status_code) == (200, 401)
    records = [r for r in caplog.records if r.name == "agents_mcp.http"]
    assert len(records) == 2
    first, second = (r.http for r in records)
    assert first["method"] == "POST" and first["path"] == "/mcp" and first["status"] == 200
    assert first["rpc"] == "tools/call" and first["tool"] == "delete_agent"
    assert isinstance(first["duration_ms"], float)
    assert second["status"] == 401 and second["auth"] == "invalid"
    for record in records:
        text = record.getMessage()
        assert "agent_private_123" not in text and TOKEN not in text and "nope" not in text


# --- probes ------------------------------------------------------------------------------------


def probes(upstream: Upstream, drain: Drain | None = None) -> ProbesMiddleware:
    return ProbesMiddleware(Recorder(), lambda: upstream, drain or Drain())


@pytest.mark.anyio
async def test_healthz_answers_with_the_version_without_auth():
    app = probes(Upstream("https://api.elevenlabs.io", api_key_set=False))
    async with client_for(app) as client:
        response = await client.get("/healthz")
        head = await client.head("/healthz")
        post = await client.post("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}
    assert head.status_code == 200
    assert post.status_code == 405


@pytest.mark.anyio
async def test_readyz_reports_configuration_but_never_the_key():
    configured = Upstream("https://user:pw@api.eu.residency.elevenlabs.io/?k=v", api_key_set=True)
    async with client_for(probes(configured)) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["upstream"] == {
        "base_url": "https://api.eu.residency.elevenlabs.io/",
        "api_key_set": True,
        "sandbox": False,
    }
    assert "pw" not in ready.text

    async with client_for(probes(Upstream("https://api.elevenlabs.io", False))) as client:
        missing = await client.get("/readyz")
    assert missing.status_code == 503
    assert missing.json()["problems"] == ["ELEVENLABS_API_KEY is not set"]

    drain = Drain()
    drain.start()
    async with client_for(probes(configured, drain)) as client:
        draining = await client.get("/readyz")
    assert draining.status_code == 503
    assert "shutting down" in draining.json()["problems"][0]


@pytest.mark.anyio
async def test_probes_do_not_need_the_token_but_everything_else_does():
    inner = Recorder()
    app = ProbesMiddleware(
        BearerAuthMiddleware(inner, TOKEN),
        lambda: Upstream("https://api.elevenlabs.io", True),
        Drain(),
    )
    async with client_for(app) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200
        assert (await client.get("/mcp")).status_code == 401
        assert (await client.get("/healthz/../mcp")).status_code == 401
    assert inner.calls == []


# --- drain -------------------------------------------------------------------------------------


async def _call(app, method: str, path: str = "/mcp") -> list[dict]:
    """Run one request through `app` directly; return the messages it sent."""
    sent: list[dict] = []
    scope = {"type": "http", "method": method, "path": path, "headers": [], "client": ("t", 1)}
    delivered = False

    async def receive() -> dict:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def streaming_app(scope, receive, send) -> None:
    """Starts an SSE-like response and never ends it by itself."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
    await anyio.sleep_forever()


@pytest.mark.anyio
async def test_drain_cuts_open_streams_cleanly_and_refuses_new_requests():
    drain = Drain(grace=0.3)
    app = DrainMiddleware(streaming_app, drain, exempt=frozenset({"/healthz"}))
    results: dict[str, list[dict]] = {}
    times: dict[str, float] = {}

    async def run(name: str, method: str) -> None:
        results[name] = await _call(app, method)
        times[name] = anyio.current_time()

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "get", "GET")
        tg.start_soon(run, "post", "POST")
        await anyio.sleep(0.05)
        assert drain.in_flight == 2
        started = anyio.current_time()
        drain.start()
    # the standalone GET stream ends at once, the POST after the grace period
    assert times["get"] - started < 0.2
    assert 0.25 <= times["post"] - started < 1.5
    for name in ("get", "post"):
        last = results[name][-1]
        assert last["type"] == "http.response.body" and last.get("more_body") is False
    assert drain.in_flight == 0

    refused = await _call(app, "POST")
    assert refused[0]["status"] == 503
    assert dict(refused[0]["headers"])[b"retry-after"] == b"1"
    exempt = DrainMiddleware(Recorder(), drain, exempt=frozenset({"/healthz"}))
    assert (await _call(exempt, "GET", "/healthz"))[0]["status"] == 200  # probes still answer


@pytest.mark.anyio
async def test_drain_runs_its_callbacks_once():
    drain = Drain()
    seen: list[int] = []
    drain.on_start(lambda: seen.append(1))
    drain.on_start(lambda: 1 / 0)  # a failing hook does not stop the rest
    drain.on_start(lambda: seen.append(2))
    drain.start()
    drain.start()
    assert seen == [1, 2]


# --- bind address and Host/Origin rules --------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("myhost.example", False),
        ("", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_bind_refusal_only_off_loopback_without_token():
    assert bind_refusal("127.0.0.1", token_set=False) is None
    assert bind_refusal("0.0.0.0", token_set=True) is None
    message = bind_refusal("0.0.0.0", token_set=False)
    assert message is not None
    assert "AGENTS_MCP_AUTH_TOKEN" in message and "0.0.0.0" in message


def test_transport_security_lists():
    local = transport_security("127.0.0.1", [])
    assert local.enable_dns_rebinding_protection
    assert "127.0.0.1:*" in local.allowed_hosts and "localhost:*" in local.allowed_hosts
    assert "evil.example:*" not in local.allowed_hosts

    public = transport_security("0.0.0.0", ["MCP.example.com", "proxy.internal:8443", "fe80::1"])
    assert public.enable_dns_rebinding_protection
    assert {"mcp.example.com", "mcp.example.com:*", "proxy.internal:8443"} <= set(
        public.allowed_hosts
    )
    assert "proxy.internal:*" not in public.allowed_hosts
    assert "[fe80::1]:*" in public.allowed_hosts
    assert "https://mcp.example.com" in public.allowed_origins
    assert "0.0.0.0:*" not in public.allowed_hosts

    specific = transport_security("10.1.2.3", [])
    assert "10.1.2.3:*" in specific.allowed_hosts

    assert not transport_security("0.0.0.0", ["*"]).enable_dns_rebinding_protection
