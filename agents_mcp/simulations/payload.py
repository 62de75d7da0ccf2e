"""The structured content of simulate_conversation / get_simulation: TypedDicts only.

One payload per detail level (built by summary.py and views.py beside this): the summary carries
machine fields only (ids, statuses, verdicts, counts, typed data values, the polling call while
it runs; the prose is in the text), the transcript and full views carry one page each. A
contract shared with the viewer and the HTML report (agents_mcp/report): fields may be ADDED,
never renamed.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict, final

from agents_mcp.simulations.record import Backend, Status

# An upstream verdict ("success", "failure", "unknown"), or "not evaluated" for a criterion that
# was asked for and never judged.
Verdict = str
DataValue = int | float | bool | str  # numbers and booleans kept, anything else clipped text


class CriterionVerdict(TypedDict):
    id: str
    result: Verdict
    guessed: NotRequired[bool]  # read from the wording of the rationale (tests backend)


class ToolErrorRef(TypedDict):
    turn: int  # 0-based index of the turn holding the failed result
    tool: str


class ToolStats(TypedDict):
    calls: int
    failed: int
    errors: NotRequired[list[ToolErrorRef]]  # the first MAX_TOOL_ERRORS failures
    more_errors: NotRequired[int]  # failures beyond those


class LLMUsage(TypedDict):
    tokens: int
    cost: float  # USD, rounded to 6 places


class SimulationSummary(TypedDict):
    """detail="summary"."""

    simulation_id: str
    status: Status
    agent_id: str
    backend: Backend
    outcome: NotRequired[str]  # the analysis' call_successful, once there is one
    criteria: NotRequired[list[CriterionVerdict]]  # failures first
    data: NotRequired[dict[str, DataValue]]
    turns: dict[str, int]  # {"total": n, "<role>": n, ...}
    tools: NotRequired[ToolStats]  # only when a tool was called
    llm: NotRequired[LLMUsage]
    credits_used: NotRequired[int | float]
    next: NotRequired[str]  # the polling call, while the simulation runs


@final
class ToolCallItem(TypedDict):
    call: str  # the tool's name
    params: str  # clipped JSON


@final
class ToolResultItem(TypedDict):
    result: str  # the tool's name
    value: str  # clipped
    error: NotRequired[bool]


class TranscriptTurn(TypedDict):
    i: int  # 0-based turn index
    role: str
    text: NotRequired[str]  # clipped message
    tools: NotRequired[list[ToolCallItem | ToolResultItem]]
    interrupted: NotRequired[bool]


class SimulationTranscript(TypedDict):
    """detail="transcript": one page of condensed turns."""

    simulation_id: str
    status: Status
    detail: Literal["transcript"]
    page: int
    pages: int
    turns_total: int
    turns: list[TranscriptTurn]
    next: NotRequired[str]  # the next page, or the same page again while running


class SimulationFull(TypedDict):
    """detail="full": one page of the raw result JSON (the pages concatenate)."""

    simulation_id: str
    status: Status
    detail: Literal["full"]
    page: int
    pages: int
    chars: int
    bytes: int
    json: str
    next: NotRequired[str]


SimulationPayload = SimulationSummary | SimulationTranscript | SimulationFull
