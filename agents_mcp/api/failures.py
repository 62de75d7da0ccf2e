"""Turn a failed exchange with the API into one of the errors in errors.py, with a message that
says what happened and what to do next.

Error bodies come in several shapes: ``{"detail": {"status"|"code", "message", ...}}``,
``{"detail": [{"loc", "msg", "type"}, ...]}`` (FastAPI validation), ``{"detail": "text"}``, other
JSON, or no JSON at all (an HTML page from a proxy). All are read; long texts are clipped.
Nothing here ever sees request headers, so no key can leak from them; ``redact`` also removes the
key should a server ever echo it back in a body.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agents_mcp.api.errors import (
    AgentNotFoundError,
    APIError,
    AuthenticationError,
    EndpointGoneError,
    FieldError,
    RateLimitedError,
    RequestValidationError,
    ResourceNotFoundError,
    StreamError,
    UpstreamError,
)

KEY_VAR = "ELEVENLABS_API_KEY"
_CLIP = 300
_MAX_FIELDS = 10
_SIMULATE_GONE = (
    "ElevenLabs deprecated the simulate-conversation endpoints (their removal was announced for "
    "31 Oct 2026) in favour of the agent-testing API (POST /v1/convai/agent-testing/create, then "
    "POST /v1/convai/agents/{agent_id}/run-tests). Nothing was simulated and no credits were used."
)


@dataclass(frozen=True)
class Operation:
    """What the client was doing, for messages and for the retry rules."""

    name: str  # delete_agent, duplicate_agent, get_agent_link, simulate, simulate_stream, or
    # one of the agent-testing operations (_TESTING_PHRASES)
    agent_id: str  # the id the operation is about: an agent, a test or an invocation ("" for none)
    idempotent: bool  # safe to send again even if the first request reached the server

    @property
    def is_simulation(self) -> bool:
        return self.name.startswith("simulate")

    @property
    def is_testing(self) -> bool:
        """An agent-testing operation (tests, invocations, tools): its id is not an agent's."""
        return self.name in _TESTING_PHRASES

    @property
    def phrase(self) -> str:
        testing = _TESTING_PHRASES.get(self.name)
        if testing is not None:
            return testing.format(id=self.agent_id)
        return {
            "delete_agent": f"delete agent {self.agent_id}",
            "duplicate_agent": f"duplicate agent {self.agent_id}",
            "get_agent_link": f"get the share link of agent {self.agent_id}",
        }.get(self.name, f"simulate a conversation with agent {self.agent_id}")

    @property
    def not_retried_note(self) -> str:
        """Why a failure that may have reached the server was not sent again."""
        if self.name == "duplicate_agent":
            return (
                " It was not sent again because the copy may have been created anyway: "
                "check the agent list before trying again."
            )
        if self.is_simulation or self.name in ("run_tests", "resubmit_invocation"):
            return " It was not sent again because a simulation costs credits; try again later."
        if self.name == "create_test":
            return (
                " It was not sent again because the test may have been created anyway: "
                "check the test list before trying again."
            )
        return ""


_TESTING_PHRASES = {
    "create_test": "create a test",
    "get_test": "get test {id}",
    "update_test": "update test {id}",
    "delete_test": "delete test {id}",
    "list_tests": "list the tests",
    "run_tests": "run tests on agent {id}",
    "get_invocation": "get test invocation {id}",
    "list_invocations": "list the test invocations",
    "cancel_invocation": "cancel test invocation {id}",
    "resubmit_invocation": "resubmit test invocation {id}",
    "list_tools": "list the workspace tools",
}
# the operations whose id names a test or an invocation, for the 404 message
_TESTING_SUBJECT = {
    "get_test": "test",
    "update_test": "test",
    "delete_test": "test",
    "get_invocation": "test invocation",
    "cancel_invocation": "test invocation",
    "resubmit_invocation": "test invocation",
}


@dataclass
class ErrorBody:
    """What could be read from an error response body."""

    code: str | None = None  # the API's code: "invalid_api_key", "agent_not_found", ...
    message: str = ""
    fields: list[FieldError] = field(default_factory=list)
    request_id: str | None = None
    bare_not_found: bool = False  # FastAPI's own {"detail": "Not Found"}: the route is unknown


def clip(text: str, limit: int = _CLIP) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def redact(text: str, secret: str | None) -> str:
    if secret and len(secret) >= 4 and secret in text:
        return text.replace(secret, "[redacted]")
    return text


