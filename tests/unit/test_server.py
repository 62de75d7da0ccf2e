"""Pure logic of the server: error messages, logging and redaction, tool filtering, schemas."""

from __future__ import annotations

import io
import json
import logging

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from agents_mcp import logs
from agents_mcp.api.errors import (
    AgentNotFoundError,
    APIError,
    AuthenticationError,
    EndpointGoneError,
    FieldError,
    InvalidAgentIdError,
    Operation,
    RateLimitedError,
    RequestValidationError,
    StreamError,
    UpstreamError,
)
from agents_mcp.errors import AgentsMCPError
from agents_mcp.errors import ConfigError as BaseConfigError
from agents_mcp.server import ConfigError, enabled_tools
from agents_mcp.settings import Settings, SettingsError
from agents_mcp.sidecar.app import HTTPSettingsError
from agents_mcp.simulations import SimulationBusyError, UnknownSimulationError
from agents_mcp.tools.catalogue import compact_schema
from agents_mcp.tools.errors import UNEXPECTED, outcome_of, tool_call, tool_error
from agents_mcp.tools.registry import tool_names

SECRET = "sk_test_0123456789abcdef0123456789abcdef"


@pytest.fixture
def log_stream():
    """Logging set up as the server does, writing to a buffer in place of stderr."""
    stream = io.StringIO()
    handler = logs.setup_logging("INFO", secrets=[SECRET])
    handler.setStream(stream)
    yield stream
    logging.getLogger().removeHandler(handler)


# --- error messages ------------------------------------------------------------------------


LINK = Operation("get_agent_link", "agent_abc", idempotent=True)
DUPLICATE = Operation("duplicate_agent", "agent_abc", idempotent=False)
STREAM = Operation("simulate_stream", "agent_abc", idempotent=False)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (InvalidAgentIdError("'x/y'"), ["Invalid agent id 'x/y'", "Nothing was sent"]),
        (
            AgentNotFoundError("not found", status=404, operation=LINK),
            ["Unknown agent", "agent_abc", "ELEVENLABS_API_RESIDENCY"],
        ),
        (
            AuthenticationError("bad key", status=401, operation=LINK),
            ["ELEVENLABS_API_KEY", "refused", "restart"],
        ),
        (
            AuthenticationError("no key", status=401, code="missing_api_key"),
            ["No API key", "ELEVENLABS_API_KEY"],
        ),
        (
            AuthenticationError("quota", status=401, code="quota_exceeded"),
            ["out of quota", "ELEVENLABS_API_KEY"],
        ),
        (RateLimitedError("busy", retry_after=7.2), ["Rate limited", "Retry in 7 s"]),
        (RateLimitedError("busy"), ["Rate limited", "Wait a few seconds"]),
        (
            UpstreamError("down", status=503, operation=LINK, effect="unknown", attempts=3),
            ["could not answer the request to get the share link", "HTTP 503", "tried 3 times"],
        ),
        (
            EndpointGoneError("Gone", status=410, operation=LINK),
            ["no longer offers", "Retrying will not help"],
        ),
        (
            EndpointGoneError("Not Found", status=404, operation=STREAM),
            ["deprecated", "agent-testing", "no credits were used"],
        ),
        (
            StreamError("ended", kind="no_analysis", frames=2, turns=3, operation=STREAM),
            ["ended without an analysis after 2 frames and 3 turns", "Retry the simulation"],
        ),
        (
            RequestValidationError(
                "invalid",
                errors=[FieldError("body.name", "too long"), FieldError("a.b", "bad")],
                status=422,
                operation=LINK,
            ),
            ["refused as invalid", "body.name: too long", "a.b: bad", "Fix these fields"],
        ),
        (APIError("teapot", status=418, operation=LINK), ["teapot", "HTTP 418"]),
        (
            SimulationBusyError(active=6, running=2, queued=4),
            ["Too many simulations", "6 already started", "Nothing was started", "get_simulation"],
        ),
        (
            UnknownSimulationError("sim_0123456789abcdef"),
            ["Unknown simulation id 'sim_0123456789abcdef'", "simulate_conversation"],
        ),
    ],
)
def test_every_error_says_what_happened_and_what_to_do(exc, expected):
    err = tool_error(exc, tool="get_agent_link", agent_id="agent_abc")
    assert isinstance(err, ToolError)
    for part in expected:
        assert part in str(err), (part, str(err))
    assert str(err) != str(exc)  # the words are not the log line


