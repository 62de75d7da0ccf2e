"""Logging for the server: stderr only (stdout carries the stdio protocol), one line per tool call.

`setup_logging` installs one stderr handler on the root logger with a redaction filter: any
registered secret (the API key, the HTTP auth token) that reaches a message, its arguments or a
traceback is replaced by `***` before anything is written. The `agents_mcp` logger's level is
the lower of the stderr level and the lowest level an MCP client asked for (agents_mcp/
mcp_logging.py sends those lines as notifications); the stderr handler keeps its own level.
"""

from __future__ import annotations

import json as _json
import logging
import sys
from collections.abc import Iterable
from typing import TextIO

logger = logging.getLogger("agents_mcp")
_tool_logger = logging.getLogger("agents_mcp.tools")

REDACTED = "***"
_MIN_SECRET_LEN = 4  # shorter values would redact ordinary words
_secrets: set[str] = set()
_longest_first: tuple[str, ...] = ()  # _secrets sorted once per registration, not per line

# Extra fields that JSON lines carry when a record has them.
_FIELDS = ("tool", "agent_id", "outcome", "duration_ms")


def register_secret(value: str | None) -> None:
    """Redact `value` wherever it appears in a log line from now on."""
    global _longest_first
    if value and len(value) >= _MIN_SECRET_LEN and value not in _secrets:
        _secrets.add(value)
        _longest_first = tuple(sorted(_secrets, key=len, reverse=True))


def redact(text: str) -> str:
    # Longest first, so a secret that contains another is replaced whole.
    for secret in _longest_first:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactionFilter(logging.Filter):
    """Rewrites the record in place: message (with its arguments) and traceback text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the raw template
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the tool-call fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in _FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return _json.dumps(entry, ensure_ascii=False, default=str)


class RedactingStreamHandler(logging.StreamHandler[TextIO]):
    """Redacts the finished line too: formatters may add fields the filter never saw (the JSON
    `agent_id`, the sidecar's request fields), and any of them could carry a secret."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


_handler: logging.Handler | None = None
_stderr_level = logging.INFO
_forwarding_level: int | None = None  # the lowest level an MCP client asked for (mcp_logging)


def _apply_levels() -> None:
    """`agents_mcp` lets through what stderr or a client wants; the stderr handler keeps its own
    level, so a client asking for debug lines adds nothing to stderr."""
    wanted = _stderr_level
    if _forwarding_level is not None:
        wanted = min(wanted, _forwarding_level)
    logger.setLevel(wanted)


def set_forwarding_level(level: int | None) -> None:
    """The lowest level an MCP client asked for (None: no client asked)."""
    global _forwarding_level
    _forwarding_level = level
    _apply_levels()


def setup_logging(
    level: str = "INFO", json: bool = False, *, secrets: Iterable[str | None] = ()
) -> logging.Handler:
    """Send all logging to stderr at `level` (third-party libraries: WARNING at least).

    Idempotent: a second call replaces the handler installed by the first.
    """
    global _handler, _stderr_level
    for secret in secrets:
        register_secret(secret)
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    handler = RedactingStreamHandler(sys.stderr)
    handler.addFilter(RedactionFilter())
    if json:
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        )
    root.addHandler(handler)
    _handler = handler
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    handler.setLevel(numeric)
    root.setLevel(max(numeric, logging.WARNING))
    _stderr_level = numeric
    _apply_levels()
    # The MCP SDK logs every request at INFO; keep it quiet unless debugging.
    for name in ("mcp", "httpx2", "httpcore2", "uvicorn", "uvicorn.access"):
        logging.getLogger(name).setLevel(numeric if numeric <= logging.DEBUG else logging.WARNING)
    return handler


def log_tool_call(tool: str, agent_id: str | None, outcome: str, duration: float) -> None:
    """One line per tool call; `duration` in seconds, logged as whole milliseconds."""
    duration_ms = round(duration * 1000)
    level = logging.INFO if outcome in ("ok", "declined", "not_confirmed") else logging.WARNING
    _tool_logger.log(
        level,
        "tool=%s agent_id=%s outcome=%s duration_ms=%d",
        tool,
        agent_id or "-",
        outcome,
        duration_ms,
        extra={"tool": tool, "agent_id": agent_id, "outcome": outcome, "duration_ms": duration_ms},
    )
