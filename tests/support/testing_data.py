"""Invocation JSON in the API's shape, built for the pure testing tests (no I/O)."""

from __future__ import annotations

from typing import Any


def turn(role: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"role": role, "message": message, "time_in_call_secs": 0, **extra}


def tool_turn(tool: str, value: str, *, is_error: bool = False) -> dict[str, Any]:
    return turn(
        "agent",
        "",
        tool_calls=[{"request_id": "r", "tool_name": tool, "params_as_json": "{}"}],
        tool_results=[
            {"request_id": "r", "tool_name": tool, "result_value": value, "is_error": is_error}
        ],
    )


def run(
    test_id: str,
    status: str,
    *,
    messages: list[str] | None = None,
    summary: str | None = None,
    turns: list[dict[str, Any]] | None = None,
    credits: int = 10,
    n: int = 0,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "test_run_id": f"tr_{test_id}_{n}",
        "test_invocation_id": "inv_1",
        "agent_id": "agent_a",
        "test_id": test_id,
        "status": status,
    }
    if status in ("passed", "failed"):
        out["condition_result"] = {
            "result": "success" if status == "passed" else "failure",
            "rationale": {"messages": messages or [], "summary": summary or ""},
        }
        out["agent_responses"] = turns if turns is not None else [turn("agent", "Hello")]
        out["credits_used"] = credits
    return out


def invocation(runs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": "inv_1", "agent_id": "agent_a", "test_runs": runs, **extra}


GREETING = [turn("agent", "Hello, how can I help?"), turn("user", "My order arrived broken.")]


def refund_runs(test_id: str, pattern: str) -> list[dict[str, Any]]:
    """Runs of a refund test: 'p' passes, 'f' fails (the agent refuses at turn 3)."""
    out = []
    for n, mark in enumerate(pattern):
        if mark == "p":
            turns = [*GREETING, turn("agent", "I am sorry, I will refund you right away.")]
            out.append(
                run(
                    test_id,
                    "passed",
                    messages=["The agent offered a refund.", "The agent apologised."],
                    turns=turns,
                    n=n,
                )
            )
        else:
            turns = [*GREETING, turn("agent", "Refunds are not possible, sorry.")]
            out.append(
                run(
                    test_id,
                    "failed",
                    messages=["The agent did not offer a refund.", "The agent apologised."],
                    summary="No refund was offered.",
                    turns=turns,
                    n=n,
                )
            )
    return out