def test_a_request_that_may_have_taken_effect_says_it_was_not_sent_again():
    lost = UpstreamError(
        "ReadTimeout", kind="timeout", timeout=30, operation=DUPLICATE, effect="unknown"
    )
    text = str(tool_error(lost))
    assert "did not answer within 30 s" in text
    assert "may have taken effect, so it was not sent again" in text
    assert "copy may have been created" in text
    never_sent = UpstreamError(
        "ConnectError", kind="connect", url="http://127.0.0.1:9", operation=DUPLICATE, sent=False
    )
    text = str(tool_error(never_sent))
    assert "Nothing was sent" in text and "copy" not in text


def test_the_log_line_states_facts_only():
    err = UpstreamError("oops", status=500, code="boom", operation=DUPLICATE, effect="unknown")
    assert str(err) == (
        "duplicate_agent agent_abc: HTTP 500 boom oops (may have taken effect, not sent again)"
    )


def test_error_roots():
    assert issubclass(APIError, AgentsMCPError)
    for config in (ConfigError, SettingsError, HTTPSettingsError):
        assert issubclass(config, BaseConfigError) and issubclass(config, ValueError)
    assert ConfigError is BaseConfigError
    with pytest.raises(KeyError):  # still a KeyError for callers that catch one
        raise UnknownSimulationError("sim_x")


def test_error_text_never_carries_a_registered_secret():
    logs.register_secret(SECRET)
    text = str(tool_error(APIError(f"echoed {SECRET} back")))
    assert SECRET not in text
    assert logs.REDACTED in text


def test_many_field_errors_are_clipped():
    errors = [FieldError(f"f{i}", "bad") for i in range(20)]
    text = str(tool_error(RequestValidationError("invalid", errors=errors)))
    assert "f7: bad" in text and "f8: bad" not in text and "and 12 more" in text


def test_outcome_labels():
    assert outcome_of(InvalidAgentIdError("x")) == "invalid_agent_id"
    assert outcome_of(SimulationBusyError(active=1, running=1, queued=0)) == "simulation_busy"
    assert outcome_of(RateLimitedError("x")) == "rate_limited"
    assert outcome_of(APIError("x")) == "api"


# --- tool_call: one log line, nothing but ToolError escapes -----------------------------------


@pytest.mark.anyio
async def test_tool_call_logs_one_line_per_call(log_stream):
    async with tool_call("get_agent_link", "agent_abc"):
        pass
    line = log_stream.getvalue().strip()
    assert line.count("\n") == 0
    assert "tool=get_agent_link agent_id=agent_abc outcome=ok duration_ms=" in line


@pytest.mark.anyio
async def test_tool_call_maps_api_errors(log_stream):
    with pytest.raises(ToolError, match="Rate limited"):
        async with tool_call("get_agent_link", "agent_abc"):
            raise RateLimitedError("busy", retry_after=3)
    assert "outcome=rate_limited" in log_stream.getvalue()


@pytest.mark.anyio
async def test_tool_call_maps_job_errors(log_stream):
    with pytest.raises(ToolError, match="Unknown simulation id"):
        async with tool_call("get_simulation"):
            raise UnknownSimulationError("sim_0123456789abcdef")
    assert "outcome=unknown_simulation" in log_stream.getvalue()


@pytest.mark.anyio
async def test_unexpected_exception_is_a_generic_tool_error_and_is_logged(log_stream):
    with pytest.raises(ToolError) as info:
        async with tool_call("duplicate_agent", "agent_abc"):
            raise KeyError(f"internal detail {SECRET}")
    text = str(info.value)
    assert text == UNEXPECTED.format(tool="duplicate_agent")
    assert "internal detail" not in text
    logged = log_stream.getvalue()
    assert "Traceback" in logged and "KeyError" in logged  # the traceback stays on the server
    assert "outcome=crash" in logged
    assert SECRET not in logged


