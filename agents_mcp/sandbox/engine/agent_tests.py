"""Playing one agent-test run with the conversation engine, and judging it.

A `simulation` test becomes a simulate request (scenario -> the simulated user's prompt,
success conditions -> evaluation criteria in order, max turns -> turn limit, chat history,
dynamic variables), its tool mocks (by tool id) a resolver the engine asks at each tool call.
`llm` and `tool` tests are short conversations seeded with the chat history's last user message.

Markers the sandbox honours (docs/sandbox.md lists them for test writers):
- in a scenario, `[flaky=P]` (P from 0 to 1): each run passes with probability P, drawn from the
  test id and the repeat index only (the same repeat of the same test always draws the same);
  a losing draw fails the first condition with a reason;
- in a scenario, `[turns=N]`: the user talks for N turns; above `simulation_max_turns` the run
  hits its turn limit and fails with a reason naming the limit;
- in a condition, `[requires: PHRASE]`: met only when the agent's prompt (after any branch or
  `agent_config_override`) contains PHRASE (case-insensitive), whatever the transcript says;
- in a condition, `[success]` / `[failure]` / `[unknown]`: that verdict, as in simulate.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any

from agents_mcp.api import models
from agents_mcp.jsontypes import JSONObject
from agents_mcp.sandbox import engine
from agents_mcp.sandbox.tools import tool_names

FLAKY = re.compile(r"\[\s*flaky\s*=\s*(1(?:\.0*)?|0(?:\.\d+)?|\.\d+)\s*\]", re.I)
REQUIRES = re.compile(r"\[\s*requires\s*:\s*([^\]]+?)\s*\]", re.I)
DEFAULT_MAX_TURNS = 12


def draw(test_id: str, repeat_index: int) -> float:
    """A number in [0, 1) fixed by the test id and the repeat index."""
    digest = hashlib.sha256(f"{test_id}#{repeat_index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def agent_prompt(doc: JSONObject) -> str:
    agent = (doc.get("conversation_config") or {}).get("agent") or {}
    prompt = agent.get("prompt") if isinstance(agent, dict) else None
    text = prompt.get("prompt") if isinstance(prompt, dict) else None
    return text if isinstance(text, str) else ""


def play(test: JSONObject, doc: JSONObject, repeat_index: int) -> JSONObject:
    """The finished run's fields: status, condition_result, agent_responses, credits_used."""
    kind = test.get("type", "llm")
    if kind == "simulation":
        return _simulation(test, doc, repeat_index)
    if kind == "tool":
        return _tool_test(test, doc, repeat_index)
    return _llm_test(test, doc, repeat_index)


# --- simulation tests ------------------------------------------------------------------------


def _conditions(test: JSONObject) -> list[str]:
    found = [c for c in test.get("success_conditions") or [] if isinstance(c, str)]
    single = test.get("success_condition")
    if not found and isinstance(single, str) and single.strip():
        found = [single]
    return found


def _simulation(test: JSONObject, doc: JSONObject, repeat_index: int) -> JSONObject:
    scenario = str(test.get("simulation_scenario") or "")
    flaky = FLAKY.search(scenario)
    max_turns = int(test.get("simulation_max_turns") or DEFAULT_MAX_TURNS)
    conditions = _conditions(test)
    sim = _converse(
        test,
        doc,
        repeat_index,
        scenario=FLAKY.sub("", scenario).strip(),
        conditions=conditions,
        max_turns=max_turns,
    )
    verdicts = _verdicts(sim, conditions, doc)
    notes: list[str] = []
    if flaky and draw(test["id"], repeat_index) >= float(flaky.group(1)) and verdicts:
        verdicts[0] = (
            "failure",
            f"In this run the agent moved on without confirming the user's details, so condition "
            f"1 was not met (the scenario is marked flaky={flaky.group(1)}; repeat "
            f"{repeat_index + 1}).",
        )
    if sim.truncated:
        notes.append(
            f"The simulation reached its turn limit (simulation_max_turns={max_turns}) before "
            "the conversation ended."
        )
    return _finish(verdicts, sim, notes, force_failure=sim.truncated)


