"""Canary secrets: a recognisable API key and auth token must never be readable anywhere.

The fault matrix (test_fault_matrix.py) and the fuzz run (test_fuzz_tools.py), beside this file,
already run with the canary key and token and check every result, resource and the servers'
stderr. This file covers what they do not: the HTTP sidecar (the token travels in every request
there; 401 answers; the JSON request log), stdio with JSON logs, the embedded sandbox, start-up
errors, and the detector itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from tests.support.http_sidecar import Sidecar, clean_env
from tests.support.mcp_fixture import text_of
from tests.support.paths import REPO
from tests.support.reliability import (
    CANARY_KEY,
    CANARY_TOKEN,
    DEMO_AGENT,
    CanaryLeak,
    McpProcess,
    RecordingSandbox,
    assert_no_canary,
    http_driver,
    result_text,
    server_env,
)

pytestmark = pytest.mark.timeout(120)


def test_the_detector_catches_whole_and_partial_secrets() -> None:
    assert_no_canary("nothing to see", "a clean text")
    for leaked in (
        f"key={CANARY_KEY}",
        f"Bearer {CANARY_TOKEN}",
        f"clipped: {CANARY_KEY[:30]}...",
        f"...{CANARY_TOKEN[-24:]}",
        json.dumps({"headers": {"xi-api-key": CANARY_KEY}}),
    ):
        with pytest.raises(CanaryLeak):
            assert_no_canary(leaked, "a leaky text")


def _exercise(driver, sandbox: RecordingSandbox) -> list[str]:
    """Successes and failures of every tool (including an upstream that echoes the key);
    returns everything a model could read."""
    seen: list[str] = []
    copy = sandbox.new_agent("canary target")
    seen.append(result_text(driver.call("get_agent_link", {"agent_id": DEMO_AGENT})))
    dup = driver.call("duplicate_agent", {"agent_id": copy, "name": "canary copy"})
    seen.append(result_text(dup))
    sim = driver.call(
        "simulate_conversation",
        {"agent_id": DEMO_AGENT, "user_prompt": "canary caller", "wait_seconds": 10},
    )
    seen.append(result_text(sim))
    sim_id = sim.structured_content["simulation_id"]
    for detail in ("summary", "transcript", "full"):
        got = driver.call("get_simulation", {"simulation_id": sim_id, "detail": detail})
        seen.append(result_text(got))
    seen.append(driver.read_resource(f"simulation://{sim_id}"))
    # failures: 500s, a key-echoing upstream, unknown agents, invalid ids
    sandbox.arm_fault("http_500", match={"path_contains": copy}, times=None)
    for tool in ("get_agent_link", "duplicate_agent", "simulate_conversation"):
        args = {"agent_id": copy, "user_prompt": "x"} if tool.startswith("sim") else {}
        got = driver.call(tool, {"agent_id": copy, **args})
        assert got.is_error
        seen.append(result_text(got))
    sandbox.clear_faults()
    sandbox.recorder.echo_key_for = copy
    try:
        for tool in ("get_agent_link", "delete_agent"):
            got = driver.call(
                tool, {"agent_id": copy, "confirm": True} if "del" in tool else {"agent_id": copy}
            )
            assert got.is_error and "[redacted]" in text_of(got), text_of(got)
            seen.append(result_text(got))
    finally:
        sandbox.recorder.echo_key_for = None
    for bad in ("agent_nope_404", "../etc", CANARY_KEY):
        got = driver.call("get_agent_link", {"agent_id": bad})
        seen.append(result_text(got))
    deleted = driver.call("delete_agent", {"agent_id": copy, "confirm": True})
    assert not deleted.is_error, text_of(deleted)
    return seen


def test_http_sidecar_never_shows_the_key_or_the_token(
    sandbox: RecordingSandbox, tmp_path: Path
) -> None:
    env = clean_env(
        **server_env(sandbox.base_url, tmp_path),
        AGENTS_MCP_LOG_JSON="1",
    )
    with Sidecar.serve(env=env) as server:
        # requests without the token, with a wrong one, and with the key in the wrong place
        for headers in (
            {},
            {"Authorization": "Bearer tok_CANARY_wrong"},
            {"Authorization": f"Bearer {CANARY_KEY}"},
            {"Authorization": f"Basic {CANARY_TOKEN}"},
        ):
            answer = httpx2.post(server.url, json={"jsonrpc": "2.0"}, headers=headers, timeout=10)
            assert answer.status_code == 401
            assert_no_canary(answer.text + json.dumps(dict(answer.headers)), "a 401 answer")
        with http_driver(server.url, CANARY_TOKEN) as driver:
            seen = _exercise(driver, sandbox)
        health = httpx2.get(f"{server.base}/healthz", timeout=10)
        assert_no_canary(health.text, "/healthz")
    log = server.log()
    assert '"request_id"' in log or "request_id" in log  # the request log was written
    assert_no_canary(log, "the sidecar's stderr")
    assert_no_canary("\n".join(seen), "the HTTP results")


def test_stdio_json_logs_never_show_the_key(sandbox: RecordingSandbox, tmp_path: Path) -> None:
    env = server_env(sandbox.base_url, tmp_path, AGENTS_MCP_LOG_JSON="1")
    with McpProcess(env, log_dir=tmp_path) as server:
        _exercise(server, sandbox)
        log = server.stderr()
    lines = [line for line in log.splitlines() if line.strip()]
    assert lines and all(line.startswith("{") for line in lines), lines[:3]
    assert any('"tool": "duplicate_agent"' in line for line in lines)
    assert_no_canary(log, "the JSON log")


def test_embedded_sandbox_mode_never_shows_the_key(tmp_path: Path) -> None:
    """`serve --sandbox` hands the configured key to its own sandbox: still never printed."""
    env = {
        "ELEVENLABS_API_KEY": CANARY_KEY,
        "AGENTS_MCP_AUTH_TOKEN": CANARY_TOKEN,
        "AGENTS_MCP_DATA_DIR": str(tmp_path),
        "AGENTS_MCP_LOG_LEVEL": "DEBUG",
    }
    with McpProcess(env, log_dir=tmp_path, args=("--sandbox",)) as server:
        got = server.call("get_agent_link", {"agent_id": DEMO_AGENT})
        assert not got.is_error, text_of(got)
        got = server.call("get_agent_link", {"agent_id": "agent_missing_0001"})
        assert got.is_error
    assert_no_canary(server.stderr(), "the stderr of serve --sandbox")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AGENTS_MCP_MAX_RETRIES", "lots"),
        ("ELEVENLABS_BASE_URL", f"ftp://{CANARY_KEY}@example"),
        ("ELEVENLABS_API_RESIDENCY", CANARY_KEY),
        ("AGENTS_MCP_TOOLS", f"get_agent_link,{CANARY_TOKEN}"),
    ],
)
@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_startup_errors_never_show_the_secrets(
    variable: str, value: str, transport: str, tmp_path: Path
) -> None:
    """A bad setting stops the server with a message naming the variable, never the secrets
    (even when the bad value is itself a secret pasted in the wrong place)."""
    env = clean_env(
        ELEVENLABS_API_KEY=CANARY_KEY,
        AGENTS_MCP_AUTH_TOKEN=CANARY_TOKEN,
        AGENTS_MCP_DATA_DIR=str(tmp_path),
        **{variable: value},
    )
    done = subprocess.run(
        [sys.executable, "-m", "agents_mcp", "serve", "--transport", transport, "--port", "0"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert done.returncode == 2, done.stderr
    assert variable in done.stderr, done.stderr
    assert_no_canary(done.stdout + done.stderr, f"the start-up error for {variable}")
