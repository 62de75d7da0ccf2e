"""The ElevenLabs Agents API layer: models, an async client, the stream decoder, errors.

Nothing here knows about MCP.
"""

from agents_mcp.api.client import AgentsAPI, validate_agent_id
from agents_mcp.api.errors import (
    AgentNotFoundError,
    APIError,
    AuthenticationError,
    EndpointGoneError,
    FieldError,
    InvalidAgentIdError,
    RateLimitedError,
    RequestValidationError,
    StreamError,
    UpstreamError,
)
from agents_mcp.api.http import USER_AGENT, create_http_client
from agents_mcp.api.stream import FrameDecoder

__all__ = [
    "USER_AGENT",
    "APIError",
    "AgentNotFoundError",
    "AgentsAPI",
    "AuthenticationError",
    "EndpointGoneError",
    "FieldError",
    "FrameDecoder",
    "InvalidAgentIdError",
    "RateLimitedError",
    "RequestValidationError",
    "StreamError",
    "UpstreamError",
    "create_http_client",
    "validate_agent_id",
]