def _verdicts(
    sim: engine.Simulation, conditions: list[str], doc: JSONObject
) -> list[tuple[str, str]]:
    results = sim.analysis.get("evaluation_criteria_results") or {}
    prompt = agent_prompt(doc).lower()
    out = []
    for index, condition in enumerate(conditions):
        required = REQUIRES.search(condition)
        if required:
            phrase = required.group(1)
            if phrase.lower() in prompt:
                out.append(("success", f"The agent followed its instruction to {phrase}."))
            else:
                out.append(
                    (
                        "failure",
                        f"The agent did not {phrase}: nothing in its prompt asks it to, and it "
                        "never did in this conversation.",
                    )
                )
            continue
        judged = results.get(f"condition_{index + 1}") or {}
        out.append((str(judged.get("result", "unknown")), str(judged.get("rationale", ""))))
    return out


def _finish(
    verdicts: list[tuple[str, str]],
    sim: engine.Simulation,
    notes: list[str],
    *,
    force_failure: bool = False,
) -> JSONObject:
    failed = [i for i, (result, _) in enumerate(verdicts) if result != "success"]
    passed = not failed and not force_failure and bool(verdicts)
    if passed:
        summary = f"All {len(verdicts)} success conditions were met."
    elif failed:
        shown = ", ".join(str(i + 1) for i in failed)
        summary = f"{len(failed)} of {len(verdicts)} success conditions were not met ({shown})."
    else:
        summary = "The run could not be judged as a success."
    summary = " ".join([*notes, summary])
    turns = sim.turns
    messages = sum(1 for t in turns if t.get("message"))
    return {
        "status": "passed" if passed else "failed",
        "failed_conditions": [i + 1 for i in failed],  # kept by the sandbox, not returned
        "condition_result": {
            "result": "success" if passed else "failure",
            "rationale": {"messages": [why for _, why in verdicts], "summary": summary},
        },
        "agent_responses": turns,
        "credits_used": 40 + 12 * messages,
    }


def _converse(
    test: JSONObject,
    doc: JSONObject,
    repeat_index: int,
    *,
    scenario: str,
    conditions: list[str],
    max_turns: int,
) -> engine.Simulation:
    history = [
        {
            "role": "agent" if h.get("role") == "agent" else "user",
            "message": h.get("message"),
            "time_in_call_secs": int(h.get("time_in_call_secs") or 0),
        }
        for h in test.get("chat_history") or []
        if isinstance(h, dict)
    ]
    variables = {
        str(k): v
        for k, v in (test.get("dynamic_variables") or {}).items()
        if isinstance(v, (str, int, float, bool))
    }
    names = tool_names(doc)
    mocked = _mocked_names(test, names)
    spec: JSONObject = {
        "simulated_user_config": {"prompt": {"prompt": scenario}},
        "tool_mock_config": {name: {} for name in mocked},
    }
    if history:
        spec["partial_conversation_history"] = history
    if variables:
        spec["dynamic_variables"] = variables
    body = {
        "simulation_specification": spec,
        "extra_evaluation_criteria": [
            {
                "id": f"condition_{i + 1}",
                "name": f"Condition {i + 1}",
                "type": "prompt",
                "conversation_goal_prompt": REQUIRES.sub("", c).strip() or c,
            }
            for i, c in enumerate(conditions)
        ],
        "new_turns_limit": max(1, min(max_turns, engine.MAX_TURNS)),
    }
    request = models.SimulateRequest.model_validate(body)
    seed = engine.seed_for(
        str(doc.get("agent_id", "")),
        {"test": test, "repeat": repeat_index, "config": doc.get("conversation_config")},
    )
    return engine.simulate(doc, request, seed, _resolver(test, names, mocked))


def _mocked_names(test: JSONObject, names: dict[str, str]) -> set[str]:
    config = test.get("tool_mock_config") or {}
    strategy = config.get("mocking_strategy") or "none"
    if strategy == "all":
        return set(names.values())
    if strategy == "selected":
        return {names[i] for i in config.get("mocked_tool_ids") or [] if i in names}
    return set()