# --- logging: stderr only, redaction, JSON lines ---------------------------------------------


def test_redaction_filter_covers_message_arguments_and_traceback(log_stream):
    log = logging.getLogger("agents_mcp.test")
    log.warning("key is %s", SECRET)
    log.warning(f"inline {SECRET}")
    try:
        raise ValueError(SECRET)
    except ValueError:
        log.exception("failed")
    out = log_stream.getvalue()
    assert SECRET not in out
    assert out.count(logs.REDACTED) >= 3


def test_logging_goes_to_stderr_not_stdout(capsys):
    handler = logs.setup_logging("INFO")
    try:
        logs.log_tool_call("get_agent_link", "agent_abc", "ok", 0.0123)
    finally:
        logging.getLogger().removeHandler(handler)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "duration_ms=12" in captured.err


def test_json_lines():
    stream = io.StringIO()
    handler = logs.setup_logging("DEBUG", json=True, secrets=[SECRET])
    handler.setStream(stream)
    try:
        logs.log_tool_call("delete_agent", "agent_abc", "not_confirmed", 0.5)
        logging.getLogger("agents_mcp.x").info("with %s", SECRET)
    finally:
        logging.getLogger().removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["tool"] == "delete_agent"
    assert first["agent_id"] == "agent_abc"
    assert first["outcome"] == "not_confirmed"
    assert first["duration_ms"] == 500
    assert second["message"] == f"with {logs.REDACTED}"


def test_level_from_settings_applies():
    stream = io.StringIO()
    handler = logs.setup_logging("WARNING")
    handler.setStream(stream)
    try:
        logs.log_tool_call("get_agent_link", "agent_abc", "ok", 0.0)  # INFO: filtered out
        logs.log_tool_call("get_agent_link", "agent_abc", "upstream", 0.0)  # WARNING: kept
    finally:
        logging.getLogger().removeHandler(handler)
    out = stream.getvalue()
    assert "outcome=ok" not in out and "outcome=upstream" in out


# --- tool filter -----------------------------------------------------------------------------


def test_all_tools_by_default():
    assert enabled_tools(Settings()) == frozenset(tool_names())


def test_read_only_removes_the_tools_that_change_agents():
    names = enabled_tools(Settings(read_only=True))
    assert "delete_agent" not in names and "duplicate_agent" not in names
    assert {"get_agent_link", "simulate_conversation", "get_simulation"} <= names


def test_tools_list_selects_and_read_only_still_wins():
    assert enabled_tools(Settings(tools=["get_agent_link", "delete_agent"])) == {
        "get_agent_link",
        "delete_agent",
    }
    assert enabled_tools(Settings(tools=["get_agent_link", "delete_agent"], read_only=True)) == {
        "get_agent_link"
    }


def test_unknown_tool_names_are_a_clear_error():
    with pytest.raises(ConfigError) as info:
        enabled_tools(Settings(tools=["get_agent_link", "delete_everything"]))
    text = str(info.value)
    assert "AGENTS_MCP_TOOLS" in text and "delete_everything" in text
    for name in tool_names():
        assert name in text


def test_no_tool_left_is_an_error():
    with pytest.raises(ConfigError, match="No tool left"):
        enabled_tools(Settings(tools=["delete_agent"], read_only=True))


# --- compact schemas -------------------------------------------------------------------------


def test_compact_schema_drops_titles_but_keeps_a_property_named_title():
    schema = {
        "title": "Args",
        "type": "object",
        "properties": {
            "title": {"title": "Title", "type": "string"},
            "n": {"title": "N", "anyOf": [{"type": "integer", "title": "x"}, {"type": "null"}]},
        },
        "required": ["title"],
        "$defs": {"M": {"title": "M", "properties": {"title": {"type": "string"}}}},
    }
    assert compact_schema(schema) == {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "n": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        },
        "required": ["title"],
        "$defs": {"M": {"properties": {"title": {"type": "string"}}}},
    }
