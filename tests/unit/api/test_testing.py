"""The agent-testing endpoints of the API client against a real HTTP server on loopback: paths,
bodies, strict requests, tolerant answers, retry rules (create and run never sent twice), errors."""

from __future__ import annotations

import re

import pytest

from agents_mcp.api import APIError, RequestValidationError, UpstreamError
from agents_mcp.api.errors import (
    EndpointGoneError,
    InvalidIdError,
    RateLimitedError,
    ResourceNotFoundError,
)
from agents_mcp.errors_text import error_text
from tests.support.apiserver import APITestServer, Reply, make_api

pytestmark = pytest.mark.anyio
AGENT = "agent_3201k60p4ctyfg4smr22n17n6vxy"
TESTS = "/v1/convai/agent-testing"
INVOCATIONS = "/v1/convai/test-invocations"
BODY = {
    "type": "simulation",
    "name": "refund flow",
    "simulation_scenario": "You want a refund.",
    "success_conditions": ["The agent offers a refund"],
    "simulation_max_turns": 6,
}
ERROR_500 = Reply(status=500, json={"detail": {"status": "internal", "message": "boom"}})
RUN = {
    "test_run_id": "run_1",
    "test_invocation_id": "inv_1",
    "agent_id": AGENT,
    "test_id": "test_1",
    "status": "pending",
    "brand_new_field": {"kept": True},
}
INVOCATION = {"id": "inv_1", "agent_id": AGENT, "test_runs": [RUN]}


async def test_create_get_update_delete_list_tests(srv: APITestServer) -> None:
    srv.script("POST", f"{TESTS}/create", Reply(json={"id": "test_1"}))
    srv.script("GET", f"{TESTS}/test_1", Reply(json={**BODY, "id": "test_1"}))
    srv.script("PUT", f"{TESTS}/test_1", Reply(json={**BODY, "id": "test_1", "name": "v2"}))
    srv.script("DELETE", f"{TESTS}/test_1", Reply(status=200, body=b""))
    page = {"tests": [{"id": "test_1", "name": "refund flow", "type": "simulation"}]}
    srv.script("GET", TESTS, Reply(json={**page, "has_more": False, "next_cursor": None}))
    async with make_api(srv.base_url) as api:
        assert await api.create_test(BODY) == "test_1"
        assert (await api.get_test("test_1")).name == "refund flow"
        assert (await api.update_test("test_1", {**BODY, "name": "v2"})).name == "v2"
        await api.delete_test("test_1")
        listed = await api.list_tests(page_size=10, types=["simulation", "llm"])
    assert [t.id for t in listed.tests] == ["test_1"]
    create = srv.requests[0]
    assert create.json() == BODY
    assert create.headers["xi-api-key"]
    listing = srv.requests[-1]
    assert "types=simulation&types=llm" in listing.query and "page_size=10" in listing.query


async def test_a_test_body_is_checked_before_sending(srv: APITestServer) -> None:
    async with make_api(srv.base_url) as api:
        with pytest.raises(RequestValidationError) as info:
            await api.create_test({**BODY, "simulation_turns": 3})
        with pytest.raises(RequestValidationError):
            await api.create_test({**BODY, "type": "quiz"})
        with pytest.raises(InvalidIdError):
            await api.delete_test("../agents/agent_x")
    assert "simulation_turns" in error_text(info.value)
    assert srv.requests == []


async def test_run_tests_body_and_tolerant_invocation(srv: APITestServer) -> None:
    srv.script("POST", f"/v1/convai/agents/{AGENT}/run-tests", Reply(json=INVOCATION))
    async with make_api(srv.base_url) as api:
        invocation = await api.run_tests(AGENT, tests=["test_1"], repeat_count=2, name="nightly")
    assert invocation.id == "inv_1" and not invocation.done
    assert invocation.test_runs[0].model_extra == {"brand_new_field": {"kept": True}}
    # no nulls sent: the SDK notes branch_id must be omitted rather than null
    assert srv.requests[0].json() == {
        "tests": [{"test_id": "test_1"}],
        "repeat_count": 2,
        "name": "nightly",
    }


async def test_an_agent_config_override_needs_both_parts(srv: APITestServer) -> None:
    async with make_api(srv.base_url) as api:
        with pytest.raises(RequestValidationError) as caught:
            await api.run_tests(
                AGENT, tests=["test_1"], agent_config_override={"conversation_config": {}}
            )
        assert re.search("platform_settings", error_text(caught.value)), error_text(caught.value)
    assert srv.requests == []


async def test_create_and_run_are_never_sent_twice_on_5xx(srv: APITestServer) -> None:
    srv.script("POST", f"{TESTS}/create", ERROR_500, Reply(json={"id": "test_2"}))
    srv.script("POST", f"/v1/convai/agents/{AGENT}/run-tests", ERROR_500, Reply(json=INVOCATION))
    async with make_api(srv.base_url) as api:
        with pytest.raises(UpstreamError) as caught:
            await api.create_test(BODY)
        assert "may have taken effect" in error_text(caught.value)
        with pytest.raises(UpstreamError) as caught:
            await api.run_tests(AGENT, tests=["test_1"])
        assert re.search("costs credits", error_text(caught.value)), error_text(caught.value)
    assert srv.count("POST") == 2
    assert api.sleeps.delays == []


async def test_create_is_sent_again_after_a_429(srv: APITestServer) -> None:
    busy = Reply(status=429, headers={"retry-after": "1"}, json={"detail": "busy"})
    srv.script("POST", f"{TESTS}/create", busy, Reply(json={"id": "test_3"}))
    async with make_api(srv.base_url) as api:
        assert await api.create_test(BODY) == "test_3"
    assert srv.count("POST") == 2 and api.sleeps.delays == [1.0]


