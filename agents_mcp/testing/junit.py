"""JUnit XML of a test run, for CI (pure: payload in, XML text out).

One <testsuite> named after the run, one <testcase> per test (classname: the agent). A test
below the required pass rate gets a <failure> whose message is its pass rate and whose text lists
the failing conditions with reasons and the triage hints; a test with no finished run is
<skipped>. Properties record the run id, the agent, the branch and the baseline.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from agents_mcp.testing.payload import TestRunPayload, TestSummary


def meets(test: TestSummary, min_pass_rate: float) -> bool:
    """Whether a test reached the pass rate (a test with no finished run does not)."""
    return test["total"] > 0 and test["passed"] >= min_pass_rate * test["total"] - 1e-9


def _failure_text(test: TestSummary) -> str:
    lines = []
    for stat in test["conditions"]:
        if stat["held"] < stat["total"]:
            lines.append(f"condition held {stat['held']}/{stat['total']}: {stat['text']}")
    for failure in test["failures"]:
        lines.append(f"run {failure['run']}: {failure['reason']}")
    for hint in test["triage"]:
        lines.append(f"[{hint['kind']}] {hint['hint']}")
    if test["delta"]:
        lines.append(f"baseline: {test['delta']} ({test['change']})")
    return "\n".join(lines)


def junit_xml(payload: TestRunPayload, min_pass_rate: float = 1.0) -> str:
    tests = payload["tests"]
    failures = sum(1 for t in tests if t["total"] and not meets(t, min_pass_rate))
    skipped = sum(1 for t in tests if not t["total"])
    suite = ET.Element(
        "testsuite",
        name=f"agents-mcp {payload['run_id']}",
        tests=str(len(tests)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
    )
    props = ET.SubElement(suite, "properties")
    facts = {
        "run_id": payload["run_id"],
        "agent_id": payload["agent_id"],
        "branch_id": payload["branch_id"] or "",
        "repeat": str(payload["repeat"]),
        "status": payload["status"],
        "credits_used": str(payload["credits_used"]),
        "min_pass_rate": f"{min_pass_rate:g}",
    }
    baseline = payload["baseline"]
    if baseline is not None:
        facts["baseline"] = baseline["run_id"] or f"live {baseline['agent_id']}"
    for key, value in facts.items():
        ET.SubElement(props, "property", name=key, value=value)
    for test in tests:
        case = ET.SubElement(
            suite, "testcase", classname=payload["agent_id"], name=test["name"], time="0"
        )
        if not test["total"]:
            ET.SubElement(case, "skipped", message="no finished run")
        elif not meets(test, min_pass_rate):
            failure = ET.SubElement(
                case,
                "failure",
                message=f"pass rate {test['rate']} below {min_pass_rate:g}",
                type="PassRate",
            )
            failure.text = _failure_text(test)
        out = ET.SubElement(case, "system-out")
        out.text = f"{test['rate']} passed" + (" (flaky)" if test["flaky"] else "")
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
