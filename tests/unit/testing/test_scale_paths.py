"""The paths that keep a big test suite and a burst of simulations cheap keep their behaviour:
an invocation read compact is the API's JSON (transcripts packed) with get_invocation's errors;
a run is polled once per interval and stored when a status changed, not on every poll; the
record's document is the same as a deep copy would be; the SQLite store serializes calls made
at once from many tasks."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from agents_mcp.api import AgentsAPI, UpstreamError, compact_invocation, create_http_client
from agents_mcp.api.compact_invocation import PACKED, expanded_invocation
from agents_mcp.runtime import return_big_buffers
from agents_mcp.settings import Settings
from agents_mcp.stores import SQLiteStore
from agents_mcp.testing.record import BaselineSide, StoredTest, TestRunRecord
from agents_mcp.testing.runner import TestRunManager
from agents_mcp.testing.store import MemoryTestRunStore
from agents_mcp.testing.suite import parse_suite
from tests.support.apiserver import APITestServer, Reply, make_api

pytestmark = pytest.mark.anyio
AGENT = "agent_demo_support"
INVOCATIONS = "/v1/convai/test-invocations"
RUN = {"test_run_id": "run_1", "test_invocation_id": "inv_1", "status": "pending", "x": {"y": 1}}


@pytest.fixture(scope="module")
def server():
    with APITestServer() as srv:
        yield srv


async def test_an_invocation_read_compact_is_the_api_json_with_the_same_errors(
    server: APITestServer,
) -> None:
    server.reset()
    turns = [{"role": "agent", "message": "Hi", "tool_results": [], "x": [1.5, None]}]
    finished = {**RUN, "test_run_id": "run_2", "status": "passed", "agent_responses": turns}
    invocation = {
        "id": "inv_1",
        "agent_id": AGENT,
        "test_runs": [RUN, finished],
        "new_field": [1, 2],
    }
    server.script("GET", f"{INVOCATIONS}/inv_1", Reply(json=invocation))
    server.script("GET", f"{INVOCATIONS}/inv_2", Reply(body=b'{"test_runs": "no" ' + b"x" * 2000))
    server.script("GET", f"{INVOCATIONS}/inv_3", Reply(json={"test_runs": [{"status": 1}]}))
    server.script("GET", f"{INVOCATIONS}/inv_4", Reply(body=b'{"id": "inv_4", "n": NaN}'))
    api = make_api(server.base_url)
    try:
        got = await api.get_invocation_compact("inv_1")
        assert got["new_field"] == [1, 2] and got["test_runs"][0] == RUN  # unknown fields kept
        packed = got["test_runs"][1]
        assert "agent_responses" not in packed and packed[PACKED]["turns"] == 1
        assert compact_invocation.transcript(packed) == turns  # the transcript as sent
        # the API's shape again, written from the packed bytes
        assert json.loads(compact_invocation.to_json(expanded_invocation(got))) == invocation
        # polled again: the finished run is the same object, not decoded again
        again = await api.get_invocation_compact("inv_1", got)
        assert again["test_runs"][1] is packed and again["test_runs"][0] is not got["test_runs"][0]
        # what msgspec refuses but json accepts is returned in full, as get_invocation reads it
        assert (await api.get_invocation_compact("inv_4"))["id"] == "inv_4"
        for bad in ("inv_2", "inv_3"):
            with pytest.raises(UpstreamError) as late:
                await api.get_invocation_compact(bad)
            with pytest.raises(UpstreamError) as now:
                await api.get_invocation(bad)
            assert str(late.value) == str(now.value)
    finally:
        await api.aclose()


class CountingStore(MemoryTestRunStore):
    """The in-memory store, counting the writes."""

    def __init__(self) -> None:
        super().__init__()
        self.puts = 0

    async def put(self, record: TestRunRecord) -> bool:
        self.puts += 1
        return await super().put(record)


async def test_a_run_is_polled_each_interval_and_stored_only_when_it_changed(
    fresh_sandbox: Any,
) -> None:
    fresh_sandbox.configure(run_delay=1.0)
    settings = Settings(base_url=fresh_sandbox.base_url, api_key=fresh_sandbox.api_key)
    api = AgentsAPI.from_settings(settings, http=create_http_client(settings))
    store = CountingStore()
    suite = {"tests": [{"name": f"t{i}", "user_prompt": f"Caller {i}."} for i in range(3)]}
    try:
        async with TestRunManager(api, store, poll_seconds=0.05) as manager:
            plan = await manager.prepare(AGENT, parse_suite(suite).tests, repeat=2)
            fresh_sandbox.clear_requests()
            record = await manager.launch(plan)
            launched = store.puts
            done = await manager.wait(record.run_id, 20)
    finally:
        await api.aclose()
    assert done.status == "done"
    assert len(done.invocation["test_runs"]) == 6  # type: ignore[index]
    gets = [
        r
        for r in fresh_sandbox.requests()
        if r["method"] == "GET" and "/test-invocations/" in r["path"]
    ]
    assert len(gets) >= 8  # polled every 0.05 s for about a second, one GET each time
    # stored when statuses changed (at most once per run finishing, and the end), not per poll
    assert store.puts - launched <= 6 + 2 < len(gets)
    stored = await store.get(record.run_id)
    assert stored is not None and stored.status == "done" and stored.invocation == done.invocation


def test_the_document_equals_a_deep_copy_and_is_json() -> None:
    record = TestRunRecord(
        run_id="run_0123456789abcdef",
        agent_id=AGENT,
        repeat=2,
        tests=[StoredTest(name="a", test_id="t1", conditions=["c"], ad_hoc=True)],
        invocation={"id": "inv", "test_runs": [RUN]},
        baseline=BaselineSide(source="live", agent_id=AGENT, invocation={"id": "b"}),
    )
    document = record.document()
    assert document == {"kind": "test_run", **dataclasses.asdict(record)}
    assert TestRunRecord.from_document(json.loads(json.dumps(document))) == record


def test_big_buffers_policy_applies_on_linux_glibc() -> None:
    import platform
    import sys

    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert return_big_buffers() is True
    else:
        assert return_big_buffers() in (True, False)


async def test_the_sqlite_store_takes_many_calls_at_once(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path)
    await store.open()
    try:
        results: list[bool] = []

        async def put(i: int) -> None:
            data = {"i": i, "text": "é" * 10}
            ok = await store.put("thing", f"id{i}", data, status="running", created_at=float(i))
            results.append(ok)

        async with anyio.create_task_group() as tg:
            for i in range(50):
                tg.start_soon(put, i)
        assert results == [True] * 50
        assert await store.count("thing") == 50
        got = await store.get("thing", "id7")
        assert got is not None and got.data == {"i": 7, "text": "é" * 10}
        assert await store.renew("thing", [f"id{i}" for i in range(50)], 10) == 50
    finally:
        await store.close()
