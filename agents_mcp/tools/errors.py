"""Turn failures into tool errors a model can act on: what happened, and what to do next.

`tool_error` maps each API error to a `ToolError`; `tool_call` wraps a tool body, logs one line
per call and makes sure nothing but a `ToolError` leaves it (an unexpected exception is logged
with its traceback on stderr and reaches the model as a short generic message). Messages never
carry the key, headers or tracebacks: every text passes through the log redaction as well.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError

from agents_mcp.api.errors import (
    AgentNotFoundError,
    APIError,
    AuthenticationError,
    EndpointGoneError,
    InvalidAgentIdError,
    RateLimitedError,
    RequestValidationError,
    StreamError,
    UpstreamError,
)
from agents_mcp.logs import log_tool_call, redact

logger = logging.getLogger("agents_mcp.tools")

KEY_VAR = "ELEVENLABS_API_KEY"
_MAX_FIELD_ERRORS = 8
_EXAMPLE_ID = "agent_3201k60p4ctyfg4smr22n17n6vxy"


def _clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sentence(text: str) -> str:
    """`text` ending with a full stop (messages are joined into sentences)."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def _retry_hint(seconds: float | None) -> str:
    if seconds is None:
        return "Wait a few seconds, then retry; run fewer calls at the same time."
    return f"Retry in {max(1, round(seconds))} s; run fewer calls at the same time."


def describe(exc: APIError, *, tool: str | None = None, agent_id: str | None = None) -> str:
    """The message for `exc`: one or two sentences, what happened then what to do."""
    who = f"agent {agent_id}" if agent_id else "the agent"
    # the API layer's message ends with whether it was sent again: keep room for it
    detail = _clip(exc.message, 450) if exc.message else ""
    if isinstance(exc, InvalidAgentIdError):
        text = detail or f"Invalid agent id: agent ids look like '{_EXAMPLE_ID}'."
        if "sent" not in text:
            text += " No request was sent."
        return f"{text} Check the id and call again."
    if isinstance(exc, AgentNotFoundError):
        if tool == "delete_agent" and "earlier attempt" in exc.message:
            # A retried delete found nothing: the first attempt, whose answer was lost, did it.
            return (
                f"The {who} no longer exists: an earlier attempt of this delete lost its answer "
                "and most likely deleted it (the retry found no such agent). Do not retry."
            )
        return (
            f"Unknown agent: the API has no {who} (it may have been deleted, or belong to "
            "another workspace or residency). Check the agent id."
        )
    if isinstance(exc, AuthenticationError):
        if exc.code == "quota_exceeded":
            return (
                f"The API key was refused: the account is out of quota. Top up the account or "
                f"set {KEY_VAR} to a key of another account, then restart the server."
            )
        if exc.code == "missing_api_key":
            return (
                f"No API key was sent. Set {KEY_VAR} in the MCP server's environment (or "
                "api_key in its config file) and restart the server."
            )
        return (
            f"The API refused the API key (missing, wrong, or without access to Agents). "
            f"Set {KEY_VAR} to a valid key in the MCP server's environment and restart it. "
            "Retrying will not help."
        )
    if isinstance(exc, RateLimitedError):
        return f"Rate limited by the ElevenLabs API. {_retry_hint(exc.retry_after)}"
    if isinstance(exc, RequestValidationError):
        if exc.errors:
            shown = exc.errors[:_MAX_FIELD_ERRORS]
            fields = "; ".join(f"{e.location}: {_clip(e.reason, 120)}" for e in shown)
            more = len(exc.errors) - len(shown)
            if more > 0:
                fields += f"; and {more} more"
        elif detail:  # the API layer's message already says what to do
            return f"The request was refused as invalid: {_sentence(detail)}"
        else:
            fields = "no detail given"
        return f"The request was refused as invalid: {fields}. Fix these fields and call again."
    if isinstance(exc, EndpointGoneError):
        return (
            f"The API no longer offers this endpoint ({detail}). The simulate endpoints are "
            "deprecated upstream in favour of the agent-testing API; tell the user."
        )
    if isinstance(exc, StreamError):
        return f"The simulation stream broke: {_sentence(detail)} Retry the simulation."
    if isinstance(exc, UpstreamError) and exc.status is not None and 200 <= exc.status < 300:
        # The request went through; only its answer could not be read. Retrying would repeat it.
        text = (
            "The ElevenLabs API carried out the request but its answer could not be read "
            f"({detail})."
        )
        if tool == "delete_agent":
            return text + " The agent was most likely deleted: do not retry."
        if tool == "duplicate_agent":
            return (
                text + " A copy may have been created anyway: check the agent list before retrying."
            )
        return text + " Retrying is unlikely to help."
    if isinstance(exc, UpstreamError):
        text = (
            f"The ElevenLabs API could not answer ({detail or 'no detail'}). This is not caused "
            "by the arguments: retry in a minute; if it persists, check the network and "
            "ELEVENLABS_BASE_URL / ELEVENLABS_API_RESIDENCY."
        )
        if tool == "duplicate_agent":
            # A lost answer to a create may still have created the copy: never blindly repeat it.
            text += " A copy may have been created anyway: check the agent list before retrying."
        return text
    return f"The ElevenLabs API returned an error: {detail or type(exc).__name__}."


def tool_error(exc: APIError, *, tool: str | None = None, agent_id: str | None = None) -> ToolError:
    """The `ToolError` to raise for `exc` (redacted; never the key, headers or a traceback)."""
    return ToolError(redact(describe(exc, tool=tool, agent_id=agent_id)))


def outcome_of(exc: BaseException) -> str:
    """A short label for the log line: the error class in snake case."""
    name = type(exc).__name__.removesuffix("Error") or "error"
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", name).lower()


UNEXPECTED = (
    "Unexpected internal error in {tool}; details are in the server log. Nothing indicates the "
    "arguments are wrong: retry once, and report it if it happens again."
)


@dataclass
class ToolCall:
    """Handed to the body of `tool_call`: set `outcome` for a result that is not plain "ok"."""

    tool: str
    agent_id: str | None
    outcome: str = "ok"


@asynccontextmanager
async def tool_call(tool: str, agent_id: str | None = None) -> AsyncIterator[ToolCall]:
    """Log one line for the call, and turn every failure into a `ToolError`."""
    call = ToolCall(tool, agent_id)
    start = time.perf_counter()
    try:
        yield call
    except ToolError as exc:
        call.outcome = "tool_error"
        raise ToolError(redact(str(exc))) from None
    except APIError as exc:
        call.outcome = outcome_of(exc)
        raise tool_error(exc, tool=tool, agent_id=agent_id) from None
    except Exception:
        call.outcome = "crash"
        logger.exception("tool %s failed unexpectedly", tool)
        raise ToolError(UNEXPECTED.format(tool=tool)) from None
    except BaseException:  # cancellation: the client gave up or the server stops
        call.outcome = "cancelled"
        raise
    finally:
        log_tool_call(tool, agent_id, call.outcome, time.perf_counter() - start)


def invalid_arguments(tool: str, exc: ValidationError) -> str:
    """The message for arguments that do not fit a tool's input schema: each field and why.

    The rejected values are not echoed (they are the caller's data, possibly a pasted secret).
    """
    problems = []
    for err in exc.errors()[:_MAX_FIELD_ERRORS]:
        field = ".".join(str(part) for part in err["loc"]) or "(arguments)"
        problems.append(f"{field}: {err['msg']}")
    more = len(exc.errors()) - len(problems)
    if more > 0:
        problems.append(f"and {more} more")
    return f"Invalid arguments for {tool}: {'; '.join(problems)}. Fix them and call again."
