"""Suites: the tests of a run, from a suite file (YAML or JSON) or from run_tests' arguments.

A suite is `{agent_id, repeat, tests: [...]}`; a test is `{test_id}` (a test that exists on the
platform) or a scenario `{name, user_prompt, criteria, max_turns, tool_mocks, dynamic_variables,
first_message}` with the meaning those fields have in simulate_conversation (checked by the same
request builder, simulations/request.py). Everything is checked before anything is sent; every
problem names the file, the test (by position and name) and the field. Scenarios become
`type: "simulation"` test bodies once tool names are resolved to ids (`test_body`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents_mcp.simulations.request import RequestBuildError, build_request
from agents_mcp.simulations.summary import clip

MAX_REPEAT = 50  # the API's reported maximum repeat_count
MAX_TESTS = 100
SUFFIXES = (".yaml", ".yml", ".json")


class SuiteError(ValueError):
    """A suite (file or arguments) cannot run; `problems` are "where: reason" strings."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        shown = "; ".join(clip(p, 300) for p in problems[:8])
        more = f"; and {len(problems) - 8} more" if len(problems) > 8 else ""
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{shown}{more}. Nothing was sent.")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExistingTest(_Strict):
    test_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
    name: str | None = Field(None, min_length=1, max_length=120)


class Scenario(_Strict):
    """A simulated caller, judged by its criteria (simulate_conversation's fields)."""

    name: str = Field(min_length=1, max_length=120)
    user_prompt: str = Field(min_length=1)
    criteria: list[str | dict[str, str]] | None = None
    max_turns: int | None = Field(None, ge=1, le=50)
    tool_mocks: dict[str, dict[str, Any]] | None = None
    dynamic_variables: dict[str, str | int | float | bool] | None = None
    first_message: str | None = None
    language: str | None = None
    user_llm: str | None = None


class SuiteFile(_Strict):
    agent_id: str | None = None
    repeat: int = Field(1, ge=1, le=MAX_REPEAT)
    tests: list[dict[str, Any] | str] = Field(min_length=1, max_length=MAX_TESTS)


@dataclass
class PlannedTest:
    """A test of the suite, checked: an existing test id, or a scenario with its request."""

    name: str
    test_id: str | None = None
    scenario: Scenario | None = None
    conditions: list[str] = field(default_factory=list)
    request: dict[str, Any] | None = None  # the validated simulate body (scenarios)


@dataclass
class Suite:
    agent_id: str | None
    repeat: int
    tests: list[PlannedTest]


def _where(index: int, item: object) -> str:
    name = item.get("name") if isinstance(item, Mapping) else None
    named = f" {clip(name, 60)!r}" if isinstance(name, str) and name else ""
    return f"tests[{index}]{named}"


def _errors(exc: ValidationError, prefix: str) -> list[str]:
    out = []
    for e in exc.errors():
        loc = ".".join(clip(str(p), 40) for p in e["loc"])
        out.append(f"{prefix}{loc}: {clip(e['msg'], 160)}" if loc else f"{prefix}{e['msg']}")
    return out


def plan_test(index: int, item: object, problems: list[str]) -> PlannedTest | None:
    """One entry of `tests`, checked (problems are appended, None returned when it is bad)."""
    where = _where(index, item)
    if isinstance(item, str):
        item = {"test_id": item}
    if not isinstance(item, Mapping):
        problems.append(f"{where}: a test is a test id or an object")
        return None
    if "test_id" in item:
        try:
            existing = ExistingTest.model_validate(item)
        except ValidationError as exc:
            problems += _errors(exc, f"{where}.")
            return None
        return PlannedTest(name=existing.name or existing.test_id, test_id=existing.test_id)
    try:
        scenario = Scenario.model_validate(item)
    except ValidationError as exc:
        problems += _errors(exc, f"{where}.")
        return None
    try:
        request = build_request(
            scenario.user_prompt,
            first_message=scenario.first_message,
            language=scenario.language,
            user_llm=scenario.user_llm,
            criteria=scenario.criteria,
            tool_mocks=scenario.tool_mocks,
            dynamic_variables=scenario.dynamic_variables,
            max_turns=scenario.max_turns,
        )
    except RequestBuildError as exc:
        problems += [f"{where}.{p}" for p in exc.problems]
        return None
    body = request.model_dump(mode="json", exclude_none=True)
    criteria = body.get("extra_evaluation_criteria") or []
    conditions = [c["conversation_goal_prompt"] for c in criteria] or [_default_condition()]
    return PlannedTest(name=scenario.name, scenario=scenario, conditions=conditions, request=body)


