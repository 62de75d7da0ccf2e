"""The errors of the API layer: what happened, as structured facts (no advice).

    APIError (agents_mcp.errors.AgentsMCPError)
    ├── InvalidIdError            an id is malformed; nothing was sent
    │   └── InvalidAgentIdError
    ├── AuthenticationError       401/403: no key, a wrong key, no quota, no permission
    ├── AgentNotFoundError        404 for the agent
    ├── ResourceNotFoundError     404 for something else the operation names (a test, ...)
    ├── RequestValidationError    400/422, or the strict check before sending; `.errors`
    ├── RateLimitedError          429 once the safe retries were spent; `.retry_after`
    ├── UpstreamError             no usable answer: 5xx, redirect, connect, timeout, broken
    │                             connection, an answer too large or unreadable; `.kind`
    ├── EndpointGoneError         404/410 of the endpoint itself (e.g. simulate, deprecated)
    └── StreamError               the simulation stream broke; `.kind`, frames and turns so far

Facts every error carries (None when not known): the `operation` (name, the id it is about,
whether it is idempotent), the HTTP `status`, the API's own `code` and message (`detail`,
redacted and clipped), the `request_id`, whether the request was `sent`, its `effect` ("none":
refused or never sent; "unknown": it may have taken effect, its answer was lost; "done": it took
effect, only the answer was unusable), how many `attempts` were made, what an `earlier` attempt
met when this answer came from a retry, and the `setting` to check (ELEVENLABS_API_KEY, ...).

`str(error)` is one factual line for logs. The words the model reads come from
agents_mcp/errors_text.py. No text here contains the API key or a request header: the client
builds errors from statuses, bodies and exception names, and passes every text through `scrub`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, TypedDict, Unpack

from agents_mcp.errors import AgentsMCPError

Effect = Literal["none", "unknown", "done"]
UpstreamKind = Literal["status", "redirect", "connect", "timeout", "broken", "too_large", "body"]
StreamKind = Literal["malformed", "stall", "timeout", "broken", "no_analysis"]

KEY_VAR = "ELEVENLABS_API_KEY"
BASE_URL_VAR = "ELEVENLABS_BASE_URL"

# What the id of an operation names, when it is not an agent ("" for a list: no id)
_SUBJECTS = {
    "create_test": "",
    "list_tests": "",
    "list_invocations": "",
    "list_tools": "",
    "get_test": "test",
    "update_test": "test",
    "delete_test": "test",
    "get_invocation": "test invocation",
    "cancel_invocation": "test invocation",
    "resubmit_invocation": "test invocation",
}


@dataclass(frozen=True)
class Operation:
    """What the client was doing: for the retry rules and for the words of an error."""

    name: str  # delete_agent, duplicate_agent, get_agent_link, simulate, simulate_stream, ...
    agent_id: str  # the id the operation is about: an agent, a test, an invocation ("" for none)
    idempotent: bool  # safe to send again even if the first request reached the server

    @property
    def subject(self) -> str:
        """What `agent_id` names: "agent", "test", "test invocation", or "" (no id)."""
        return _SUBJECTS.get(self.name, "agent")

    @property
    def is_simulation(self) -> bool:
        return self.name.startswith("simulate")


@dataclass(frozen=True)
class FieldError:
    location: str  # dotted path, e.g. "simulation_specification.simulated_user_config.prompt"
    reason: str


class Facts(TypedDict, total=False):
    """The keyword facts of APIError.__init__, passed on by the subclasses' `**kw`."""

    operation: Operation | None
    status: int | None
    code: str | None
    request_id: str | None
    sent: bool | None
    effect: Effect
    attempts: int
    earlier: str | None
    setting: str | None


