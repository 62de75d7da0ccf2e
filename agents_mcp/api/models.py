"""Pydantic models of the five Agents API endpoints.

Requests are strict (generated from the OpenAPI file into request_models.py; unknown fields are
errors). Responses are tolerant, because the live API adds fields and enum values over time:
unknown fields are kept (``extra="allow"``) and enum-like fields are plain strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from agents_mcp.jsontypes import JSONObject

__all__ = [
    "AgentLink",
    "Analysis",
    "ConversationToken",
    "CreateAgentResponse",
    "CriterionResult",
    "DataCollectionResult",
    "DeleteAgentResponse",
    "DuplicateRequest",
    "EvaluationCriterion",
    "HistoryTurn",
    "LLMUsage",
    "ModelUsage",
    "PromptConfig",
    "ResponseModel",
    "SimulateRequest",
    "SimulatedUserConfig",
    "SimulationFrame",
    "SimulationResponse",
    "SimulationSpecification",
    "TokensUsage",
    "ToolCall",
    "ToolMock",
    "ToolResult",
    "Turn",
]

if TYPE_CHECKING:
    from agents_mcp.api.request_models import (
        AgentConfigAPIModelInput as SimulatedUserConfig,
    )
    from agents_mcp.api.request_models import (
        BodyDuplicateAgentV1ConvaiAgentsAgentIdDuplicatePost as DuplicateRequest,
    )
    from agents_mcp.api.request_models import (
        BodySimulatesAConversationV1ConvaiAgentsAgentIdSimulateConversationPost as SimulateRequest,
    )
    from agents_mcp.api.request_models import (
        ConversationHistoryTranscriptCommonModelInput as HistoryTurn,
    )
    from agents_mcp.api.request_models import (
        ConversationSimulationSpecification as SimulationSpecification,
    )
    from agents_mcp.api.request_models import PromptAgentAPIModelInput as PromptConfig
    from agents_mcp.api.request_models import PromptEvaluationCriteria as EvaluationCriterion
    from agents_mcp.api.request_models import ToolMockConfig as ToolMock

# --- requests (strict) -------------------------------------------------------------------------
# The generated module takes ~50 ms to import; it is loaded on first use (module __getattr__), so
# the server answers tools/list before anyone needs a request model.
_REQUEST_MODELS = {
    "SimulateRequest": "BodySimulatesAConversationV1ConvaiAgentsAgentIdSimulateConversationPost",
    "SimulationSpecification": "ConversationSimulationSpecification",
    "SimulatedUserConfig": "AgentConfigAPIModelInput",
    "PromptConfig": "PromptAgentAPIModelInput",
    "ToolMock": "ToolMockConfig",
    "EvaluationCriterion": "PromptEvaluationCriteria",
    "HistoryTurn": "ConversationHistoryTranscriptCommonModelInput",
    "DuplicateRequest": "BodyDuplicateAgentV1ConvaiAgentsAgentIdDuplicatePost",
}


def __getattr__(name: str) -> Any:
    generated = _REQUEST_MODELS.get(name)
    if generated is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from agents_mcp.api import request_models

    model = getattr(request_models, generated)
    globals()[name] = model
    return model


# --- responses (tolerant) ----------------------------------------------------------------------


class ResponseModel(BaseModel):
    """A response body part: unknown fields are kept, nothing is rejected for being new."""

    model_config = ConfigDict(extra="allow")


class DeleteAgentResponse(ResponseModel):
    """`DELETE /v1/convai/agents/{agent_id}`: an empty object (or no body, on 204)."""


class CreateAgentResponse(ResponseModel):
    """`POST .../{agent_id}/duplicate` (and create): the new agent's id."""

    agent_id: str


class ConversationToken(ResponseModel):
    agent_id: str
    conversation_token: str
    expiration_time_unix_secs: int | None = None
    conversation_id: str | None = None
    purpose: str | None = None  # "signed_url" | "shareable_link" (new values allowed)
    token_requester_user_id: str | None = None


class AgentLink(ResponseModel):
    """`GET .../{agent_id}/link`. `token` is null for an agent that needs no authorization."""

    agent_id: str
    token: ConversationToken | None = None


class ToolCall(ResponseModel):
    request_id: str = ""
    tool_name: str = ""
    params_as_json: str = ""
    tool_has_been_called: bool = False
    type: str | None = None
    tool_details: JSONObject | None = None


class ToolResult(ResponseModel):
    request_id: str = ""
    tool_name: str = ""
    result_value: Any = None  # usually a string; system tools return objects
    is_error: bool = False
    tool_has_been_called: bool = False
    tool_latency_secs: float | None = None
    type: str | None = None


class TokensUsage(ResponseModel):
    tokens: int = 0
    price: float = 0.0


class ModelUsage(ResponseModel):
    input: TokensUsage | None = None
    input_cache_read: TokensUsage | None = None
    input_cache_write: TokensUsage | None = None
    output_total: TokensUsage | None = None


class LLMUsage(ResponseModel):
    model_usage: dict[str, ModelUsage] = Field(default_factory=dict)


class Turn(ResponseModel):
    """One transcript entry. Most optional fields are null or [] in simulations."""

    role: str  # "user" | "agent" (new values allowed)
    message: str | None = None
    time_in_call_secs: int = 0
    tool_calls: list[ToolCall] | None = None
    tool_results: list[ToolResult] | None = None
    llm_usage: LLMUsage | None = None
    interrupted: bool | None = None
    original_message: str | None = None
    agent_metadata: JSONObject | None = None
    source_medium: str | None = None


class CriterionResult(ResponseModel):
    criteria_id: str
    result: str  # "success" | "failure" | "unknown" (new values allowed)
    rationale: str = ""


class DataCollectionResult(ResponseModel):
    data_collection_id: str
    value: Any = None
    json_schema: JSONObject | None = None
    rationale: str = ""


class Analysis(ResponseModel):
    call_successful: str  # "success" | "failure" | "unknown"
    transcript_summary: str = ""
    call_summary_title: str | None = None
    evaluation_criteria_results: dict[str, CriterionResult] = Field(default_factory=dict)
    data_collection_results: dict[str, DataCollectionResult] = Field(default_factory=dict)


class SimulationResponse(ResponseModel):
    """`POST .../simulate-conversation`: the whole transcript and its analysis."""

    simulated_conversation: list[Turn]
    analysis: Analysis


class SimulationFrame(ResponseModel):
    """One frame of the streamed simulation: new turns, and the analysis on the last frame."""

    simulated_conversation: list[Turn] = Field(default_factory=list)
    analysis: Analysis | None = None
