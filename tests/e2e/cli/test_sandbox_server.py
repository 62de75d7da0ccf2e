"""Running the sandbox: as a task in the current loop, in a thread, as the `agents-mcp sandbox`
command; agents kept in a data directory; demo agents packaged with the wheel."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tomllib

import httpx2
import pytest

from agents_mcp.sandbox import SandboxServer
from agents_mcp.sandbox.app import demo_agent_files
from tests.support.paths import REPO

ROOT = REPO


@pytest.mark.anyio
async def test_async_with_runs_in_the_current_loop_and_leaves_signals_alone():
    before = signal.getsignal(signal.SIGINT)
    async with SandboxServer(api_key="k") as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        async with httpx2.AsyncClient(base_url=server.base_url, headers={"xi-api-key": "k"}) as c:
            r = await c.post(
                "/v1/convai/agents/agent_demo_support/simulate-conversation/stream",
                json={"simulation_specification": {"simulated_user_config": {}}},
            )
            assert r.status_code == 200 and r.text.count("\n") > 5
        assert signal.getsignal(signal.SIGINT) is before
        url = server.base_url
    async with httpx2.AsyncClient() as c:
        with pytest.raises(httpx2.ConnectError):
            await c.get(url + "/v1/convai/agents")


def test_thread_mode_starts_and_stops():
    with SandboxServer() as server:
        url = server.base_url
        r = httpx2.get(url + "/v1/convai/agents", headers={"xi-api-key": server.api_key})
        assert r.status_code == 200 and len(r.json()["agents"]) == 3
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(url + "/v1/convai/agents")


def test_agents_persist_in_the_data_dir(tmp_path):
    with SandboxServer(data_dir=tmp_path) as server:
        h = {"xi-api-key": server.api_key}
        made = httpx2.post(
            server.base_url + "/v1/convai/agents/create",
            headers=h,
            json={"name": "Kept", "conversation_config": {}},
        ).json()["agent_id"]
        httpx2.delete(server.base_url + "/v1/convai/agents/agent_demo_booking", headers=h)
    assert (tmp_path / "sandbox-agents.sqlite3").exists()
    with SandboxServer(data_dir=tmp_path) as server:
        h = {"xi-api-key": server.api_key}
        names = [
            a["name"]
            for a in httpx2.get(server.base_url + "/v1/convai/agents", headers=h).json()["agents"]
        ]
        assert "Kept" in names
        assert (
            httpx2.get(f"{server.base_url}/v1/convai/agents/{made}", headers=h).status_code == 200
        )
        # Demo agents are always there at start (a deleted one comes back).
        assert (
            httpx2.get(
                server.base_url + "/v1/convai/agents/agent_demo_booking", headers=h
            ).status_code
            == 200
        )
    with SandboxServer() as server:  # no data dir: memory only
        h = {"xi-api-key": server.api_key}
        assert (
            httpx2.get(f"{server.base_url}/v1/convai/agents/{made}", headers=h).status_code == 404
        )


def test_cli_serves_and_writes_nothing_to_stdout(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ELEVENLABS_API_KEY"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agents_mcp",
            "sandbox",
            "--port",
            "0",
            "--data",
            str(tmp_path),
            "--turn-delay",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        line = proc.stderr.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+) \(xi-api-key: (\S+);", line)
        assert match, line
        url, key = match.groups()
        assert key == "sk_sandbox_local_key"
        r = httpx2.get(
            url + "/v1/convai/agents/agent_demo_support/link", headers={"xi-api-key": key}
        )
        assert r.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    assert out == ""
    assert "Traceback" not in err and "stopped" in err


def test_cli_never_prints_a_real_key(tmp_path):
    env = {**os.environ, "ELEVENLABS_API_KEY": "sk_real_secret_value"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agents_mcp", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        line = proc.stderr.readline()
        assert "sk_real_secret_value" not in line
        assert "the value of ELEVENLABS_API_KEY" in line
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    assert "sk_real_secret_value" not in out + err


def test_busy_port_is_a_clear_error():
    with SandboxServer() as server:
        proc = subprocess.run(
            [sys.executable, "-m", "agents_mcp", "sandbox", "--port", str(server.port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert proc.returncode == 2 and "cannot listen" in proc.stderr and proc.stdout == ""


def test_demo_agents_are_packaged_into_the_wheel():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    mapping = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert mapping["config/agents"] == "agents_mcp/sandbox/demo_agents"
    names = {p.name for p in demo_agent_files()}
    assert {"agent_demo_support.json", "agent_demo_booking.json", "agent_demo_faq.json"} <= names
