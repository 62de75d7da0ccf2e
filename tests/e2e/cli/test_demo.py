"""`agents-mcp demo` tells the whole testing loop offline and exits 0.

One real run (sandbox over HTTP, the server as a subprocess over stdio); the assertions read the
story's facts from its output: the compact views and their sizes, the pass-rate deltas of the
baseline vs the candidate, the flaky test, the promotion (diff first, then confirmed), the switch
to the agent-testing API, and the copy deleted.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.support.paths import REPO

REAL_KEY = "sk_real_key_that_must_not_be_used"


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _part(out: str, start: str, end: str) -> str:
    """The output of one step: from its heading to the next step's."""
    assert start in out and end in out, out
    return out[out.index(start) : out.index(end)]


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "AGENTS_MCP_"))}
    env["ELEVENLABS_API_KEY"] = REAL_KEY  # the demo never needs one
    return subprocess.run(
        [sys.executable, "-m", "agents_mcp", "demo", "--turn-delay", "0.01"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_demo_exits_0_and_never_shows_the_key(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert REAL_KEY not in demo.stdout + demo.stderr
    assert re.search(r"^Done in [\d.]+s\.$", demo.stdout, re.M)


def test_demo_reads_the_copy_compactly(demo: subprocess.CompletedProcess[str]) -> None:
    out = demo.stdout
    copy = re.search(r"Duplicated agent_demo_support -> (agent_\w+)", out)
    assert copy, out
    agent_id = copy.group(1)
    assert f"Talk to it: https://elevenlabs.io/app/talk-to?agent_id={agent_id}" in out
    read = re.search(r"Read it \(get_agent\): ([\d,]+) B vs ([\d,]+) chars of raw config", out)
    assert read, out
    assert _number(read.group(1)) * 4 < _number(read.group(2))
    assert re.search(r"tools lookup_order, create_refund, show_order_summary, end_call", out)
    assert re.search(r'Prompt \([\d,]+ chars, clipped\): "You are Ava', out)


def test_demo_simulates_one_call_with_progress(demo: subprocess.CompletedProcess[str]) -> None:
    part = _part(demo.stdout, "5. One simulated call", "6. ")
    # not a terminal: one plain line per progress notification, numbered from 1
    progress = re.findall(r"^  progress +(\d+): (\d+) turns?", part, re.M)
    assert len(progress) >= 5
    assert [int(p) for p, _ in progress] == list(range(1, len(progress) + 1))
    assert "outcome:" in part
    # the call's params are shown when the budget has room for them
    assert re.search(r"lookup_order(\(.*\))?: Order service timed out \(503\)", part), part
    size = re.search(r"Size: ([\d,]+) B \(text \+ structured content\) vs ([\d,]+) B raw", part)
    assert size, part
    compact, raw = (_number(g) for g in size.groups())
    assert 0 < compact <= 1_500 < raw


def test_demo_compares_baseline_and_candidate(demo: subprocess.CompletedProcess[str]) -> None:
    part = _part(demo.stdout, "6. One call proves little", "7. ")
    assert "+ When a delivery is late, apologise and offer a discount code" in part
    polls = re.findall(r"^  progress +\d+: (\d+)/(\d+) runs done", part, re.M)
    assert len(polls) >= 2 and polls[-1] == ("24", "24"), part  # 3 tests x 4 repeats x 2 sides
    assert re.search(r"Test run run_[0-9a-f]{16} done: 12/12 runs done", part), part
    assert "Baseline (live): agent agent_" in part
    # the delta: the candidate fixes the test that needs the phrase, changes nothing else
    assert "✓ late parcel: goodwill code: 0/4 → 4/4 (improved)" in part
    assert "✓ refund for a torn jacket: 4/4 → 4/4 (same)" in part
    flaky = "✗ Gives the new delivery date (flaky): 3/4 → 3/4 (same, flaky)"
    assert flaky in part
    tail = part[part.index(flaky) :]
    assert re.search(r"runs \d \(pass\) and \d \(fail\) diverge at turn \d+", tail), tail
    assert re.search(r"^   +\[(agent|test)\] run", tail, re.M), tail  # a triage hint
    size = re.search(r"Size: ([\d,]+) B \(text \+ structured content\) vs ([\d,]+) B", part)
    assert size, part
    compact, raw = (_number(g) for g in size.groups())
    assert compact <= 3_000 and raw > 50 * compact
    assert (
        "So: improved late parcel: goodwill code (0/4 → 4/4); regressed nothing; flaky on both "
        "sides: Gives the new delivery date (flaky)." in part
    )


def test_demo_promotes_the_candidate_diff_first(demo: subprocess.CompletedProcess[str]) -> None:
    out = demo.stdout
    part = _part(out, "7. Promote what passed", "8. ")
    run_id = re.search(r"Test run (run_[0-9a-f]{16}) done", out)
    assert run_id, out
    asked = f"update_agent(from_run_id='{run_id.group(1)}') shows the change first"
    assert asked + " (needs_confirmation):" in part
    assert re.search(r"conversation_config\.agent\.prompt\.prompt: 12794 -> 128\d\d chars", part)
    assert "+When a delivery is late, apologise and offer a discount code" in part
    assert part.index(asked) < part.index(
        "Then confirm=true: updated conversation_config.agent.prompt.prompt; "
        "every other field kept."
    )


def test_demo_switches_to_agent_testing_and_deletes_the_copy(
    demo: subprocess.CompletedProcess[str],
) -> None:
    out = demo.stdout
    part = _part(out, "8. Simulate endpoints off", "9. ")
    polls = re.findall(r"^  progress +(\d+): test run 1 (\w+)", part, re.M)
    assert len(polls) >= 2 and polls[-1][1] in ("passed", "failed"), part
    assert "· agent-testing API" in part
    # mocked by tool id (the call's params are shown when the budget has room for them)
    assert re.search(r"lookup_order(\(.*\))?: Order service timed out \(503\)", part), part
    assert re.search(r"ok asked_order_number — .+, ok confirmed_refund — ", part), part
    size = re.search(r"Size: ([\d,]+) B \(text \+ structured content\)\.", part)
    assert size and _number(size.group(1)) <= 1_500, part
    agent_id = re.search(r"Duplicated agent_demo_support -> (agent_\w+)", out)
    assert agent_id and f"9. Deleted the copy {agent_id.group(1)} (confirm=true)." in out