def _resolver(
    test: JSONObject, names: dict[str, str], mocked: set[str]
) -> engine.MockResolver | None:
    config = test.get("tool_mock_config") or {}
    if config.get("mocking_strategy") != "selected" or not mocked:
        return None  # overrides are ignored under "all", as reported upstream
    by_name = {
        names[tid]: overrides
        for tid, overrides in (test.get("tool_mock_overrides") or {}).items()
        if tid in names
    }
    raise_error = config.get("fallback_strategy") == "raise_error"

    def resolve(name: str, params: JSONObject) -> tuple[str, bool] | None:
        if name not in mocked:
            return None
        for override in by_name.get(name) or []:
            if all(_condition_holds(c, params) for c in override.get("parameter_conditions") or []):
                return str(override.get("mock_result", "")), bool(override.get("is_error"))
        if raise_error:
            shown = json.dumps(params, sort_keys=True)[:200]
            return f"Error: no mock matched this call to {name} (parameters: {shown}).", True
        return None  # fallback_strategy call_real_tool: the tool answers as usual

    return resolve


def _condition_holds(condition: JSONObject, params: JSONObject) -> bool:
    value: Any = params
    for part in str(condition.get("path", "")).split("."):
        if not part:
            continue
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    check = condition.get("eval") or {}
    kind = check.get("type", "anything")
    text = value if isinstance(value, str) else json.dumps(value)
    if kind == "exact":
        return text == str(check.get("expected_value"))
    if kind == "regex":
        try:
            return re.search(str(check.get("pattern", "")), text) is not None
        except re.error:
            return False
    if kind == "llm":
        return bool(text.strip())  # no model to ask: any non-empty value is taken as fitting
    return True


# --- llm and tool tests ----------------------------------------------------------------------


def _last_user_message(test: JSONObject) -> str:
    for turn in reversed(test.get("chat_history") or []):
        if isinstance(turn, dict) and turn.get("role") == "user" and turn.get("message"):
            return str(turn["message"])
    return "Hello, I have a question."


def _llm_test(test: JSONObject, doc: JSONObject, repeat_index: int) -> JSONObject:
    condition = str(test.get("success_condition") or "The agent answers helpfully.")
    short = {k: v for k, v in test.items() if k != "chat_history"}
    sim = _converse(
        short,
        doc,
        repeat_index,
        scenario=_last_user_message(test),
        conditions=[condition],
        max_turns=4,
    )
    return _finish(_verdicts(sim, [condition], doc), sim, [])


def _tool_test(test: JSONObject, doc: JSONObject, repeat_index: int) -> JSONObject:
    expected = test.get("tool_call_parameters") or {}
    names = tool_names(doc)
    ref = (expected.get("referenced_tool") or {}).get("id")
    name = names.get(str(ref)) if ref else None
    short = {k: v for k, v in test.items() if k != "chat_history"}
    sim = _converse(
        short,
        doc,
        repeat_index,
        scenario=_last_user_message(test),
        conditions=[],
        max_turns=6,
    )
    calls = [c for t in sim.turns for c in t.get("tool_calls") or []]
    wanted = [c for c in calls if name is None or c.get("tool_name") == name]
    absent = bool(expected.get("verify_absence"))
    if ref and name is None:
        verdict = ("failure", f"The agent has no tool with id {ref}.")
    elif absent:
        verdict = (
            ("success", f"The agent did not call {name}.")
            if not wanted
            else ("failure", f"The agent called {name}, which it should not have.")
        )
    elif not wanted:
        verdict = ("failure", f"The agent never called {name or 'any tool'}.")
    else:
        params = json.loads(wanted[0].get("params_as_json") or "{}")
        bad = [
            str(c.get("path"))
            for c in expected.get("parameters") or []
            if not _condition_holds(c, params)
        ]
        verdict = (
            ("failure", f"The call to {wanted[0]['tool_name']} had unexpected {', '.join(bad)}.")
            if bad
            else ("success", f"The agent called {wanted[0]['tool_name']} as expected.")
        )
    return _finish([verdict], sim, [])


def run_test_info(test: JSONObject) -> JSONObject:
    """The test as a run reports it (`test_info`): its body without id and name."""
    return copy.deepcopy({k: v for k, v in test.items() if k not in ("id", "name")})