class APIError(AgentsMCPError):
    """Base of every error the API layer raises; see the module docstring for the facts."""

    def __init__(
        self,
        detail: str = "",
        *,
        operation: Operation | None = None,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        sent: bool | None = None,
        effect: Effect = "none",
        attempts: int = 1,
        earlier: str | None = None,
        setting: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail  # what happened: the API's message, or the failure's own text
        self.operation = operation
        self.status = status
        self.code = code  # the API's own code, e.g. "invalid_api_key", when it sent one
        self.request_id = request_id
        self.sent = sent  # None: not known (e.g. an error rebuilt from a stored record)
        self.effect: Effect = effect
        self.attempts = attempts
        self.earlier = earlier  # "HTTP 500", "ReadError": what the first failed attempt met
        self.setting = setting

    @property
    def not_sent_again(self) -> bool:
        """It may have reached the server and was not repeated (a copy, a paid simulation)."""
        op = self.operation
        return op is not None and not op.idempotent and self.effect == "unknown"

    def scrub(self, clean: Callable[[str], str]) -> None:
        """Pass every text fact through `clean` (the client removes the key with it)."""
        self.detail = clean(self.detail)
        self.args = (self.detail,)
        for name in ("code", "request_id", "earlier"):
            value = getattr(self, name)
            if value:
                setattr(self, name, clean(value))
        if self.operation is not None:
            self.operation = replace(self.operation, agent_id=clean(self.operation.agent_id))

    def __str__(self) -> str:
        parts = []
        if self.operation is not None:
            op = self.operation
            parts.append(f"{op.name} {op.agent_id}:" if op.agent_id else f"{op.name}:")
        if self.status is not None:
            parts.append(f"HTTP {self.status}" + (f" {self.code}" if self.code else ""))
        elif self.code:
            parts.append(self.code)
        text = " ".join(parts)
        if self.detail:
            text = f"{text} {self.detail}" if text else self.detail
        notes = []
        if self.request_id:
            notes.append(f"request id {self.request_id}")
        if self.sent is False:
            notes.append("not sent" if self.attempts <= 1 else f"not sent ({self.attempts} tries)")
        elif self.attempts > 1:
            notes.append(f"sent {self.attempts} times")
        if self.effect == "unknown":
            notes.append("may have taken effect" + (", not sent again" * self.not_sent_again))
        elif self.effect == "done":
            notes.append("took effect")
        if self.earlier:
            notes.append(f"an earlier attempt met {self.earlier}")
        if self.setting:
            notes.append(f"setting {self.setting}")
        return text + (f" ({'; '.join(notes)})" if notes else "")


class InvalidIdError(APIError):
    """An id is malformed (`value` is its clipped repr); no request was sent."""

    def __init__(
        self, value: str, *, subject: str = "agent", operation: Operation | None = None
    ) -> None:
        super().__init__(f"invalid {subject} id {value}", operation=operation, sent=False)
        self.value = value
        self.subject = subject

    def scrub(self, clean: Callable[[str], str]) -> None:
        super().scrub(clean)
        self.value = clean(self.value)


class InvalidAgentIdError(InvalidIdError):
    """The agent id is malformed; no request was sent."""


class AuthenticationError(APIError):
    """401/403: the key is missing, wrong, out of quota or not allowed (`code` says which)."""


class AgentNotFoundError(APIError):
    """404 for the agent itself."""


class ResourceNotFoundError(APIError):
    """404 for what the operation names when it is not an agent (a test, a test invocation)."""


class RequestValidationError(APIError):
    """400/422 (or the strict check before sending, then `sent` is False): every field named
    and why it was refused, in `errors`, next to the API's own message in `detail`."""

    def __init__(
        self, detail: str = "", errors: list[FieldError] | None = None, **kw: Unpack[Facts]
    ) -> None:
        super().__init__(detail, **kw)
        self.errors = errors or []

    def scrub(self, clean: Callable[[str], str]) -> None:
        super().scrub(clean)
        self.errors = [FieldError(clean(f.location), clean(f.reason)) for f in self.errors]


class RateLimitedError(APIError):
    """429 after the safe retries were spent. `retry_after` is in seconds when known; the
    account's concurrency limit and use, when the API said."""

    def __init__(
        self,
        detail: str = "",
        retry_after: float | None = None,
        *,
        max_concurrent: str | None = None,
        in_use: str | None = None,
        **kw: Unpack[Facts],
    ) -> None:
        super().__init__(detail, **kw)
        self.retry_after = retry_after
        self.max_concurrent = max_concurrent
        self.in_use = in_use


class UpstreamError(APIError):
    """The API gave no usable answer; `kind` says how (see UpstreamKind). For a timeout,
    `timeout` is the seconds waited; for too_large, `limit` the bytes allowed; for connect and
    redirect, `url` is where it went (the base URL, or the redirect's target)."""

    def __init__(
        self,
        detail: str = "",
        *,
        kind: UpstreamKind = "status",
        timeout: float | None = None,
        limit: int | None = None,
        url: str | None = None,
        **kw: Unpack[Facts],
    ) -> None:
        super().__init__(detail, **kw)
        self.kind: UpstreamKind = kind
        self.timeout = timeout
        self.limit = limit
        self.url = url

    def scrub(self, clean: Callable[[str], str]) -> None:
        super().scrub(clean)
        if self.url:
            self.url = clean(self.url)


class EndpointGoneError(APIError):
    """404/410 on an endpoint itself (the simulate endpoints are deprecated upstream)."""


class StreamError(APIError):
    """The simulation stream broke: `kind` says how (malformed or oversized frame, a stall, the
    overall timeout, a broken connection, no analysis); `frames` and `turns` arrived before."""

    def __init__(
        self,
        detail: str = "",
        *,
        kind: StreamKind = "malformed",
        frames: int | None = None,
        turns: int | None = None,
        timeout: float | None = None,
        **kw: Unpack[Facts],
    ) -> None:
        super().__init__(detail, **kw)
        self.kind: StreamKind = kind
        self.frames = frames
        self.turns = turns
        self.timeout = timeout

    def __str__(self) -> str:
        text = super().__str__()
        if self.frames is None:
            return text
        return f"{text} [after {self.frames} frames and {self.turns or 0} turns]"
