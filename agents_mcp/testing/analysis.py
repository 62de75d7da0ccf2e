"""Pure analysis: the runs of a test invocation -> the per-test facts of the payload.

No I/O. Inputs are the API's JSON as received (tolerant: a field that is missing or of another
type counts as absent). Runs are matched to tests by test id; baselines are matched by test NAME
(ad-hoc tests get new ids on every run). Rules, each a decision a tester would make:
- pass rate: passed / finished runs (pending and cancelled runs are not judged);
- flaky: the finished runs of one test disagree (some passed, some failed);
- conditions: `rationale.messages` is read as one message per condition, in order (the API does
  not document it); a passed run held every condition; in a failed run a message that reads as a
  failure (see `reads_as_failure`) marks its condition failed. This is a heuristic and is said so
  in docs/testing.md;
- divergence: for a flaky test, the first turn at which its first passing and first failing run
  differ (role, text or tools called);
- triage: hints that tell the test's fault (a mock that did not match, a turn timeout, the turn
  limit reached as the rationale says: how the API counts turns is not documented, so turns are
  not counted here; a run with no conversation) from the agent's (tool errors, guardrails,
  conditions missed with no test-side cause). Runs may be in the compact form of
  api/compact_invocation.py: triage reads their turn counts and tool results (a result's first
  2,000 characters) without unpacking; only the divergence unpacks its two runs' transcripts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agents_mcp.api import compact_invocation
from agents_mcp.simulations.summary import clip
from agents_mcp.testing.payload import (
    BaselineRate,
    Change,
    ConditionStat,
    Divergence,
    Failure,
    Hint,
    RunCounts,
    TestSummary,
    Turn,
)

Run = Mapping[str, Any]  # one element of an invocation's test_runs, as the API sent it

REASON_CHARS = 160
TURN_CHARS = 120
HINT_CHARS = 140
MAX_HINTS = 4


@dataclass(frozen=True)
class TestSpec:
    __test__ = False  # not a pytest class
    """A test of a run as we know it: its name, its id upstream, its conditions (in order)."""

    name: str
    test_id: str | None
    conditions: tuple[str, ...] = ()
    max_turns: int | None = None


# --- small readers ------------------------------------------------------------------------------


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def status_of(run: Run) -> str:
    status = run.get("status")
    return status if isinstance(status, str) else "pending"


def finished(run: Run) -> bool:
    return status_of(run) in ("passed", "failed")


def rationale_messages(run: Run) -> list[str]:
    rationale = _dict(_dict(run.get("condition_result")).get("rationale"))
    return [m for m in _list(rationale.get("messages")) if isinstance(m, str)]


def rationale_summary(run: Run) -> str:
    return _text(_dict(_dict(run.get("condition_result")).get("rationale")).get("summary"))


def turns_of(run: Run) -> list[Mapping[str, Any]]:
    """The run's whole transcript (unpacked when the run is in its compact form: read only the
    runs that need it; `turn_count` and `tool_results_of` serve every run cheaply)."""
    return [t for t in compact_invocation.transcript(run) if isinstance(t, Mapping)]


def turn_count(run: Run) -> int:
    return compact_invocation.turn_count(run)


def tool_results_of(run: Run) -> list[tuple[int, Mapping[str, Any]]]:
    """(1-based turn, tool result) of each tool result of the run."""
    return compact_invocation.tool_results(run)


def credits_of(runs: Iterable[Run]) -> int:
    return sum(c for r in runs if isinstance(c := r.get("credits_used"), int))


def rate(passed: int, total: int) -> str:
    return f"{passed}/{total}"


def count_runs(runs: Sequence[Run]) -> RunCounts:
    statuses = [status_of(r) for r in runs]
    return RunCounts(
        total=len(statuses),
        done=sum(s != "pending" for s in statuses),
        passed=statuses.count("passed"),
        failed=statuses.count("failed"),
        cancelled=statuses.count("cancelled"),
    )


def invocation_done(invocation: Mapping[str, Any]) -> bool:
    """Every run is finished and, with repeats, the grouping of results is too."""
    runs = _list(invocation.get("test_runs"))
    if any(status_of(r) == "pending" for r in runs if isinstance(r, Mapping)):
        return False
    return invocation.get("bucketing_status") != "pending" or bool(invocation.get("cancelled"))


def runs_by_test(invocation: Mapping[str, Any] | None, test_id: str | None) -> list[Run]:
    """The runs of one test in the order the API lists them (run 1, 2, ...)."""
    if invocation is None or test_id is None:
        return []
    runs = _list(invocation.get("test_runs"))
    return [r for r in runs if isinstance(r, Mapping) and r.get("test_id") == test_id]


# --- conditions ---------------------------------------------------------------------------------

_PASS_PREFIX = re.compile(r"^\W*(pass(ed)?|met|held|success(ful)?|satisfied|yes|true)\b", re.I)
_FAIL_PREFIX = re.compile(
    r"^\W*(fail(ed|ure)?|not (met|held|satisfied)|unmet|unsatisfied|no|false)\b", re.I
)
_NEGATIVE = re.compile(
    r"\b(not|never|failed|fails|did ?n[o']t|was ?n[o']t|does ?n[o']t|could ?n[o']t|unmet|"
    r"missing|refused|neglected|omitted|ignored|without)\b",
    re.I,
)


def reads_as_failure(message: str) -> bool:
    """Whether a rationale message says its condition failed ("FAIL: ...", "did not ...")."""
    if _PASS_PREFIX.match(message):
        return False
    if _FAIL_PREFIX.match(message):
        return True
    return bool(_NEGATIVE.search(message))


def condition_verdicts(run: Run, count: int) -> list[bool | None]:
    """Per condition (in order): held, failed, or None when the run says nothing about it."""
    status = status_of(run)
    if status == "passed":
        return [True] * count
    if status != "failed":
        return [None] * count
    messages = rationale_messages(run)
    if count == 1 and not messages:
        return [False]
    verdicts: list[bool | None] = [
        (not reads_as_failure(messages[i])) if i < len(messages) else None for i in range(count)
    ]
    if False not in verdicts and len(messages) == count:
        return [None] * count  # failed, yet no message reads as a failure: cannot tell which
    return verdicts


def _condition_texts(spec: TestSpec, runs: Sequence[Run]) -> list[str]:
    if spec.conditions:
        return list(spec.conditions)
    count = max((len(rationale_messages(r)) for r in runs), default=0)
    return [f"condition {i + 1}" for i in range(count)]


# --- divergence ---------------------------------------------------------------------------------


def _turn_key(turn: Mapping[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    message = " ".join(_text(turn.get("message")).lower().split())
    calls = tuple(
        _text(_dict(c).get("tool_name")) for c in _list(turn.get("tool_calls")) if _dict(c)
    )
    return _text(turn.get("role")), message, calls


def _shown(turn: Mapping[str, Any] | None, limit: int) -> Turn | None:
    if turn is None:
        return None
    message = _text(turn.get("message"))
    if not message:
        calls = [_text(_dict(c).get("tool_name")) for c in _list(turn.get("tool_calls"))]
        message = f"(calls {', '.join(c for c in calls if c)})" if any(calls) else ""
    return Turn(role=_text(turn.get("role")) or "?", message=clip(message, limit))


def divergence(runs: Sequence[Run], limit: int = TURN_CHARS) -> Divergence | None:
    """Where the first passing and the first failing run of a test first differ."""
    passing = next((i for i, r in enumerate(runs) if status_of(r) == "passed"), None)
    failing = next((i for i, r in enumerate(runs) if status_of(r) == "failed"), None)
    if passing is None or failing is None:
        return None
    a, b = turns_of(runs[passing]), turns_of(runs[failing])
    for index in range(max(len(a), len(b))):
        ta = a[index] if index < len(a) else None
        tb = b[index] if index < len(b) else None
        if ta is None or tb is None or _turn_key(ta) != _turn_key(tb):
            return Divergence(
                turn=index + 1,
                passing=_shown(ta, limit),
                failing=_shown(tb, limit),
                passing_run=passing + 1,
                failing_run=failing + 1,
            )
    return None  # the same conversation, judged differently: the evaluation itself disagrees


# --- triage -------------------------------------------------------------------------------------

_NO_MOCK = re.compile(r"no mock matched|no matching mock|not mocked|no mock (was )?found", re.I)
_TIMEOUT = re.compile(r"timed? ?out|timeout", re.I)
_TURN_LIMIT = re.compile(r"turn limit|max(imum)?[ _](number of )?turns|ran out of turns", re.I)


def _result_text(result: Mapping[str, Any]) -> str:
    value = result.get("result_value")
    return value if isinstance(value, str) else clip(value, 400) if value is not None else ""


def run_hints(run: Run, spec: TestSpec) -> list[Hint]:
    """What one run shows about whose fault a failure is."""
    hints: list[Hint] = []
    for t, result in tool_results_of(run):
        tool = _text(result.get("tool_name")) or "a tool"
        text = _result_text(result)
        if _NO_MOCK.search(text):
            hints.append(Hint(kind="test", hint=f"no mock matched for {tool} (turn {t})"))
        elif _TIMEOUT.search(text):
            hints.append(Hint(kind="test", hint=f"{tool} timed out (turn {t})"))
        elif result.get("is_error") is True:
            hints.append(Hint(kind="agent", hint=f"{tool} failed (turn {t}): {clip(text, 70)}"))
    status = status_of(run)
    if status != "failed":
        return hints
    said = " ".join([*rationale_messages(run), rationale_summary(run)])
    if not turn_count(run):
        hints.append(Hint(kind="test", hint="no conversation: a stale or unattached test?"))
    elif _TURN_LIMIT.search(said):  # said by the evaluation: turn counts are not comparable
        limit = f" ({spec.max_turns})" if spec.max_turns is not None else ""
        hints.append(Hint(kind="test", hint=f"hit the turn limit{limit}: raise max_turns"))
    elif _TIMEOUT.search(said):
        hints.append(Hint(kind="test", hint="a turn timed out"))
    if _list(run.get("triggered_guardrails")):
        hints.append(Hint(kind="agent", hint="triggered guardrails"))
    return hints


def _runs(numbers: list[int]) -> str:
    return f"run {numbers[0]}" if len(numbers) == 1 else f"runs {','.join(map(str, numbers))}"


def triage(runs: Sequence[Run], spec: TestSpec, limit: int = HINT_CHARS) -> list[Hint]:
    """Distinct hints over a test's runs, each naming its runs; test faults first; then one
    agent hint for the failed runs that no test-side cause explains."""
    found: dict[tuple[str, str], list[int]] = {}
    unexplained: list[int] = []
    for index, run in enumerate(runs, start=1):
        hints = run_hints(run, spec)
        if status_of(run) == "failed" and not any(h["kind"] == "test" for h in hints):
            unexplained.append(index)
        for hint in hints:
            found.setdefault((hint["kind"], hint["hint"]), []).append(index)
    out = [
        Hint(kind="test" if kind == "test" else "agent", hint=f"{_runs(numbers)}: {text}")
        for (kind, text), numbers in sorted(found.items(), key=lambda item: item[0][0] != "test")
    ]
    if unexplained:
        out.append(Hint(kind="agent", hint=f"{_runs(unexplained)} failed with no test-side cause"))
    if len(out) > MAX_HINTS:  # keep the agent summary line, drop the middle
        out = [*out[: MAX_HINTS - 1], out[-1]]
    return [Hint(kind=h["kind"], hint=clip(h["hint"], limit)) for h in out]


# --- one test -----------------------------------------------------------------------------------


def failures(
    runs: Sequence[Run],
    conditions: Sequence[str],
    limit: int = REASON_CHARS,
    condition_chars: int = 80,
) -> list[Failure]:
    """One entry per failed condition of each failed run (or one per run when none is known)."""
    out: list[Failure] = []
    for index, run in enumerate(runs, start=1):
        if status_of(run) != "failed":
            continue
        messages = rationale_messages(run)
        verdicts = condition_verdicts(run, len(conditions))
        failed = [i for i, v in enumerate(verdicts) if v is False]
        for i in failed:
            reason = messages[i] if i < len(messages) else rationale_summary(run)
            text = clip(conditions[i], condition_chars)
            out.append(Failure(run=index, condition=text, reason=clip(reason, limit)))
        if not failed:
            reason = rationale_summary(run) or "; ".join(messages) or "failed (no rationale given)"
            out.append(Failure(run=index, condition=None, reason=clip(reason, limit)))
    return out


def compare(passed: int, total: int, base: BaselineRate | None) -> Change | None:
    if base is None:
        return None
    if total == 0 and base["total"] == 0:
        return None  # nothing finished on either side yet: nothing to compare
    if total == 0 or base["total"] == 0:
        return "new" if base["total"] == 0 else None
    mine, theirs = passed * base["total"], base["passed"] * total  # cross-multiplied rates
    return "improved" if mine > theirs else "regressed" if mine < theirs else "same"


def baseline_rate(runs: Sequence[Run]) -> BaselineRate:
    done = [r for r in runs if finished(r)]
    passed = sum(status_of(r) == "passed" for r in done)
    return BaselineRate(passed=passed, total=len(done), rate=rate(passed, len(done)))


def summarize_test(
    spec: TestSpec,
    runs: Sequence[Run],
    baseline: BaselineRate | None = None,
    has_baseline: bool = False,
    *,
    reason_chars: int = REASON_CHARS,
    turn_chars: int = TURN_CHARS,
    hint_chars: int = HINT_CHARS,
    condition_chars: int = 80,
) -> TestSummary:
    """The facts of one test over its runs. `has_baseline`: a baseline exists for the run (a
    test missing from it is "new")."""
    done = [r for r in runs if finished(r)]
    passed = sum(status_of(r) == "passed" for r in done)
    texts = _condition_texts(spec, runs)
    stats: list[ConditionStat] = []
    for i, text in enumerate(texts):
        verdicts = [condition_verdicts(r, len(texts))[i] for r in done]
        judged = [v for v in verdicts if v is not None]
        stats.append(
            ConditionStat(text=clip(text, condition_chars), held=sum(judged), total=len(judged))
        )
    flaky = 0 < passed < len(done)
    change: Change | None = None
    delta = None
    if baseline is not None:
        change = compare(passed, len(done), baseline)
        delta = f"{baseline['rate']} → {rate(passed, len(done))}"
    elif has_baseline and (done or not runs):  # runs still pending are not "new" yet
        change = "new"
    summary = TestSummary(
        name=spec.name,
        test_id=spec.test_id,
        passed=passed,
        total=len(done),
        rate=rate(passed, len(done)),
        flaky=flaky,
        conditions=stats,
        failures=failures(runs, texts, reason_chars, condition_chars),
        baseline=baseline,
        delta=delta,
        change=change,
        divergence=divergence(runs, turn_chars) if flaky else None,
        triage=triage(runs, spec, hint_chars),
    )
    pending = sum(status_of(r) == "pending" for r in runs)
    if pending:
        summary["pending"] = pending
    return summary


def ordered(tests: list[TestSummary]) -> list[TestSummary]:
    """Regressions first, then failing and flaky tests, then the rest (stable within each)."""

    def rank(t: TestSummary) -> int:
        if t["change"] == "regressed":
            return 0
        if t["passed"] < t["total"]:
            return 1
        return 2

    return sorted(tests, key=rank)
