"""The official MCP conformance suite (@modelcontextprotocol/conformance, `conformance server`)
against the HTTP sidecar on loopback, offline on the embedded sandbox.

Every scenario must pass except those in conformance-baseline.yml (beside this file), which need
the suite's own fixture tools, resources and prompts (the suite itself fails on a new failure and
on a stale baseline entry). Node 22 and the suite come from scripts/ci_node.sh
(tests/support/node_tools.py).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.support.http_sidecar import Sidecar, clean_env
from tests.support.node_tools import node_env, node_tool

BASELINE = Path(__file__).with_name("conformance-baseline.yml")
TIMEOUT = 180
# The scenarios this server implements for real: they must pass, whatever the baseline says.
MUST_PASS = (
    "server-initialize",
    "ping",
    "logging-set-level",
    "completion-complete",
    "tools-list",
    "tools-call-error",
    "resources-list",
    "prompts-list",
    "dns-rebinding-protection",
)


def baseline_entries() -> dict[str, str]:
    """scenario -> reason, from the `  - scenario   # reason` lines of the baseline."""
    entries = {}
    for line in BASELINE.read_text(encoding="utf-8").splitlines():
        found = re.fullmatch(r"\s+-\s+([a-z0-9-]+)\s+#\s+(.+)", line)
        if found:
            entries[found.group(1)] = found.group(2)
    return entries


def test_baseline_lists_only_scenarios_that_need_the_suites_fixtures():
    entries = baseline_entries()
    assert entries, "the baseline lists nothing: the parser or the file changed"
    for scenario, reason in entries.items():
        assert "fixture" in reason, f"{scenario}: the reason must name the suite's fixture"
        assert scenario not in MUST_PASS


def test_conformance_suite_against_the_sidecar(tmp_path):
    conformance = node_tool("conformance")
    env = clean_env(AGENTS_MCP_DATA_DIR=str(tmp_path / "data"))
    out = tmp_path / "results"
    with Sidecar.serve("--sandbox", env=env) as sidecar:
        proc = subprocess.run(
            [
                str(conformance),
                "server",
                "--url",
                sidecar.url,
                "--expected-failures",
                str(BASELINE),
                "-o",
                str(out),
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=node_env(NO_COLOR="1"),
        )
        server_log = sidecar.log()
    report = proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, f"{report}\n--- sidecar log ---\n{server_log[-3000:]}"
    assert "Baseline check passed" in proc.stdout, report

    # the suite wrote one checks.json per scenario: the ones we implement all passed
    statuses: dict[str, set[str]] = {}
    for checks in out.glob("*/checks.json"):
        scenario = re.sub(r"^server-|-\d{4}-\d{2}-\d{2}T[\d-]+Z$", "", checks.parent.name)
        statuses[scenario] = {c["status"] for c in json.loads(checks.read_text())}
    for scenario in MUST_PASS:
        assert statuses.get(scenario) == {"SUCCESS"}, (scenario, statuses.get(scenario), report)
    assert set(baseline_entries()) <= set(statuses)  # every baselined scenario still runs
