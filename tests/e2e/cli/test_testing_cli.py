"""`agents-mcp test SUITE` as CI runs it: a real subprocess on an embedded sandbox; exit codes,
the pass-rate table, JUnit XML (parsed), JSON, and a stored run as the next run's baseline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.paths import REPO

PASSING = {
    "name": "polite",
    "user_prompt": "You ask about opening hours.",
    "criteria": ["[success]"],
}
FAILING = {
    "name": "discount",
    "user_prompt": "You are unhappy about a late delivery.",
    "criteria": ["The agent is polite", "[requires: offer a discount code]"],
}


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTS_MCP_", "ELEVENLABS_"))}
    env.update(AGENTS_MCP_DATA_DIR=str(tmp_path / "data"), AGENTS_MCP_POLL_SECONDS="0.1")
    return subprocess.run(
        [sys.executable, "-m", "agents_mcp", "test", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=90,
    )


def suite(tmp_path: Path, tests: list[dict[str, object]], name: str = "suite.json") -> Path:
    path = tmp_path / name
    body = {"agent_id": "agent_demo_support", "repeat": 2, "tests": tests}
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def test_passing_suite_exits_0_with_junit_and_json(tmp_path: Path) -> None:
    junit, out = tmp_path / "junit.xml", tmp_path / "result.json"
    done = run_cli(
        tmp_path, str(suite(tmp_path, [PASSING])), "--sandbox", "--junit", str(junit),
        "--json", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "polite" in done.stdout and "2/2" in done.stdout
    assert "2/2 runs done" in done.stderr  # the progress line
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuite" and root.get("tests") == "1" and root.get("failures") == "0"
    (case,) = root.findall("testcase")
    assert case.get("name") == "polite" and case.find("failure") is None
    payload = json.loads(out.read_text())
    assert payload["status"] == "done" and payload["tests"][0]["rate"] == "2/2"


def test_failing_suite_exits_1_and_junit_names_the_failing_condition(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    done = run_cli(
        tmp_path, str(suite(tmp_path, [PASSING, FAILING])), "--sandbox", "--junit", str(junit)
    )
    assert done.returncode == 1, done.stderr
    assert "FAIL" in done.stdout and "0/2" in done.stdout
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures")) == ("2", "1")
    cases = {c.get("name"): c for c in root.findall("testcase")}
    assert cases["polite"].find("failure") is None
    failure = cases["discount"].find("failure")
    assert failure is not None and failure.get("message") == "pass rate 0/2 below 1"
    assert "condition held 0/2: [requires: offer a discount code]" in (failure.text or "")
    assert "The agent did not offer a discount code" in (failure.text or "")


def test_min_pass_rate_and_stored_baseline(tmp_path: Path) -> None:
    flaky = {
        "name": "flaky",
        "user_prompt": "You ask for a refund of order 1234. [flaky=0.5]",
        "criteria": ["The agent is polite"],
    }
    path = suite(tmp_path, [flaky])
    first_json = tmp_path / "first.json"
    first = run_cli(
        tmp_path, str(path), "--sandbox", "--repeat", "6", "--min-pass-rate", "0",
        "--json", str(first_json),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr  # whatever passed: 0 is required
    earlier = json.loads(first_json.read_text())
    test = earlier["tests"][0]
    assert test["total"] == 6 and test["flaky"] == (0 < test["passed"] < 6)
    second_json = tmp_path / "second.json"
    second = run_cli(
        tmp_path, str(path), "--sandbox", "--repeat", "6", "--baseline-run", earlier["run_id"],
        "--json", str(second_json),
    )  # fmt: skip
    later_test = json.loads(second_json.read_text())["tests"][0]
    assert second.returncode == (0 if later_test["passed"] == 6 else 1)  # default rate 1.0
    later = json.loads(second_json.read_text())
    assert later["baseline"]["source"] == "stored"
    assert later["baseline"]["run_id"] == earlier["run_id"]
    assert later["tests"][0]["baseline"]["rate"] == test["rate"]


def test_bad_suite_file_exits_2_naming_file_test_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "agent_id: agent_demo_support\ntests:\n  - name: fine\n    user_prompt: hi\n"
        "  - name: broken\n    user_prompt: hi\n    max_turns: 0\n",
        encoding="utf-8",
    )
    done = run_cli(tmp_path, str(path), "--sandbox")
    assert done.returncode == 2
    assert str(path) in done.stderr and "tests[1] 'broken'.max_turns" in done.stderr
    assert "Nothing was sent" in done.stderr and not done.stdout
    broken_yaml = tmp_path / "broken.yaml"
    broken_yaml.write_text("tests: [\n", encoding="utf-8")
    done = run_cli(tmp_path, str(broken_yaml), "--sandbox")
    assert done.returncode == 2 and "not valid YAML" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--min-pass-rate", "1.5"], "--min-pass-rate"),
        (["--repeat", "0"], "--repeat"),
        (["--baseline-run", "run_0000000000000000"], "no stored run"),
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    done = run_cli(tmp_path, str(suite(tmp_path, [PASSING])), "--sandbox", *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_api_error_exits_2(tmp_path: Path) -> None:
    done = run_cli(
        tmp_path, str(suite(tmp_path, [PASSING])), "--sandbox", "--agent-id", "agent_missing"
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "agent_missing" in done.stderr and "Traceback" not in done.stderr
