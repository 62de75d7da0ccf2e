"""`agents-mcp demo` runs the whole product offline and exits 0."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_demo_runs_end_to_end_and_exits_0() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "AGENTS_MCP_"))}
    env["ELEVENLABS_API_KEY"] = "sk_real_key_that_must_not_be_used"  # the demo never needs one
    done = subprocess.run(
        [sys.executable, "-m", "agents_mcp", "demo", "--turn-delay", "0.01"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    copy = re.search(r"Duplicated agent_demo_support -> (agent_\w+)", out)
    assert copy, out
    agent_id = copy.group(1)
    assert f"Talk to it: https://elevenlabs.io/app/talk-to?agent_id={agent_id}" in out
    assert re.search(r"Read it: .*tools lookup_order, create_refund", out), out
    changed = "Changed it (update_agent, confirm=true): conversation_config.agent.prompt."
    assert changed + "temperature: 0.3 -> 0.1" in out
    # not a terminal: one plain line per progress notification
    progress = re.findall(r"^  progress +(\d+): (\d+) turns?", out, re.M)
    assert len(progress) >= 5
    assert [int(p) for p, _ in progress] == list(range(1, len(progress) + 1))
    assert "outcome:" in out and "lookup_order: Order service timed out (503)" in out
    size = re.search(r"Size: ([\d,]+) bytes .* vs ([\d,]+) bytes of raw API response", out)
    assert size, out
    compact, raw = (int(g.replace(",", "")) for g in size.groups())
    assert 0 < compact <= 1_500 < raw
    # then the same scenario with the simulate endpoints off: on the agent-testing API
    tests_part = out[out.index("7. The simulate endpoints are now off") :]
    polls = re.findall(r"^  progress +(\d+): test run 1 (\w+)", tests_part, re.M)
    assert len(polls) >= 2 and polls[-1][1] in ("passed", "failed"), tests_part
    assert "· agent-testing API" in tests_part
    # mocked by tool id (the call's params are shown when the budget has room for them)
    assert re.search(r"lookup_order(\(.*\))?: Order service timed out \(503\)", tests_part)
    assert "ok asked_order_number" in tests_part and "ok confirmed_refund" in tests_part
    tests_size = re.search(r"Size: ([\d,]+) bytes \(text \+ structured content\)\.", tests_part)
    assert tests_size and int(tests_size.group(1).replace(",", "")) <= 1_500, tests_part
    assert f"Deleted the copy {agent_id} (confirm=true)." in out
    assert "sk_real_key_that_must_not_be_used" not in out + done.stderr
