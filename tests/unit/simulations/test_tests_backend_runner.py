"""SimulationManager on the agent-testing backend, in process, with the real API client against a
scripted HTTP server on loopback: the auto switch, polling progress, cancel, timeout, failures,
and that the ephemeral test is always deleted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from agents_mcp.simulations import Progress, SimulationManager
from agents_mcp.simulations.request import build_request
from tests.support.apiserver import APITestServer, Reply, make_api

pytestmark = pytest.mark.anyio
AGENT = "agent_3201k60p4ctyfg4smr22n17n6vxy"
STREAM = f"/v1/convai/agents/{AGENT}/simulate-conversation/stream"
CREATE = "/v1/convai/agent-testing/create"
TEST = "/v1/convai/agent-testing/test_1"
RUN = f"/v1/convai/agents/{AGENT}/run-tests"
INVOCATION = "/v1/convai/test-invocations/inv_1"
CANCEL = f"{INVOCATION}/cancel"
TURNS = [
    {"role": "agent", "message": "Hello, how can I help?", "time_in_call_secs": 0},
    {"role": "user", "message": "My parcel arrived broken.", "time_in_call_secs": 2},
]


def invocation(status: str, **run: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"test_run_id": "run_1", "test_id": "test_1", "status": status}
    if status != "pending":
        body["agent_responses"] = TURNS
        body["credits_used"] = 7
        body["condition_result"] = {
            "result": "success" if status == "passed" else "failure",
            "rationale": {"messages": ["The agent apologised."], "summary": "Polite."},
        }
    return {"id": "inv_1", "agent_id": AGENT, "test_runs": [{**body, **run}]}


def script_tests_api(srv: APITestServer, *polls: dict[str, Any]) -> None:
    srv.script("POST", CREATE, Reply(json={"id": "test_1"}))
    srv.script("POST", RUN, Reply(json=invocation("pending")))
    srv.script("GET", INVOCATION, *(Reply(json=p) for p in polls))
    srv.script("POST", CANCEL, Reply(json={}))
    srv.script("DELETE", TEST, Reply(body=b""))


@pytest.fixture(scope="module")
def server():
    with APITestServer() as srv:
        yield srv


@pytest.fixture
def srv(server: APITestServer) -> APITestServer:
    server.reset()
    return server


def manager_for(api: Any, tmp_path: Path, **kw: Any) -> SimulationManager:
    kw.setdefault("poll_seconds", 0.05)
    return SimulationManager(api, tmp_path, **kw)


async def test_auto_switches_after_a_404_and_stays_switched(
    srv: APITestServer, tmp_path: Path
) -> None:
    # unscripted, the stream route answers FastAPI's bare 404, like a removed endpoint
    script_tests_api(srv, invocation("pending"), invocation("passed"))
    api = make_api(srv.base_url, sleep=anyio.sleep)
    async with api, manager_for(api, tmp_path, backend="auto") as manager:
        assert manager.current_backend == "stream"
        first = await manager.start(AGENT, build_request("You want a refund."))
        record = await manager.wait(first.simulation_id, 10)
        assert record.status == "done", record.error
        assert record.backend == "tests" and record.upstream["switched_from_stream"]
        assert record.analysis["call_successful"] == "success"
        assert record.upstream["test_deleted"] and record.upstream["credits_used"] == 7
        assert manager.current_backend == "tests"
        second = await manager.start(AGENT, build_request("You want a refund."))
        assert (await manager.wait(second.simulation_id, 10)).status == "done"
        stored = await manager.store.get(first.simulation_id)
        assert stored.backend == "tests" and stored.upstream["invocation_id"] == "inv_1"
    assert srv.count("POST", STREAM) == 1  # the second never tried the stream
    assert srv.count("POST", CREATE) == 2 and srv.count("DELETE", TEST) == 2
    assert srv.count("POST", CANCEL) == 0  # finished runs need no cancel


async def test_stream_backend_does_not_switch(srv: APITestServer, tmp_path: Path) -> None:
    api = make_api(srv.base_url, sleep=anyio.sleep)
    async with api, manager_for(api, tmp_path, backend="stream") as manager:
        sid = (await manager.start(AGENT, build_request("You want a refund."))).simulation_id
        record = await manager.wait(sid, 10)
    assert record.status == "failed" and record.error_type == "EndpointGoneError"
    assert srv.count("POST", CREATE) == 0


async def test_one_progress_event_per_poll(srv: APITestServer, tmp_path: Path) -> None:
    script_tests_api(srv, invocation("pending"), invocation("pending"), invocation("failed"))
    events: list[Progress] = []

    async def collect(event: Progress) -> None:
        events.append(event)

    api = make_api(srv.base_url, sleep=anyio.sleep)
    async with api, manager_for(api, tmp_path, backend="tests") as manager:
        sid = (await manager.start(AGENT, build_request("You want a refund."))).simulation_id
        record = await manager.wait(sid, 10, collect)
    assert record.status == "done" and record.analysis["call_successful"] == "failure"
    assert [e.frames for e in events] == [1, 2, 3]
    assert "1 pending" in events[0].message and "s elapsed" in events[0].message
    assert srv.count("GET", INVOCATION) == 3
    assert srv.count("POST", STREAM) == 0


async def test_cancel_cancels_the_invocation_and_deletes_the_test(
    srv: APITestServer, tmp_path: Path
) -> None:
    script_tests_api(srv, invocation("pending"))
    api = make_api(srv.base_url, sleep=anyio.sleep)
    async with api, manager_for(api, tmp_path, backend="tests") as manager:
        sid = (await manager.start(AGENT, build_request("You want a refund."))).simulation_id
        await manager.wait(sid, 0.3)
        record = await manager.cancel(sid)
    assert record.status == "cancelled"
    assert record.upstream["invocation_cancelled"] and record.upstream["test_deleted"]
    assert srv.count("POST", CANCEL) == 1 and srv.count("DELETE", TEST) == 1


async def test_a_run_past_the_timeout_is_cancelled_and_cleaned_up(
    srv: APITestServer, tmp_path: Path
) -> None:
    script_tests_api(srv, invocation("pending"))
    api = make_api(srv.base_url, sleep=anyio.sleep)
    async with api, manager_for(api, tmp_path, backend="tests", simulation_timeout=0.3) as manager:
        sid = (await manager.start(AGENT, build_request("You want a refund."))).simulation_id
        record = await manager.wait(sid, 10)
    assert record.status == "failed" and "took longer than 0.3 s" in record.error
    assert srv.count("POST", CANCEL) == 1 and srv.count("DELETE", TEST) == 1


async def test_a_failing_poll_still_cleans_up(srv: APITestServer, tmp_path: Path) -> None:
    script_tests_api(srv, invocation("pending"))
    gone = Reply(status=404, json={"detail": {"status": "not_found", "message": "no such run"}})
    srv.script("GET", INVOCATION, gone)
    api = make_api(srv.base_url, sleep=anyio.sleep)
    async with api, manager_for(api, tmp_path, backend="tests") as manager:
        sid = (await manager.start(AGENT, build_request("You want a refund."))).simulation_id
        record = await manager.wait(sid, 10)
    assert record.status == "failed" and record.error_type == "ResourceNotFoundError"
    assert srv.count("POST", CANCEL) == 1 and srv.count("DELETE", TEST) == 1


async def test_a_422_on_create_runs_nothing(srv: APITestServer, tmp_path: Path) -> None:
    detail = [{"loc": ["body", "simulation_scenario"], "msg": "too long", "type": "value_error"}]
    srv.script("POST", CREATE, Reply(status=422, json={"detail": detail}))
    api = make_api(srv.base_url, sleep=anyio.sleep)
    async with api, manager_for(api, tmp_path, backend="tests") as manager:
        sid = (await manager.start(AGENT, build_request("You want a refund."))).simulation_id
        record = await manager.wait(sid, 10)
    assert record.status == "failed" and record.error_type == "RequestValidationError"
    assert "simulation_scenario: too long" in record.error
    assert srv.count("POST", CREATE) == 1
    assert srv.count("POST", RUN) == 0 and srv.count("DELETE") == 0


async def test_a_422_on_run_deletes_the_test(srv: APITestServer, tmp_path: Path) -> None:
    script_tests_api(srv, invocation("pending"))
    detail = [{"loc": ["body", "tests"], "msg": "agent has no such branch", "type": "x"}]
    srv.script("POST", RUN, Reply(status=422, json={"detail": detail}))
    api = make_api(srv.base_url, sleep=anyio.sleep)
    async with api, manager_for(api, tmp_path, backend="tests") as manager:
        sid = (await manager.start(AGENT, build_request("You want a refund."))).simulation_id
        record = await manager.wait(sid, 10)
    assert record.status == "failed" and "agent has no such branch" in record.error
    assert srv.count("POST", CANCEL) == 0 and srv.count("DELETE", TEST) == 1
