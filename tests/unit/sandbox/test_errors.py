"""The real API's error behaviour: 401 bodies, 404 for unknown agents and routes, FastAPI-style
422s, and 429 when more simulations run at once than the limit."""

from __future__ import annotations

import json
import threading

import httpx2
import pytest

DEMO = "/v1/convai/agents/agent_demo_support"
GONE = "/v1/convai/agents/agent_0000000000000000000000000000"
SIM = {"simulation_specification": {"simulated_user_config": {}}}
ENDPOINTS = [
    ("GET", "", None),
    ("DELETE", "", None),
    ("POST", "/duplicate", {}),
    ("GET", "/link", None),
    ("POST", "/simulate-conversation", SIM),
    ("POST", "/simulate-conversation/stream", SIM),
]


@pytest.fixture
def c(fresh_sandbox):
    with httpx2.Client(base_url=fresh_sandbox.base_url, headers=fresh_sandbox.headers()) as client:
        yield client


@pytest.mark.parametrize(("method", "suffix", "body"), ENDPOINTS)
def test_auth_missing_and_wrong_key(sandbox, method, suffix, body):
    url = sandbox.base_url + DEMO + suffix
    missing = httpx2.request(method, url, json=body)
    wrong = httpx2.request(method, url, json=body, headers={"xi-api-key": "sk_wrong"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.json()["detail"]["status"] == "missing_api_key"
    assert wrong.json()["detail"]["status"] == "invalid_api_key"
    assert sandbox.api_key not in missing.text + wrong.text


def test_env_key_is_the_accepted_key(monkeypatch):
    from agents_mcp.sandbox import DEFAULT_API_KEY, SandboxServer

    monkeypatch.setenv("ELEVENLABS_API_KEY", "sk_from_env")
    with SandboxServer() as server:
        assert server.api_key == "sk_from_env"
        assert "sk_from_env" not in repr(server)
        ok = httpx2.get(
            server.base_url + "/v1/convai/agents", headers={"xi-api-key": "sk_from_env"}
        )
        no = httpx2.get(
            server.base_url + "/v1/convai/agents", headers={"xi-api-key": DEFAULT_API_KEY}
        )
    assert (ok.status_code, no.status_code) == (200, 401)
    monkeypatch.delenv("ELEVENLABS_API_KEY")
    with SandboxServer() as server:
        assert server.api_key == DEFAULT_API_KEY == "sk_sandbox_local_key"


@pytest.mark.parametrize(("method", "suffix", "body"), ENDPOINTS)
def test_unknown_agent_is_404(c, method, suffix, body):
    r = c.request(method, GONE + suffix, json=body)
    assert r.status_code == 404
    assert r.json() == {
        "detail": {
            "status": "agent_not_found",
            "message": f"Agent with id {GONE.rsplit('/', 1)[1]} not found.",
        }
    }


def test_unknown_routes_and_methods_like_fastapi(sandbox, c):
    assert httpx2.get(sandbox.base_url + "/v1/nothing").json() == {"detail": "Not Found"}
    assert httpx2.get(sandbox.base_url + "/v1/nothing").status_code == 404  # before auth
    r = c.put(DEMO + "/link")
    assert r.status_code == 405 and r.json() == {"detail": "Method Not Allowed"}


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        ({}, ["body", "simulation_specification"], "missing"),
        (
            {"simulation_specification": {}},
            ["body", "simulation_specification", "simulated_user_config"],
            "missing",
        ),
        (
            {"simulation_specification": {"simulated_user_config": {"prompt": "text"}}},
            ["body", "simulation_specification", "simulated_user_config", "prompt"],
            "model_type",
        ),
        ({**SIM, "new_turns_limit": "many"}, ["body", "new_turns_limit"], "int_parsing"),
        (
            {
                "simulation_specification": {
                    "simulated_user_config": {},
                    "partial_conversation_history": [{"role": "bot", "time_in_call_secs": 0}],
                }
            },
            ["body", "simulation_specification", "partial_conversation_history", 0, "role"],
            "literal_error",
        ),
    ],
)
def test_invalid_simulate_bodies_are_422_in_fastapi_form(c, body, loc, kind):
    for suffix in ("/simulate-conversation", "/simulate-conversation/stream"):
        r = c.post(DEMO + suffix, json=body)
        assert r.status_code == 422
        detail = r.json()["detail"]
        assert isinstance(detail, list) and detail
        assert {"type", "loc", "msg", "input"} <= set(detail[0])
        assert any(d["loc"] == loc and d["type"] == kind for d in detail), detail


