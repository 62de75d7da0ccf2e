"""The fault matrix: every tool against every upstream fault, over the real server process.

Each case of tests/support/fault_cases.py arms one fault in the sandbox for one fresh agent, calls
one tool through the MCP client (stdio subprocess), and checks the written-down outcome: retried or
not, how many requests reached the sandbox (its request log), whether the model gets a tool error
and what it reads, and what was stored. One server process per configuration serves all its
cases; every call has its own timeout, so nothing can hang the suite. The servers run with the
canary key and token: no result, resource or log line may contain them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.fault_cases import (
    ATTEMPTS,
    CASES,
    FAULTS,
    REQUEST_TIMEOUT,
    STALL_SECONDS,
    STALL_TIMEOUT,
    Case,
)
from tests.support.mcp_fixture import text_of
from tests.support.paths import REPO
from tests.support.reliability import (
    DEMO_AGENT,
    McpProcess,
    RecordingSandbox,
    assert_no_canary,
    closed_port,
    server_env,
    simulation_document,
    unexpected_paths,
)

MISSING_AGENT = "agent_0000000000000000000000000404"
pytestmark = pytest.mark.timeout(60)


class Servers:
    """One server process per configuration, started on first use, all closed at the end."""

    def __init__(self, sandbox: RecordingSandbox, root: Path) -> None:
        self.sandbox = sandbox
        self.root = root
        self.running: dict[str, McpProcess] = {}

    def get(self, config: str) -> McpProcess:
        if config not in self.running:
            data = self.root / config
            base = self.sandbox.base_url
            if config == "main":
                env = server_env(base, data)
            elif config == "bad_key":
                from tests.support.reliability import CANARY_WRONG_KEY

                env = server_env(base, data, api_key=CANARY_WRONG_KEY)
            elif config == "no_key":
                env = server_env(base, data, api_key=None)
            elif config == "refused":
                env = server_env(f"http://127.0.0.1:{closed_port()}", data)
            else:
                raise KeyError(config)
            self.running[config] = McpProcess(env, log_dir=data).__enter__()
        return self.running[config]

    def close(self) -> dict[str, str]:
        logs = {}
        for name, server in self.running.items():
            server.__exit__(None, None, None)
            logs[name] = server.stderr()
        return logs


@pytest.fixture(scope="module")
def servers(
    sandbox: RecordingSandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    pool = Servers(sandbox, tmp_path_factory.mktemp("fault-matrix"))
    yield pool
    logs = pool.close()
    for name, text in logs.items():
        assert_no_canary(text, f"the stderr of the {name!r} server")


def _arguments(case: Case, agent_id: str) -> dict[str, Any]:
    if case.tool == "delete_agent":
        return {"agent_id": agent_id, "confirm": True}
    if case.tool == "duplicate_agent":
        return {"agent_id": agent_id, "name": f"copy {case.id}"}
    if case.tool == "get_agent_link":
        return {"agent_id": agent_id}
    wait = 10 if case.tool == "simulate_conversation" else 0
    return {"agent_id": agent_id, "user_prompt": "An impatient caller", "wait_seconds": wait}


def _run(case: Case, server: McpProcess, agent_id: str) -> tuple[Any, str | None]:
    """Call the tool of the case; for get_simulation, start the simulation without waiting, then
    let get_simulation wait for its end."""
    result = server.call(
        "simulate_conversation" if case.tool == "get_simulation" else case.tool,
        _arguments(case, agent_id),
        timeout=case.timeout,
    )
    sim_id = (result.structured_content or {}).get("simulation_id")
    if case.tool == "get_simulation":
        assert sim_id, text_of(result)
        result = server.call(
            "get_simulation", {"simulation_id": sim_id, "wait_seconds": 15}, timeout=case.timeout
        )
    return result, sim_id


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fault_case(case: Case, sandbox: RecordingSandbox, servers: Servers) -> None:
    fault = FAULTS[case.fault]
    server = servers.get(fault.config)
    streamed = case.tool in ("simulate_conversation", "get_simulation")
    agent_id = MISSING_AGENT if fault.missing_agent else sandbox.new_agent(f"target {case.id}")

    sandbox.reset()
    sandbox.clear_seen()
    spec = fault.spec(streamed)
    if spec is not None:
        spec = dict(spec)
        sandbox.arm_fault(
            spec.pop("fault"), match={"path_contains": agent_id}, times=fault.times, **spec
        )
    sandbox.recorder.echo_key_for = agent_id if fault.echo_key else None

    started = time.monotonic()
    try:
        result, sim_id = _run(case, server, agent_id)
    finally:
        elapsed = time.monotonic() - started
        sandbox.clear_faults()
        sandbox.recorder.echo_key_for = None
    text = text_of(result)

    # what reached the sandbox (the proxy's own record when the proxy answered instead)
    log = sandbox.requests()
    if fault.echo_key:
        log = [{"path": e["raw_path"], **e} for e in sandbox.seen()]
    assert all(agent_id in entry["path"] for entry in log), log
    assert len(log) == case.requests, f"requests {log}; the model read: {text}"
    assert not unexpected_paths(sandbox.seen()), sandbox.seen()
    retried = len(log) > 1 or f"{ATTEMPTS} attempts" in text
    assert retried == case.retried, text

    # what the model sees
    assert result.is_error == case.is_error, text
    for part in case.says:
        assert part in text, f"{part!r} not in the model's text: {text}"
    assert "Traceback" not in text and "internal error" not in text.lower(), text
    assert elapsed >= case.min_seconds, f"{elapsed:.2f}s: a requested wait was not honoured"

    # what was stored
    _check_stored(case, sandbox, server, agent_id, sim_id)
    assert server.alive()


def _check_stored(
    case: Case, sandbox: RecordingSandbox, server: McpProcess, agent_id: str, sim_id: str | None
) -> None:
    stored = case.stored
    if stored == "nothing":
        return
    if stored in ("agent kept", "agent deleted"):
        assert sandbox.agent_exists(agent_id) == (stored == "agent kept")
        return
    if stored in ("no copy", "one copy"):
        assert sandbox.agents_named(f"copy {case.id}") == (stored == "one copy")
        return
    assert sim_id, "no simulation id in the result"
    doc = simulation_document(server, sim_id)
    turns = doc["simulated_conversation"]
    if stored == "done":
        assert doc["status"] == "done" and turns and doc["analysis"], doc["status"]
    elif stored == "failed, no turns":
        assert doc["status"] == "failed" and not turns, (doc["status"], len(turns))
    elif stored == "failed, partial turns":
        assert doc["status"] == "failed" and turns and doc["analysis"] is None
    else:
        raise AssertionError(f"unknown stored state {stored!r}")
    json.dumps(doc)  # the resource is valid JSON all the way through


def test_every_tool_and_fault_is_covered() -> None:
    """Each tool meets each fault that applies to it (the agent tools have no stream)."""
    pairs = {(c.fault, c.tool) for c in CASES}
    stream_only = {"no_analysis"}
    for fault in FAULTS:
        tools = ["simulate_conversation"]
        if fault not in stream_only:
            tools += ["get_agent_link", "delete_agent", "duplicate_agent"]
        for tool in tools:
            assert (fault, tool) in pairs, (fault, tool)
    assert sum(1 for c in CASES if c.tool == "get_simulation") >= 6
    assert 2 * max(REQUEST_TIMEOUT, STALL_TIMEOUT) <= STALL_SECONDS  # a clear margin


def test_delete_without_confirmation_sends_nothing(
    sandbox: RecordingSandbox, servers: Servers
) -> None:
    server = servers.get("main")
    sandbox.reset()
    result = server.call("delete_agent", {"agent_id": DEMO_AGENT}, timeout=10)
    assert not result.is_error and "confirm=true" in text_of(result)
    # one GET to name the agent in the question; no DELETE
    assert [r["method"] for r in sandbox.requests()] == ["GET"]
    assert sandbox.agent_exists(DEMO_AGENT)


def test_committed_doc_matches_the_case_table() -> None:
    """docs/fault-matrix.md is generated from tests/support/fault_cases.py: regenerate it when
    they differ."""
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_fault_matrix.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