def read_error_body(body: bytes, content_type: str = "") -> ErrorBody:
    text = body.decode("utf-8", "replace")
    try:
        data: Any = json.loads(text) if text.strip() else None
    except ValueError:
        return ErrorBody(message=_plain_text(text, content_type))
    if data is None:
        return ErrorBody()
    detail = data.get("detail", data) if isinstance(data, dict) else data
    if isinstance(detail, str):
        return ErrorBody(message=clip(detail), bare_not_found=detail.strip() == "Not Found")
    if isinstance(detail, list):
        fields = [_field_error(item) for item in detail]
        return ErrorBody(
            message="; ".join(f"{f.location}: {f.reason}" for f in fields[:_MAX_FIELDS]),
            fields=fields,
        )
    if isinstance(detail, dict):
        return _dict_body(detail)
    return ErrorBody(message=clip(json.dumps(data)))


def _dict_body(detail: Mapping[str, Any]) -> ErrorBody:
    code = next((detail[k] for k in ("status", "code") if isinstance(detail.get(k), str)), None)
    message: Any = detail.get("message") or detail.get("msg") or detail.get("error")
    if isinstance(message, Mapping):  # {"error": {"message": ...}}
        code = code or (message.get("code") if isinstance(message.get("code"), str) else None)
        message = message.get("message")
    if not isinstance(message, str) or not message:
        message = json.dumps(detail, ensure_ascii=False)
    request_id = detail.get("request_id")
    fields = []
    if isinstance(detail.get("param"), str):
        fields.append(FieldError(detail["param"], clip(message)))
    return ErrorBody(
        code=code,
        message=clip(message),
        fields=fields,
        request_id=request_id if isinstance(request_id, str) else None,
    )


def _field_error(item: Any) -> FieldError:
    if not isinstance(item, Mapping):
        return FieldError("?", clip(str(item), 200))
    loc = item.get("loc")
    parts = [str(p) for p in loc] if isinstance(loc, list | tuple) else [str(loc or "?")]
    if len(parts) > 1 and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    reason = item.get("msg") or item.get("message") or item.get("type") or "invalid"
    return FieldError(".".join(parts) or "?", clip(str(reason), 200))


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>", re.IGNORECASE | re.DOTALL)


def _plain_text(text: str, content_type: str) -> str:
    """A non-JSON body: the title of an HTML page, else its text without tags, clipped."""
    if "html" in content_type.lower() or text.lstrip()[:1] == "<":
        title = _TITLE.search(text)
        found = title.group(1) if title and title.group(1).strip() else _TAGS.sub(" ", text)
        return clip(html.unescape(found), 200)
    return clip(text, 200)


def request_id_of(headers: Mapping[str, str], body: ErrorBody) -> str | None:
    for name in ("request-id", "x-request-id", "x-trace-id"):
        value = headers.get(name)
        if value:
            return clip(value, 100)
    return body.request_id


def error_for_status(
    op: Operation,
    status: int,
    headers: Mapping[str, str],
    body: ErrorBody,
    *,
    attempts: int = 1,
    key_set: bool = True,
    retry_after: float | None = None,
    earlier: str | None = None,
) -> APIError:
    """The error for an HTTP error status (after any retries were spent).

    ``earlier`` describes an earlier attempt's failure when this answer came from a retry.
    """
    rid = request_id_of(headers, body)
    kw: dict[str, Any] = {"status": status, "request_id": rid, "code": body.code}
    said = _said(status, body)
    if status in (401, 403):
        if not key_set and not body.code:
            kw["code"] = "missing_api_key"  # we know why, even if the body does not say
        return AuthenticationError(_auth_message(op, status, body, said, key_set), **kw)
    gone = status in (405, 410) or (status == 404 and body.bare_not_found)
    if op.is_simulation and gone:
        return EndpointGoneError(
            f"The simulate-conversation endpoint is gone ({said}). {_SIMULATE_GONE}", **kw
        )
    if status == 404 and op.is_testing and op.name != "run_tests":
        if body.bare_not_found:  # the route itself is unknown
            return EndpointGoneError(
                f"The API does not offer the agent-testing endpoint to {op.phrase} ({said}).",
                **kw,
            )
        what = _TESTING_SUBJECT.get(op.name)
        named = f"No {what} with id {op.agent_id!r} was found" if what else "Nothing was found"
        return ResourceNotFoundError(
            f"{named} ({said}): it may have been deleted or belong to another account or region.",
            **kw,
        )
    if status == 404:
        message = (
            f"No agent with id {op.agent_id!r} was found ({said}). Check the id (ids look like "
            f"agent_3201k60p4ctyfg4smr22n17n6vxy); the agent may have been deleted, belong to "
            f"another account, or live in another region (ELEVENLABS_API_RESIDENCY)."
        )
        if earlier:
            message += f" An earlier attempt failed ({earlier}) and may already have done it."
        return AgentNotFoundError(message, **kw)
    if status == 410:
        return EndpointGoneError(f"The API no longer offers this endpoint ({said}).", **kw)
    if status in (400, 422):
        listed = "; ".join(f"{f.location}: {f.reason}" for f in body.fields[:_MAX_FIELDS])
        more = len(body.fields) - _MAX_FIELDS
        if more > 0:
            listed += f"; and {more} more"
        detail = listed if body.fields and not body.code else said
        if body.fields and body.code:
            detail = f"{said}; field {listed}"
        return RequestValidationError(
            f"The API refused the request to {op.phrase} (HTTP {status}): {detail}. "
            f"Fix the fields named and try again.",
            errors=list(body.fields),
            **kw,
        )
    if status == 429:
        return RateLimitedError(
            _rate_message(op, said, headers, attempts, retry_after), retry_after=retry_after, **kw
        )
    if status >= 500:
        if op.idempotent:
            note = f" It was tried {attempts} times." if attempts > 1 else ""
        else:
            note = op.not_retried_note
        return UpstreamError(
            f"The ElevenLabs API failed to {op.phrase} ({said}{_rid(rid)}).{note}", **kw
        )
    if 300 <= status < 400:
        where = clip(headers.get("location", "?"), 120)
        return UpstreamError(
            f"The API answered {op.phrase} with a redirect (HTTP {status} to {where}), which is "
            f"not followed (the key must not go elsewhere). Check ELEVENLABS_BASE_URL.",
            **kw,
        )
    return APIError(f"The API refused to {op.phrase} ({said}{_rid(rid)}).", **kw)


