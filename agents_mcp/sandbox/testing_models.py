"""Request bodies and queries of the agent-testing API, validated like the live API (FastAPI):
unknown keys ignored, errors as FastAPI's 422 list. Shapes from the official SDK 2.78 types
(TestsCreateRequestBody_*, SingleTestRunRequestModel, AdhocAgentConfigOverrideForTestRequestModel,
SimulationToolMockBehaviorConfig, ToolResponseMockConfigInput, UnitTestToolCallParameter).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents_mcp.jsontypes import JSONObject


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ParameterEval(_Lenient):
    type: Literal["anything", "exact", "llm", "regex"]
    expected_value: str | None = None
    pattern: str | None = None
    description: str | None = None


class ParameterCondition(_Lenient):
    path: str
    eval: ParameterEval


class MockOverride(_Lenient):
    parameter_conditions: list[ParameterCondition] | None = None
    mock_result: str
    is_error: bool | None = None


class MockConfig(_Lenient):
    mocking_strategy: Literal["all", "selected", "none"] | None = None
    fallback_strategy: Literal["call_real_tool", "raise_error"] | None = None
    mocked_tool_ids: list[str] | None = None


class ChatTurn(_Lenient):
    role: Literal["user", "agent"]
    message: str | None = None
    time_in_call_secs: int
    tool_calls: list[JSONObject] | None = None
    tool_results: list[JSONObject] | None = None


class ResponseExample(_Lenient):
    response: str
    type: str | None = None


class ReferencedTool(_Lenient):
    id: str
    type: str | None = None


class ToolCallEvaluation(_Lenient):
    parameters: list[ParameterCondition] | None = None
    referenced_tool: ReferencedTool | None = None
    verify_absence: bool | None = None


class TestBody(_Lenient):
    """One body for the three test types; `type` decides which fields count."""

    __test__ = False  # not a pytest class

    type: Literal["llm", "tool", "simulation"] = "llm"
    name: Annotated[str, Field(min_length=1)]
    parent_folder_id: str | None = None
    dynamic_variables: JSONObject | None = None
    chat_history: list[ChatTurn] | None = None
    conversation_initiation_source: str | None = None
    environment: str | None = None
    from_conversation_metadata: JSONObject | None = None
    # llm
    success_condition: str | None = None
    success_examples: list[ResponseExample] | None = None
    failure_examples: list[ResponseExample] | None = None
    # tool
    tool_call_parameters: ToolCallEvaluation | None = None
    check_any_tool_matches: bool | None = None
    # simulation
    success_conditions: list[str] | None = None
    simulation_scenario: str | None = None
    simulation_max_turns: Annotated[int, Field(ge=1, le=50)] | None = None
    simulation_environment: str | None = None
    tool_mock_config: MockConfig | None = None
    tool_mock_overrides: dict[str, list[MockOverride]] | None = None
    evaluation_model: str | None = None
    simulated_user_model: str | None = None


class TestListQuery(_Lenient):
    __test__ = False

    cursor: str | None = None
    page_size: Annotated[int, Field(ge=1, le=100)] = 30
    search: str | None = None
    parent_folder_id: str | None = None
    types: list[Literal["llm", "tool", "simulation", "folder"]] = []


class SingleTestRun(_Lenient):
    test_id: str
    workflow_node_id: str | None = None


class ConfigOverride(_Lenient):
    conversation_config: JSONObject
    platform_settings: JSONObject
    workflow: JSONObject | None = None


class RunTestsBody(_Lenient):
    tests: Annotated[list[SingleTestRun], Field(min_length=1)]
    name: str | None = None
    agent_config_override: ConfigOverride | None = None
    branch_id: str | None = None
    repeat_count: Annotated[int, Field(ge=1, le=50)] | None = None


class ResubmitBody(_Lenient):
    test_run_ids: Annotated[list[str], Field(min_length=1)]
    agent_id: str
    agent_config_override: ConfigOverride | None = None
    branch_id: str | None = None


class InvocationListQuery(_Lenient):
    agent_id: str | None = None
    branch_id: str | None = None
    test_id: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    search: str | None = None
    cursor: str | None = None
    page_size: Annotated[int, Field(ge=1, le=100)] = 30
