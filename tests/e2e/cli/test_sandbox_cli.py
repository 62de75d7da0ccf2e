"""`agents-mcp sandbox --legacy-simulate off --run-delay S`, run as a user runs it (subprocess)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx2


def test_sandbox_cli_removes_simulate_and_paces_test_runs() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ELEVENLABS_API_KEY"}
    cmd = [sys.executable, "-m", "agents_mcp", "sandbox", "--port", "0"]
    cmd += ["--legacy-simulate", "off", "--run-delay", "0.4"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        line = proc.stderr.readline()
        match = re.search(r"listening on (http://\S+:\d+) \(xi-api-key: (\S+);", line)
        assert match, line
        assert "test runs take 0.4s" in line and "simulate-conversation removed" in line
        url, key = match.groups()
        with httpx2.Client(base_url=url, headers={"xi-api-key": key}, timeout=10) as client:
            agent = "/v1/convai/agents/agent_demo_support"
            gone = client.post(agent + "/simulate-conversation", json={})
            assert (gone.status_code, gone.json()) == (404, {"detail": "Not Found"})
            assert client.get("/_sandbox/config").json()["run_delay"] == 0.4
            test = {
                "type": "simulation",
                "name": "refund",
                "simulation_scenario": "You want a refund for order NW-12345.",
                "success_conditions": ["The agent stays polite"],
            }
            test_id = client.post("/v1/convai/agent-testing/create", json=test).json()["id"]
            started = time.monotonic()
            inv = client.post(agent + "/run-tests", json={"tests": [{"test_id": test_id}]}).json()
            path = f"/v1/convai/test-invocations/{inv['id']}"
            statuses = [client.get(path).json()["test_runs"][0]["status"]]
            while statuses[-1] == "pending" and time.monotonic() - started < 10:
                time.sleep(0.05)
                statuses.append(client.get(path).json()["test_runs"][0]["status"])
            assert statuses[0] == "pending" and statuses[-1] == "passed"
            assert time.monotonic() - started >= 0.4
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)