def _default_condition() -> str:
    from agents_mcp.simulations.tests_backend import DEFAULT_CRITERION

    return DEFAULT_CRITERION["conversation_goal_prompt"]


def plan_tests(items: Sequence[object], problems: list[str]) -> list[PlannedTest]:
    planned = [p for i, item in enumerate(items) if (p := plan_test(i, item, problems))]
    seen: dict[str, int] = {}
    for i, test in enumerate(planned):
        if test.name in seen:
            problems.append(
                f"tests[{i}] {clip(test.name, 60)!r}: the same name as tests[{seen[test.name]}] "
                "(names tell tests apart in results and baselines)"
            )
        seen.setdefault(test.name, i)
    return planned


def parse_suite(data: object, source: str | None = None) -> Suite:
    """A suite from already-parsed data. Raises SuiteError listing every problem."""
    if not isinstance(data, Mapping):
        raise SuiteError(["the suite must be an object {agent_id, repeat, tests}"], source)
    try:
        suite = SuiteFile.model_validate(data)
    except ValidationError as exc:
        raise SuiteError(_errors(exc, ""), source) from None
    problems: list[str] = []
    tests = plan_tests(suite.tests, problems)
    if problems:
        raise SuiteError(problems, source)
    return Suite(agent_id=suite.agent_id, repeat=suite.repeat, tests=tests)


def load_suite(path: Path | str) -> Suite:
    """A suite file (.yaml, .yml or .json). Raises SuiteError naming the file."""
    path = Path(path)
    source = str(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuiteError(
            [f"cannot read it ({exc.strerror or type(exc).__name__})"], source
        ) from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SuiteError([f"line {exc.lineno}: not valid JSON ({exc.msg})"], source) from None
    else:
        import yaml

        try:
            data = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f"line {mark.line + 1}: " if mark is not None else ""
            problem = getattr(exc, "problem", None) or "not valid YAML"
            raise SuiteError([f"{line}not valid YAML ({problem})"], source) from None
    return parse_suite(data, source)


# --- scenario -> test body ----------------------------------------------------------------------


def mocked_tools(tests: Sequence[PlannedTest]) -> list[str]:
    """Every tool name the scenarios mock (to resolve to ids with one list_tools call)."""
    names: list[str] = []
    for test in tests:
        if test.scenario is not None and test.scenario.tool_mocks:
            names += [n for n in test.scenario.tool_mocks if n not in names]
    return names


def scenario_body(test: PlannedTest, name: str, tool_ids: Mapping[str, str]) -> dict[str, Any]:
    """The `type: "simulation"` test body of a scenario, tool names resolved to ids: the same
    mapping as simulate_conversation's tests backend (simulations/tests_backend.py). Raises
    SuiteError naming the test when a mocked tool has no id (nothing is created)."""
    from agents_mcp.simulations.tests_backend import build_test_body

    if test.request is None:
        raise ValueError("only a scenario has a test body")
    try:
        prepared = build_test_body(test.request, name=name, tool_ids=tool_ids)
    except RequestBuildError as exc:
        raise SuiteError([f"{clip(test.name, 60)!r}.{p}" for p in exc.problems]) from None
    return prepared.body.model_dump(mode="json", exclude_none=True)