def _said(status: int, body: ErrorBody) -> str:
    """'HTTP 401 invalid_api_key: Invalid API key' with what the body offered."""
    head = f"HTTP {status}" + (f" {body.code}" if body.code else "")
    return f"{head}: {body.message}" if body.message else head


def _rid(request_id: str | None) -> str:
    return f"; request id {request_id}" if request_id else ""


def _auth_message(op: Operation, status: int, body: ErrorBody, said: str, key_set: bool) -> str:
    code = (body.code or "").lower()
    if code == "missing_api_key" or not key_set:
        return (
            f"No API key was sent, so the API refused to {op.phrase} ({said}). "
            f"Set {KEY_VAR} to your ElevenLabs API key."
        )
    if code == "invalid_api_key":
        return (
            f"The API key in {KEY_VAR} was refused as invalid ({said}). "
            f"Set {KEY_VAR} to a valid key (elevenlabs.io, Settings > API keys)."
        )
    if code == "quota_exceeded":
        return (
            f"The account of the key in {KEY_VAR} is out of quota ({said}). "
            f"Add credits to the account or use another key."
        )
    if status == 403:
        return (
            f"The key in {KEY_VAR} is not allowed to {op.phrase} ({said}). Use a key with "
            f"access to ElevenLabs Agents (Conversational AI) for this account."
        )
    return f"The API refused the key in {KEY_VAR} ({said}). Check {KEY_VAR}."


def _rate_message(
    op: Operation,
    said: str,
    headers: Mapping[str, str],
    attempts: int,
    retry_after: float | None,
) -> str:
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    text = f"The ElevenLabs API is rate limiting requests to {op.phrase} ({said}){tries}."
    current = headers.get("current-concurrent-requests")
    maximum = headers.get("maximum-concurrent-requests")
    if maximum:
        text += f" The account allows {clip(maximum, 10)} concurrent requests"
        text += f" and {clip(current, 10)} are in use." if current else "."
    if retry_after is not None:
        text += f" Retry after {retry_after:.0f} s."
    else:
        text += " Retry in a few seconds"
        text += ", or run fewer simulations at once." if op.is_simulation else "."
    return text


def error_for_transport(
    op: Operation,
    kind: str,
    exc_name: str,
    exc_text: str,
    base_url: str,
    *,
    attempts: int,
    timeout: float | None,
) -> APIError:
    """The error for a failure without an HTTP answer: kind is connect, timeout or broken."""
    what = f"{exc_name}: {clip(exc_text, 160)}" if exc_text else exc_name
    tries = f" ({attempts} attempts)" if attempts > 1 else ""
    if kind == "connect":
        return UpstreamError(
            f"Could not connect to the ElevenLabs API at {base_url} to {op.phrase} "
            f"({what}){tries}. Nothing was sent. Check the network, ELEVENLABS_BASE_URL and "
            f"ELEVENLABS_API_RESIDENCY."
        )
    note = op.not_retried_note if not op.idempotent else ""
    if kind == "timeout":
        if op.name == "simulate_stream":
            return StreamError(
                f"The simulation stream stalled: no answer for {timeout:g} s while trying to "
                f"{op.phrase} ({exc_name}; AGENTS_MCP_STALL_TIMEOUT).{note}"
            )
        limit = f" within {timeout:g} s" if timeout else ""
        return UpstreamError(
            f"The ElevenLabs API did not answer{limit} while trying to {op.phrase} "
            f"({what}){tries}.{note}"
        )
    return UpstreamError(
        f"The connection to the ElevenLabs API broke while trying to {op.phrase} "
        f"({what}){tries}.{note}"
    )
