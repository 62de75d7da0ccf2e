"""Pydantic models of the agent-testing API (the successor of simulate-conversation) and of
`GET /v1/convai/tools`.

Hand-written from the official SDK 2.78.0 types (CreateSimulationTestRequest,
CreateResponseUnitTestRequest, CreateToolCallUnitTestRequest, SingleTestRunRequestModel,
GetTestSuiteInvocationResponseModel, UnitTestRunResponseModel, ToolsResponseModel, ...).
Requests are strict (unknown fields are errors, checked before sending); responses are tolerant
(unknown fields kept, enum-like fields plain strings), as in models.py.
Classes named Test* set ``__test__ = False`` so pytest never mistakes them for test classes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, RootModel

from agents_mcp.api.models import ResponseModel
from agents_mcp.api.request_models import ConversationHistoryTranscriptCommonModelInput
from agents_mcp.api.strict import StrictModel
from agents_mcp.jsontypes import JSONObject

__all__ = [
    "AgentConfigOverride",
    "ConditionResult",
    "CreatedTest",
    "InvocationSummary",
    "InvocationsPage",
    "LLMTestBody",
    "Rationale",
    "ResubmitRequest",
    "RunTestsRequest",
    "SimulationTestBody",
    "TestBody",
    "TestDetails",
    "TestInvocation",
    "TestRef",
    "TestRun",
    "TestSummary",
    "TestsPage",
    "ToolCallTestBody",
    "ToolInfo",
    "ToolMockBehavior",
    "ToolMockOverride",
    "ToolsPage",
]

DynamicValue = str | int | float | bool
PENDING = "pending"

# --- requests (strict) -------------------------------------------------------------------------


class ToolMockBehavior(StrictModel):
    """Which tools a simulation test mocks, by tool id (an object, not a list)."""

    mocking_strategy: Literal["all", "selected", "none"] | None = None
    fallback_strategy: Literal["call_real_tool", "raise_error"] | None = None
    mocked_tool_ids: list[str] | None = None


class ToolMockOverride(StrictModel):
    """One mocked answer of a tool; no parameter conditions means it always matches."""

    parameter_conditions: list[JSONObject] | None = None
    mock_result: str
    is_error: bool | None = None


class _TestBodyBase(StrictModel):
    name: str = Field(min_length=1)
    parent_folder_id: str | None = None
    dynamic_variables: dict[str, DynamicValue] | None = None
    chat_history: list[ConversationHistoryTranscriptCommonModelInput] | None = None
    conversation_initiation_source: str | None = None
    environment: str | None = None
    from_conversation_metadata: JSONObject | None = None


class SimulationTestBody(_TestBodyBase):
    """`type: "simulation"`: a simulated user talks to the agent; conditions judge the result."""

    __test__ = False
    type: Literal["simulation"] = "simulation"
    simulation_scenario: str | None = None
    success_conditions: list[str] | None = Field(None, min_length=1)
    success_condition: str | None = None  # deprecated upstream: use success_conditions
    simulation_max_turns: int | None = Field(None, ge=1)
    simulation_environment: str | None = None
    tool_mock_config: ToolMockBehavior | None = None
    tool_mock_overrides: dict[str, list[ToolMockOverride]] | None = None
    simulated_user_model: str | None = None
    evaluation_model: str | None = None


class LLMTestBody(_TestBodyBase):
    """`type: "llm"`: judges the agent's next reply after the chat history."""

    type: Literal["llm"] = "llm"
    success_condition: str | None = None
    success_examples: list[JSONObject] | None = None
    failure_examples: list[JSONObject] | None = None


class ToolCallTestBody(_TestBodyBase):
    """`type: "tool"`: checks the tool call the agent makes next."""

    type: Literal["tool"] = "tool"
    tool_call_parameters: JSONObject | None = None
    check_any_tool_matches: bool | None = None


class TestBody(
    RootModel[
        Annotated[SimulationTestBody | LLMTestBody | ToolCallTestBody, Field(discriminator="type")]
    ]
):
    """The body of create and update: one of the three test types, told apart by `type`."""

    __test__ = False


class TestRef(StrictModel):
    __test__ = False
    test_id: str = Field(min_length=1)
    workflow_node_id: str | None = None
    root_folder_id: str | None = None
    root_folder_name: str | None = None