async def test_reads_deletes_and_cancels_are_retried_on_5xx(srv: APITestServer) -> None:
    srv.script("GET", f"{INVOCATIONS}/inv_1", ERROR_500, Reply(json=INVOCATION))
    srv.script("DELETE", f"{TESTS}/test_1", ERROR_500, Reply(body=b""))
    srv.script("POST", f"{INVOCATIONS}/inv_1/cancel", ERROR_500, Reply(json={}))
    async with make_api(srv.base_url) as api:
        assert (await api.get_invocation("inv_1")).id == "inv_1"
        await api.delete_test("test_1")
        await api.cancel_invocation("inv_1")
    assert srv.count() == 6


async def test_422_carries_the_api_message_and_field(srv: APITestServer) -> None:
    refused = Reply(
        status=422,
        json={
            "detail": [
                {
                    "loc": ["body", "simulation_max_turns"],
                    "msg": "ensure this value is less than or equal to 50",
                    "type": "value_error",
                }
            ]
        },
    )
    srv.script("POST", f"{TESTS}/create", refused)
    async with make_api(srv.base_url) as api:
        with pytest.raises(RequestValidationError) as info:
            await api.create_test({**BODY, "simulation_max_turns": 99})
    assert info.value.errors[0].location == "simulation_max_turns"
    assert "less than or equal to 50" in str(info.value)
    assert srv.count("POST") == 1


async def test_unknown_test_and_invocation_ids(srv: APITestServer) -> None:
    missing = Reply(
        status=404, json={"detail": {"status": "test_not_found", "message": "Test not found"}}
    )
    srv.script("GET", f"{TESTS}/test_9", missing)
    srv.script("GET", f"{INVOCATIONS}/inv_9", missing)
    async with make_api(srv.base_url) as api:
        with pytest.raises(ResourceNotFoundError) as caught:
            await api.get_test("test_9")
        assert "has no test test_9" in error_text(caught.value)
        with pytest.raises(ResourceNotFoundError) as caught:
            await api.get_invocation("inv_9")
        assert "has no test invocation inv_9" in error_text(caught.value)
        # a route the server does not know at all (FastAPI's bare 404)
        with pytest.raises(EndpointGoneError):
            await api.list_invocations(agent_id=AGENT)


async def test_list_tools_follows_every_page(srv: APITestServer) -> None:
    async def pages(request):
        from starlette.responses import JSONResponse

        if "cursor=c2" in str(request.url.query):
            tools = [{"id": "tool_b", "tool_config": {"name": "book_slot", "type": "webhook"}}]
            return JSONResponse({"tools": tools, "has_more": False, "next_cursor": None})
        tools = [{"id": "tool_a", "tool_config": {"name": "lookup_order", "type": "webhook"}}]
        return JSONResponse({"tools": tools, "has_more": True, "next_cursor": "c2"})

    srv.script("GET", "/v1/convai/tools", pages)
    async with make_api(srv.base_url) as api:
        tools = await api.list_tools()
    assert [(t.id, t.name) for t in tools] == [("tool_a", "lookup_order"), ("tool_b", "book_slot")]
    assert srv.count("GET") == 2


async def test_resubmit_and_list_invocations(srv: APITestServer) -> None:
    srv.script("POST", f"{INVOCATIONS}/inv_1/resubmit", Reply(json={"ok": True}))
    summary = {"id": "inv_1", "test_run_count": 1, "passed_count": 1}
    srv.script("GET", INVOCATIONS, Reply(json={"results": [summary], "has_more": False}))
    async with make_api(srv.base_url) as api:
        assert await api.resubmit_invocation("inv_1", test_run_ids=["run_1"], agent_id=AGENT)
        page = await api.list_invocations(agent_id=AGENT, page_size=5)
    assert page.results[0].passed_count == 1
    assert srv.requests[0].json() == {"test_run_ids": ["run_1"], "agent_id": AGENT}
    assert "agent_id=" + AGENT in srv.requests[1].query


async def test_rate_limit_on_run_tests_is_reported(srv: APITestServer) -> None:
    srv.script("POST", f"/v1/convai/agents/{AGENT}/run-tests", Reply(status=429, json={}))
    async with make_api(srv.base_url, max_retries=1) as api:
        with pytest.raises(RateLimitedError):
            await api.run_tests(AGENT, tests=["test_1"])
    assert srv.count("POST") == 2  # a 429 means it was not run: safe to send again


async def test_key_never_in_errors(srv: APITestServer) -> None:
    async with make_api(srv.base_url) as api:
        key = api._secret()
        echo = Reply(status=422, json={"detail": [{"loc": ["body", "name"], "msg": f"bad {key}"}]})
        srv.script("POST", f"{TESTS}/create", echo)
        with pytest.raises(APIError) as info:
            await api.create_test(BODY)
    assert key and key not in str(info.value)
    assert all(key not in e.reason for e in info.value.errors)


@pytest.mark.parametrize("status", [404, 405, 410])
async def test_a_removed_simulate_endpoint_is_endpoint_gone(
    srv: APITestServer, status: int
) -> None:
    # 404 is FastAPI's bare one (unscripted route); 405 and 410 say the route is gone too
    path = f"/v1/convai/agents/{AGENT}/simulate-conversation/stream"
    if status != 404:
        srv.script("POST", path, Reply(status=status, json={"detail": "Method Not Allowed"}))
    async with make_api(srv.base_url) as api:
        with pytest.raises(EndpointGoneError) as caught:
            async for _ in api.simulate_stream(
                AGENT,
                {
                    "simulation_specification": {
                        "simulated_user_config": {"prompt": {"prompt": "hi"}}
                    }
                },
            ):
                pass
        assert re.search("agent-testing API", error_text(caught.value)), error_text(caught.value)
    assert srv.count("POST") == 1
