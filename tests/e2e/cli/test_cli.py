"""The command line as a user runs it: `python -m agents_mcp ...` in a subprocess."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import httpx2

SIMULATE = {
    "simulation_specification": {
        "simulated_user_config": {"prompt": {"prompt": "You want a refund [turns=6]"}}
    }
}


def test_version_and_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "agents_mcp", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and re.fullmatch(r"agents-mcp \d+\.\d+\.\d+\s*", out.stdout)
    help_text = subprocess.run(
        [sys.executable, "-m", "agents_mcp", "--help"], capture_output=True, text=True
    ).stdout
    for command in ("serve", "sandbox", "demo"):
        assert command in help_text


def test_sandbox_max_concurrent_answers_429_past_the_limit() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ELEVENLABS_API_KEY"}
    cmd = [sys.executable, "-m", "agents_mcp", "sandbox", "--port", "0"]
    cmd += ["--max-concurrent", "1", "--turn-delay", "0.3"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        line = proc.stderr.readline()
        match = re.search(r"listening on (http://\S+:\d+) \(xi-api-key: (\S+);", line)
        assert match, line
        url, key = match.groups()
        path = f"{url}/v1/convai/agents/agent_demo_support/simulate-conversation"
        headers = {"xi-api-key": key}
        with httpx2.Client(timeout=10) as client:
            with client.stream("POST", path + "/stream", json=SIMULATE, headers=headers) as first:
                assert first.status_code == 200
                second = client.post(path, json=SIMULATE, headers=headers)
                assert second.status_code == 429
                assert second.json()["detail"]["status"] == "too_many_concurrent_requests"
                first.read()
            # the slot is free again once the stream has ended
            assert client.post(path, json=SIMULATE, headers=headers).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)