class AgentConfigOverride(StrictModel):
    """A whole agent config to run the tests on instead of the stored one (both parts needed)."""

    conversation_config: JSONObject
    platform_settings: JSONObject


class RunTestsRequest(StrictModel):
    tests: list[TestRef] = Field(min_length=1)
    repeat_count: int | None = Field(None, ge=1, le=50)
    branch_id: str | None = None  # omitted (never null) for the main branch
    name: str | None = None
    agent_config_override: AgentConfigOverride | None = None


class ResubmitRequest(StrictModel):
    test_run_ids: list[str] = Field(min_length=1)
    agent_id: str
    agent_config_override: AgentConfigOverride | None = None
    branch_id: str | None = None


# --- responses (tolerant) ----------------------------------------------------------------------


class CreatedTest(ResponseModel):
    id: str


class TestDetails(ResponseModel):
    """`GET /v1/convai/agent-testing/{id}`: the test's own fields, its id and name."""

    __test__ = False
    id: str
    name: str = ""
    type: str | None = None


class TestSummary(ResponseModel):
    __test__ = False
    id: str
    name: str = ""
    type: str | None = None
    created_at_unix_secs: int | None = None
    last_updated_at_unix_secs: int | None = None


class TestsPage(ResponseModel):
    __test__ = False
    tests: list[TestSummary] = Field(default_factory=list)
    has_more: bool = False
    next_cursor: str | None = None


class Rationale(ResponseModel):
    messages: list[str] | None = None  # reported one per condition; order undocumented
    summary: str | None = None


class ConditionResult(ResponseModel):
    result: str  # "success" | "failure" | "unknown" (new values allowed)
    rationale: Rationale | None = None


class TestRun(ResponseModel):
    """One run of one test. Done once its status is not `pending`."""

    __test__ = False
    test_run_id: str
    test_invocation_id: str = ""
    agent_id: str = ""
    test_id: str = ""
    test_name: str | None = None
    status: str  # "pending" | "passed" | "failed" | "cancelled" (new values allowed)
    condition_result: ConditionResult | None = None
    agent_responses: list[JSONObject] | None = None  # transcript entries, as the API sent
    credits_used: int | None = None
    last_updated_at_unix: int | None = None
    metadata: JSONObject | None = None

    @property
    def done(self) -> bool:
        return self.status != PENDING


class TestInvocation(ResponseModel):
    """An invocation of run-tests: its runs, and (with repeats) their grouping."""

    __test__ = False
    id: str
    agent_id: str | None = None
    branch_id: str | None = None
    name: str | None = None
    created_at: int | None = None
    repeat_count: int | None = None
    cancelled: bool | None = None
    bucketing_status: str | None = None
    result_groups: list[JSONObject] | None = None
    test_runs: list[TestRun] = Field(default_factory=list)

    @property
    def done(self) -> bool:
        """Every run finished and, with repeats, the grouping too."""
        return all(run.done for run in self.test_runs) and self.bucketing_status != PENDING

    def counts(self) -> dict[str, int]:
        """Runs per status, e.g. {"passed": 2, "pending": 1}."""
        out: dict[str, int] = {}
        for run in self.test_runs:
            out[run.status] = out.get(run.status, 0) + 1
        return out


class InvocationSummary(ResponseModel):
    id: str
    created_at_unix_secs: int | None = None
    test_run_count: int = 0
    passed_count: int = 0
    failed_count: int = 0
    pending_count: int = 0
    cancelled_count: int = 0
    title: str | None = None
    repeat_count: int | None = None
    credits_used: int | None = None


class InvocationsPage(ResponseModel):
    results: list[InvocationSummary] = Field(default_factory=list)
    has_more: bool = False
    next_cursor: str | None = None


class ToolInfo(ResponseModel):
    """A workspace tool: what a test needs to name it (tests key tools by id, not name)."""

    id: str
    name: str


class _ToolEntry(ResponseModel):
    id: str
    tool_config: JSONObject = Field(default_factory=dict)


class ToolsPage(ResponseModel):
    tools: list[_ToolEntry] = Field(default_factory=list)
    has_more: bool = False
    next_cursor: str | None = None

    def infos(self) -> list[ToolInfo]:
        out = []
        for tool in self.tools:
            name = tool.tool_config.get("name")
            out.append(ToolInfo(id=tool.id, name=name if isinstance(name, str) else ""))
        return out
