"""Turn failures into tool errors a model can act on: what happened, and what to do next.

`tool_error` maps an API error or a job error to a `ToolError` with the words of
agents_mcp/errors_text.py (the one place that writes them); `tool_call` wraps a tool body, logs
one line per call and makes sure nothing but a `ToolError` leaves it (an unexpected exception is
logged with its traceback on stderr and reaches the model as a short generic message). Messages
never carry the key, headers or tracebacks: every text passes through the log redaction as well.
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

from agents_mcp.api.errors import APIError
from agents_mcp.api.failures import clip
from agents_mcp.errors import AgentsMCPError, JobError
from agents_mcp.errors_text import MAX_FIELD_ERRORS, error_text
from agents_mcp.logs import log_tool_call, redact

logger = logging.getLogger("agents_mcp.tools")


def tool_error(
    exc: AgentsMCPError, *, tool: str | None = None, agent_id: str | None = None
) -> ToolError:
    """The `ToolError` to raise for `exc` (redacted; never the key, headers or a traceback).

    `tool` and `agent_id` only stand in for an operation the error does not carry."""
    return ToolError(redact(error_text(exc, tool=tool, agent_id=agent_id)))


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
    except (APIError, JobError) as exc:  # every deliberate failure of a call: its words
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
    for err in exc.errors()[:MAX_FIELD_ERRORS]:
        field = ".".join(str(part) for part in err["loc"]) or "(arguments)"
        problems.append(f"{field}: {err['msg']}")
    more = len(exc.errors()) - len(problems)
    if more > 0:
        problems.append(f"and {more} more")
    return f"Invalid arguments for {tool}: {'; '.join(problems)}. Fix them and call again."


def unknown_arguments(tool: str, unknown: list[str], known: list[str]) -> str:
    """The message for arguments a tool does not take (names clipped; values never echoed)."""
    shown = ", ".join(repr(clip(name, 40)) for name in unknown[:5])
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    takes = ", ".join(known) or "none"
    return (
        f"Unknown argument(s) for {tool}: {shown}{more}. It takes: {takes}. Nothing was done; "
        "call again without them (another tool may do what you meant)."
    )
