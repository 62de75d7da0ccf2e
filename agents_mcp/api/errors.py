"""The errors of the API layer: few classes, each with a message a person or a model can act on.

Messages never contain the API key or request headers. `str(error)` is the message to show.
"""

from __future__ import annotations

from dataclasses import dataclass


class APIError(Exception):
    """Base of every error the API layer raises."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.request_id = request_id
        self.code = code  # the API's own code, e.g. "invalid_api_key", when it sent one

    def __str__(self) -> str:
        return self.message


class InvalidAgentIdError(APIError):
    """The agent id is malformed; no request was sent."""


class AuthenticationError(APIError):
    """401/403: the key is missing, wrong, or out of quota. Say which variable to set."""


class AgentNotFoundError(APIError):
    """404 for the agent itself."""


class ResourceNotFoundError(APIError):
    """404 for a test or a test invocation (agent-testing API)."""


@dataclass(frozen=True)
class FieldError:
    location: str  # dotted path, e.g. "simulation_specification.simulated_user_config.prompt"
    reason: str


class RequestValidationError(APIError):
    """422 (or a local pydantic check): lists every field and why it was refused."""

    def __init__(self, message: str, errors: list[FieldError] | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.errors = errors or []


class RateLimitedError(APIError):
    """429 after the safe retries were spent. `retry_after` is in seconds when known."""

    def __init__(self, message: str, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class UpstreamError(APIError):
    """5xx, a connection failure or a timeout: the API could not answer."""


class EndpointGoneError(APIError):
    """404/410 on an endpoint itself (the simulate endpoints are deprecated upstream)."""


class StreamError(APIError):
    """The simulation stream broke: a malformed or oversized frame, a stall, or no analysis."""