def test_body_not_json_or_missing(c):
    r = c.post(
        DEMO + "/simulate-conversation",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"
    r = c.post(DEMO + "/simulate-conversation")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"]
    # duplicate's body is optional
    assert c.post(DEMO + "/duplicate").status_code == 200
    assert c.post(DEMO + "/duplicate", json={"name": 5}).status_code == 422


def test_422_comes_before_404(c):
    assert c.post(GONE + "/simulate-conversation", json={}).status_code == 422


def test_unknown_keys_are_ignored_like_the_live_api(c):
    body = {
        "simulation_specification": {
            "simulated_user_config": {"prompt": {"prompt": "[turns=2]", "mood": "x"}, "voice": "y"},
            "tool_mock_config": {"lookup_order": {"default_is_error": False, "delay": 3}},
            "future_field": 1,
        },
        "another": True,
    }
    r = c.post(DEMO + "/simulate-conversation", json=body)
    assert r.status_code == 200
    assert sum(1 for t in r.json()["simulated_conversation"] if t["message"]) == 3
    assert c.post(DEMO + "/duplicate", json={"name": "n", "extra": 1}).status_code == 200


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("page_size=0", "greater_than_equal"),
        ("page_size=101", "less_than_equal"),
        ("page_size=abc", "int_parsing"),
        ("sort_direction=up", "literal_error"),
    ],
)
def test_list_query_validation(c, query, kind):
    r = c.get(f"/v1/convai/agents?{query}")
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == kind and r.json()["detail"][0]["loc"][0] == "query"


def test_delete_force_flag(c):
    copy = c.post(DEMO + "/duplicate", json={}).json()["agent_id"]
    assert c.delete(f"/v1/convai/agents/{copy}?force=maybe").status_code == 422
    r = c.delete(f"/v1/convai/agents/{copy}?force=true")
    assert (r.status_code, r.json()) == (200, {})


def test_list_paging_and_search(c):
    made = [
        c.post(
            "/v1/convai/agents/create", json={"name": f"Paging test {i}", "conversation_config": {}}
        ).json()["agent_id"]
        for i in range(5)
    ]
    seen, cursor = [], None
    while True:
        page = c.get(
            "/v1/convai/agents",
            params={
                "page_size": 2,
                "search": "paging TEST",
                **({"cursor": cursor} if cursor else {}),
            },
        ).json()
        seen += [a["agent_id"] for a in page["agents"]]
        assert len(page["agents"]) <= 2
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert seen == list(reversed(made))  # newest first
    by_name = c.get(
        "/v1/convai/agents", params={"search": "paging", "sort_by": "name", "sort_direction": "asc"}
    ).json()
    assert [a["name"] for a in by_name["agents"]] == [f"Paging test {i}" for i in range(5)]
    assert c.post("/v1/convai/agents/create", json={"name": "x"}).status_code == 422
    for agent_id in made:
        c.delete(f"/v1/convai/agents/{agent_id}")


def test_too_many_concurrent_simulations_is_429(fresh_sandbox, c):
    fresh_sandbox.configure(max_concurrent=2, turn_delay=0.05)
    started = threading.Barrier(3)
    results: list[int] = []

    def hold():
        url = fresh_sandbox.base_url + DEMO + "/simulate-conversation/stream"
        body = {
            "simulation_specification": {
                "simulated_user_config": {"prompt": {"prompt": "[turns=8]"}}
            }
        }
        with httpx2.stream(
            "POST", url, json=body, headers=fresh_sandbox.headers(), timeout=30
        ) as r:
            results.append(r.status_code)
            lines = r.iter_lines()  # (one iterator: a discarded one closes the response)
            next(lines)
            started.wait(timeout=10)
            for _ in lines:
                pass

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for t in threads:
        t.start()
    started.wait(timeout=10)  # both streams are running
    r = c.post(DEMO + "/simulate-conversation", json=SIM)
    assert r.status_code == 429
    assert r.json()["detail"]["status"] == "too_many_concurrent_requests"
    assert r.headers["maximum-concurrent-requests"] == "2"
    assert c.post(DEMO + "/simulate-conversation/stream", json=SIM).status_code == 429
    assert c.post(DEMO + "/duplicate", json={}).status_code == 200  # only simulations count
    for t in threads:
        t.join(timeout=30)
    assert results == [200, 200]
    assert fresh_sandbox.status()["running_simulations"] == 0
    assert c.post(DEMO + "/simulate-conversation", json=SIM).status_code == 200


def test_a_client_leaving_mid_stream_frees_its_slot(fresh_sandbox):
    fresh_sandbox.configure(max_concurrent=1, turn_delay=0.2)
    url = fresh_sandbox.base_url + DEMO + "/simulate-conversation/stream"
    body = {
        "simulation_specification": {"simulated_user_config": {"prompt": {"prompt": "[turns=40]"}}}
    }
    with httpx2.stream("POST", url, json=body, headers=fresh_sandbox.headers(), timeout=30) as r:
        lines = r.iter_lines()
        json.loads(json.loads(next(lines)))
        assert fresh_sandbox.status()["running_simulations"] == 1
        next(lines)
    for _ in range(100):
        if fresh_sandbox.status()["running_simulations"] == 0:
            break
        threading.Event().wait(0.05)
    assert fresh_sandbox.status()["running_simulations"] == 0
