"""Turn a failed exchange with the API into one of the errors in errors.py, carrying the facts
(status, the API's code and message, sent or not, may it have taken effect, attempts, the setting
to check). No advice is written here: agents_mcp/errors_text.py writes the words.

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
from urllib.parse import urlsplit

from agents_mcp.api.errors import (
    BASE_URL_VAR,
    KEY_VAR,
    AgentNotFoundError,
    APIError,
    AuthenticationError,
    EndpointGoneError,
    FieldError,
    Operation,
    RateLimitedError,
    RequestValidationError,
    ResourceNotFoundError,
    StreamError,
    UpstreamError,
)

__all__ = [
    "ErrorBody",
    "Operation",
    "clip",
    "error_for_status",
    "error_for_transport",
    "no_key_error",
    "read_error_body",
    "redact",
    "refuses_without_key",
    "request_id_of",
]

_CLIP = 300
_MAX_FIELDS = 10
_GONE_FOR_SIMULATE = (404, 405, 410)  # a bare 404 (unknown route), or the method or path gone


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
        listed = "; ".join(f"{f.location}: {f.reason}" for f in fields[:_MAX_FIELDS])
        if len(fields) > _MAX_FIELDS:
            listed += f"; and {len(fields) - _MAX_FIELDS} more"
        return ErrorBody(message=listed, fields=fields)
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

    ``earlier`` is what an earlier attempt met when this answer came from a retry.
    """
    kw: dict[str, Any] = {
        "operation": op,
        "status": status,
        "code": body.code,
        "request_id": request_id_of(headers, body),
        "sent": True,
        "attempts": attempts,
        "earlier": earlier,
    }
    detail = body.message
    if status in (401, 403):
        if not key_set and not body.code:
            kw["code"] = "missing_api_key"  # we know why, even if the body does not say
        return AuthenticationError(detail, setting=KEY_VAR, **kw)
    if op.is_simulation and (
        status in _GONE_FOR_SIMULATE and (status != 404 or body.bare_not_found)
    ):
        return EndpointGoneError(detail, **kw)
    if status == 404:
        if op.subject != "agent":
            if body.bare_not_found:  # the route itself is unknown
                return EndpointGoneError(detail, **kw)
            return ResourceNotFoundError(detail, **kw)
        return AgentNotFoundError(detail, **kw)
    if status == 410:
        return EndpointGoneError(detail, **kw)
    if status in (400, 422):
        return RequestValidationError(detail, errors=list(body.fields), **kw)
    if status == 429:
        return RateLimitedError(
            detail,
            retry_after,
            max_concurrent=_header(headers, "maximum-concurrent-requests"),
            in_use=_header(headers, "current-concurrent-requests"),
            **kw,
        )
    if status >= 500:
        return UpstreamError(detail, kind="status", effect="unknown", **kw)
    if 300 <= status < 400:
        where = clip(headers.get("location", "?"), 120)
        return UpstreamError(detail, kind="redirect", url=where, setting=BASE_URL_VAR, **kw)
    return APIError(detail, **kw)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return clip(value, 10) if value else None


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
    kw: dict[str, Any] = {"operation": op, "attempts": attempts}
    if kind == "connect":
        return UpstreamError(
            what, kind="connect", url=base_url, sent=False, setting=BASE_URL_VAR, **kw
        )
    if kind == "timeout":
        if op.name == "simulate_stream":
            return StreamError(
                f"the stream stalled: no answer for {timeout:g} s ({exc_name})",
                kind="stall",
                frames=0,
                turns=0,
                timeout=timeout,
                setting="AGENTS_MCP_STALL_TIMEOUT",
                sent=True,
                effect="unknown",
                **kw,
            )
        return UpstreamError(
            what, kind="timeout", timeout=timeout, sent=True, effect="unknown", **kw
        )
    return UpstreamError(what, kind="broken", sent=True, effect="unknown", **kw)


def refuses_without_key(base_url: str) -> bool:
    """The ElevenLabs API itself (any residency), which refuses every call without a key; a
    proxy or the sandbox at another URL may add the key or not need one, so those are asked."""
    host = (urlsplit(base_url).hostname or "").lower()
    return host == "elevenlabs.io" or host.endswith(".elevenlabs.io")


def no_key_error(op: Operation) -> AuthenticationError:
    """The error for a call to the API with no key set: nothing is sent."""
    return AuthenticationError(
        "No API key is set.", operation=op, code="missing_api_key", sent=False, setting=KEY_VAR
    )
