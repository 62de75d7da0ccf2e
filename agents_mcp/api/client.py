"""The async client of the five Agents API endpoints, over one shared httpx2.AsyncClient
(agents_mcp/api/http.py makes it).

Safety rules (see reference/api-behaviour.md):
- ``agent_id`` is checked before any request and every path segment is percent-encoded, so no
  input can reach another URL path.
- Retried: a 429 (honouring Retry-After, else bounded backoff with jitter; the total wait is
  capped), a failure to connect (the request was never sent), and for the idempotent operations
  only (GET link, DELETE) a 5xx or a connection that broke. A duplicate or a simulation is never
  sent again once it may have reached the server: that would create a second copy or pay twice.
- Redirects are never followed (the key must not be sent to another host).
- The key lives in a SecretStr and is unwrapped only into the request header; it never appears in
  a repr or an error message (errors are built from status, body and exception names, never from
  requests, and wrapped httpx2 exceptions are not chained).
"""

from __future__ import annotations

import json as jsonlib
import random
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote

import anyio
import httpx2
from pydantic import BaseModel, SecretStr, ValidationError

from agents_mcp.api import models
from agents_mcp.api.errors import (
    APIError,
    FieldError,
    InvalidAgentIdError,
    RequestValidationError,
    StreamError,
    UpstreamError,
)
from agents_mcp.api.failures import (
    ErrorBody,
    Operation,
    clip,
    error_for_status,
    error_for_transport,
    no_key_error,
    read_error_body,
    redact,
    refuses_without_key,
)
from agents_mcp.api.http import USER_AGENT, create_http_client, prepare_tls_context
from agents_mcp.api.models import (
    AgentLink,
    CreateAgentResponse,
    DeleteAgentResponse,
    SimulationFrame,
    SimulationResponse,
)
from agents_mcp.api.retry import Backoff, parse_retry_after
from agents_mcp.api.stream import DEFAULT_MAX_FRAME_BYTES, FrameDecoder
from agents_mcp.api.testing import QueryParams, TestingAPI
from agents_mcp.jsontypes import JSON, JSONObject

if TYPE_CHECKING:
    from agents_mcp.settings import Settings

__all__ = [
    "USER_AGENT",
    "AgentsAPI",
    "create_http_client",
    "prepare_tls_context",
    "validate_agent_id",
]

AGENTS_PATH = "/v1/convai/agents"
_AGENT_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_SMALL_BODY = 1024 * 1024  # delete, duplicate, link answers are tiny
_ERROR_BODY = 64 * 1024  # read at most this much of an error body
_M = TypeVar("_M", bound=BaseModel)

# httpx2 exceptions raised before the request left this machine: always safe to send again
_NOT_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)
# the request may have reached the server; only idempotent operations may send it again
_BROKEN = (httpx2.ReadError, httpx2.WriteError, httpx2.RemoteProtocolError, httpx2.CloseError)


def validate_agent_id(agent_id: object) -> str:
    """The agent id if it is well formed (letters, digits, ``_``, ``-``; 1 to 128 characters)."""
    if isinstance(agent_id, str) and _AGENT_ID.fullmatch(agent_id):
        return agent_id
    shown = repr(clip(agent_id, 60)) if isinstance(agent_id, str) else type(agent_id).__name__
    raise InvalidAgentIdError(shown)


@dataclass
class _Failure:
    """Why one attempt failed, kept without any reference to the request or its headers."""

    status: int | None = None  # HTTP status, or None for a transport failure
    headers: Mapping[str, str] | None = None
    body: ErrorBody | None = None
    kind: str = ""  # transport: connect | broken | timeout
    exc_name: str = ""
    exc_text: str = ""

    def summary(self) -> str:
        return f"HTTP {self.status}" if self.status is not None else self.exc_name


class AgentsAPI(TestingAPI):
    """The five operations, and the agent-testing ones (testing.TestingAPI). All failures raise
    subclasses of errors.APIError."""

    def __init__(
        self,
        http: httpx2.AsyncClient,
        *,
        api_key: SecretStr | str | None = None,
        base_url: str = "https://api.elevenlabs.io",
        max_retries: int = 3,
        request_timeout: float = 30.0,
        simulation_timeout: float = 600.0,
        stall_timeout: float = 120.0,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        max_response_bytes: int = 32 * 1024 * 1024,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        max_retry_wait: float = 30.0,
        sleep: Callable[[float], Awaitable[object]] = anyio.sleep,
        rng: random.Random | None = None,
        owns_http: bool = False,
    ) -> None:
        if isinstance(api_key, str):
            api_key = SecretStr(api_key)
        self._http = http
        self._api_key = api_key if api_key and api_key.get_secret_value() else None
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.request_timeout = request_timeout
        self.simulation_timeout = simulation_timeout
        self.stall_timeout = stall_timeout
        self.max_frame_bytes = max_frame_bytes
        self.max_response_bytes = max_response_bytes
        self.max_retry_wait = max_retry_wait
        self._backoff = Backoff(backoff_base, backoff_max, rng or random.Random())
        self._sleep = sleep
        self._owns_http = owns_http

    @classmethod
    def from_settings(cls, settings: Settings, http: httpx2.AsyncClient | None = None) -> AgentsAPI:
        """An AgentsAPI configured from Settings; it creates and owns its client if http is None."""
        return cls(
            http if http is not None else create_http_client(settings),
            api_key=settings.api_key,
            base_url=settings.api_base_url,
            max_retries=settings.max_retries,
            request_timeout=settings.request_timeout,
            simulation_timeout=settings.simulation_timeout,
            stall_timeout=settings.stall_timeout,
            owns_http=http is None,
        )

    def __repr__(self) -> str:
        key = "set" if self._api_key else "missing"
        return f"AgentsAPI(base_url={self.base_url!r}, api_key={key})"

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AgentsAPI:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- the five operations -----------------------------------------------------------------

    async def delete_agent(self, agent_id: str, force: bool = False) -> DeleteAgentResponse:
        """Delete an agent. ``force``: also when other agents use it as a sub-agent."""
        op = Operation("delete_agent", validate_agent_id(agent_id), idempotent=True)
        params = {"force": "true"} if force else None
        body = await self._call(op, "DELETE", self._url(op.agent_id), params=params)
        data = _json_or_none(body)
        return DeleteAgentResponse.model_validate(data if isinstance(data, dict) else {})

    async def duplicate_agent(self, agent_id: str, name: str | None = None) -> CreateAgentResponse:
        """Copy an agent; the answer carries the new agent's id. Never sent twice."""
        op = Operation("duplicate_agent", validate_agent_id(agent_id), idempotent=False)
        payload = self._validated(op, models.DuplicateRequest, {"name": name} if name else {})
        body = await self._call(op, "POST", self._url(op.agent_id, "duplicate"), json=payload)
        return self._parse(op, CreateAgentResponse, body)

    async def get_agent_link(self, agent_id: str) -> AgentLink:
        """The agent's share link data (token is None when the agent needs no authorization)."""
        op = Operation("get_agent_link", validate_agent_id(agent_id), idempotent=True)
        body = await self._call(op, "GET", self._url(op.agent_id, "link"))
        return self._parse(op, AgentLink, body)

    async def simulate(
        self, agent_id: str, request: models.SimulateRequest | Mapping[str, JSON]
    ) -> SimulationResponse:
        """Run a whole simulated conversation and return it with its analysis."""
        op = Operation("simulate", validate_agent_id(agent_id), idempotent=False)
        payload = self._validated(op, models.SimulateRequest, request)
        body = await self._call(
            op,
            "POST",
            self._url(op.agent_id, "simulate-conversation"),
            json=payload,
            timeouts=self._timeout(read=self.simulation_timeout),
            limit=self.max_response_bytes,
        )
        return self._parse(op, SimulationResponse, body)

    def simulate_stream(
        self, agent_id: str, request: models.SimulateRequest | Mapping[str, JSON]
    ) -> AsyncGenerator[SimulationFrame, None]:
        """Frames of a simulated conversation as they arrive (an async generator).

        The id and the request are checked now, before anything is sent. The generator raises
        StreamError when the stream stalls (no bytes for ``stall_timeout``), breaks, outlasts
        ``simulation_timeout``, or ends without an analysis. Closing it (aclose, or cancelling
        the task reading it) closes the upstream response at once.
        """
        op = Operation("simulate_stream", validate_agent_id(agent_id), idempotent=False)
        payload = self._validated(op, models.SimulateRequest, request)
        return self._frames(op, payload)

    # --- helpers -------------------------------------------------------------------------------

    def _url(self, agent_id: str, *segments: str) -> str:
        # httpx2 does not encode "/" in a path given whole: encode every segment ourselves
        parts = [quote(agent_id, safe=""), *(quote(s, safe="") for s in segments)]
        return f"{self.base_url}{AGENTS_PATH}/" + "/".join(parts)

    def _headers(self) -> dict[str, str]:
        headers = {"accept": "application/json"}
        if self._api_key is not None:
            headers["xi-api-key"] = self._api_key.get_secret_value()
        return headers

    def _secret(self) -> str | None:
        return self._api_key.get_secret_value() if self._api_key else None

    def _timeout(self, *, read: float) -> httpx2.Timeout:
        connect = self._http.timeout.connect
        return httpx2.Timeout(
            connect=connect, read=read, write=self.request_timeout, pool=self.request_timeout
        )

    def _validated(
        self, op: Operation, model: type[BaseModel], value: BaseModel | Mapping[str, JSON]
    ) -> JSONObject:
        """The JSON body of a request, checked strictly against its model before sending."""
        try:
            checked = value if isinstance(value, model) else model.model_validate(value)
        except ValidationError as exc:
            fields = [
                FieldError(".".join(str(p) for p in err["loc"]) or "(body)", err["msg"])
                for err in exc.errors()
            ]
            raise RequestValidationError(
                "refused by the strict check before sending",
                errors=fields,
                operation=op,
                sent=False,
            ) from None
        return checked.model_dump(mode="json", by_alias=True, exclude_none=True)

    def _parse(self, op: Operation, model: type[_M], body: bytes) -> _M:
        data = _json_or_none(body)
        try:
            return model.model_validate(data)
        except ValidationError:
            raise _redacted(
                UpstreamError(
                    repr(clip(body.decode("utf-8", "replace"), 120)),
                    kind="body",
                    operation=op,
                    sent=True,
                    effect="done",
                ),
                self._secret(),
            ) from None

    async def _call(
        self,
        op: Operation,
        method: str,
        url: str,
        *,
        json: JSON = None,
        params: QueryParams | None = None,
        timeouts: httpx2.Timeout | None = None,
        limit: int = _SMALL_BODY,
        into: bytearray | None = None,
    ) -> bytes:
        """Send with the safe retries; the body of the 2xx answer (`into`: written there)."""
        if timeouts is None:
            timeouts = self._timeout(read=self.request_timeout)
        _, body = await self._send(
            op, method, url, json=json, params=params, timeouts=timeouts, limit=limit, into=into
        )
        return body

    async def _send(
        self,
        op: Operation,
        method: str,
        url: str,
        *,
        json: JSON = None,
        params: QueryParams | None = None,
        timeouts: httpx2.Timeout | None = None,
        stream: bool = False,
        limit: int = _SMALL_BODY,
        into: bytearray | None = None,
    ) -> tuple[httpx2.Response, bytes]:
        """The retry loop. Returns the 2xx response, open when stream=True, else closed with its
        body read (at most ``limit`` bytes)."""
        if self._api_key is None and refuses_without_key(self.base_url):
            raise no_key_error(op)
        attempt = 0
        waited = 0.0
        earlier: str | None = None
        while True:
            failure, response, body = await self._attempt(
                op, method, url, json, params, timeouts, stream=stream, limit=limit, into=into
            )
            if failure is None:
                assert response is not None
                return response, body
            delay = self._retry_delay(op, failure, attempt, waited)
            if delay is None:
                raise self._error(op, failure, attempt + 1, timeouts, earlier)
            earlier = earlier or failure.summary()
            await self._sleep(delay)
            waited += delay
            attempt += 1

    async def _attempt(
        self,
        op: Operation,
        method: str,
        url: str,
        json: JSON,
        params: QueryParams | None,
        timeouts: httpx2.Timeout | None,
        *,
        stream: bool,
        limit: int,
        into: bytearray | None = None,
    ) -> tuple[_Failure | None, httpx2.Response | None, bytes]:
        """One request. Exceptions are reduced to names and texts right here, so no httpx2
        exception (which holds the request and its headers) outlives this function."""
        failure: _Failure | None = None
        keep_open = False  # only a successful stream is handed over open
        try:
            request = self._http.build_request(
                method,
                url,
                json=json,
                params=params,
                headers=self._headers(),
                timeout=timeouts if timeouts is not None else httpx2.USE_CLIENT_DEFAULT,
            )
            response = await self._http.send(request, stream=True, follow_redirects=False)
        except httpx2.TransportError as exc:
            return _transport_failure(exc), None, b""
        try:
            if 200 <= response.status_code < 300:
                if stream:
                    keep_open = True
                    return None, response, b""
                try:
                    return None, response, await _read_limited(response, limit, into=into)
                except _TooLarge:
                    # say the status: a 2xx means the operation itself went through
                    raise UpstreamError(
                        f"answer larger than {limit} bytes, not read",
                        kind="too_large",
                        limit=limit,
                        operation=op,
                        status=response.status_code,
                        request_id=clip(response.headers.get("request-id", ""), 100) or None,
                        sent=True,
                        effect="done",
                    ) from None
            try:
                body = await _read_limited(response, _ERROR_BODY, truncate=True)
            except httpx2.TransportError:
                body = b""
            failure = _Failure(
                status=response.status_code,
                headers=dict(response.headers),
                body=read_error_body(body, response.headers.get("content-type", "")),
            )
        except httpx2.TransportError as exc:
            failure = _transport_failure(exc)
        finally:
            if not keep_open:
                await _close(response)
        return failure, None, b""

    def _retry_delay(
        self, op: Operation, failure: _Failure, attempt: int, waited: float
    ) -> float | None:
        """Seconds to wait before sending again, or None when this failure is final."""
        if attempt >= self.max_retries:
            return None
        left = self.max_retry_wait - waited
        if failure.status == 429:
            asked = parse_retry_after((failure.headers or {}).get("retry-after"))
            if asked is not None:
                return asked if asked <= left else None
        elif failure.status is not None:
            if not (failure.status >= 500 and op.idempotent):
                return None
        elif not (failure.kind == "connect" or (failure.kind == "broken" and op.idempotent)):
            return None
        delay = min(self._backoff.delay(attempt), left)
        return delay if delay > 0 else None

    def _error(
        self,
        op: Operation,
        failure: _Failure,
        attempts: int,
        timeout: httpx2.Timeout | None,
        earlier: str | None,
    ) -> APIError:
        if failure.status is not None:
            headers = failure.headers or {}
            error = error_for_status(
                op,
                failure.status,
                headers,
                failure.body or ErrorBody(),
                attempts=attempts,
                key_set=self._api_key is not None,
                retry_after=parse_retry_after(headers.get("retry-after")),
                earlier=earlier,
            )
        else:
            read = timeout.read if timeout is not None else self._http.timeout.read
            error = error_for_transport(
                op,
                failure.kind,
                failure.exc_name,
                failure.exc_text,
                self.base_url,
                attempts=attempts,
                timeout=read,
            )
        return _redacted(error, self._secret())

    def _mid_stream(self, exc: StreamError, op: Operation, frames: int, turns: int) -> StreamError:
        """A stream failure with its facts: sent, may have taken effect, what arrived before."""
        exc.operation, exc.sent, exc.effect = op, True, "unknown"
        exc.frames, exc.turns = frames, turns
        return _redacted(exc, self._secret())

    async def _frames(
        self, op: Operation, payload: JSONObject
    ) -> AsyncGenerator[SimulationFrame, None]:
        deadline = anyio.current_time() + self.simulation_timeout
        response, _ = await self._send(
            op,
            "POST",
            self._url(op.agent_id, "simulate-conversation", "stream"),
            json=payload,
            timeouts=self._timeout(read=self.stall_timeout),
            stream=True,
        )
        decoder = FrameDecoder(self.max_frame_bytes)
        chunks = response.aiter_bytes()
        analysed = False
        turns = 0
        try:
            while True:
                left = deadline - anyio.current_time()
                wait = min(self.stall_timeout, left)
                problem: StreamError | None = None
                try:
                    if wait <= 0:
                        raise TimeoutError
                    with anyio.fail_after(wait):
                        chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    break
                except (TimeoutError, httpx2.TimeoutException):  # httpx2's read timeout: a stall
                    if wait < self.stall_timeout:
                        problem = StreamError(
                            f"the simulation took longer than {self.simulation_timeout:g} s",
                            kind="timeout",
                            timeout=self.simulation_timeout,
                            setting="AGENTS_MCP_SIMULATION_TIMEOUT",
                        )
                    else:
                        problem = StreamError(
                            f"the stream stalled: no bytes for {self.stall_timeout:g} s",
                            kind="stall",
                            timeout=self.stall_timeout,
                            setting="AGENTS_MCP_STALL_TIMEOUT",
                        )
                except httpx2.TransportError as exc:
                    problem = StreamError(
                        f"the connection broke ({type(exc).__name__})", kind="broken"
                    )
                if problem is not None:
                    if analysed:  # everything that matters arrived; the rest is not needed
                        return
                    raise self._mid_stream(problem, op, decoder.frames_decoded, turns)
                try:
                    frames = decoder.feed(chunk)
                except StreamError as exc:  # its excerpt comes from the server: clean it
                    raise self._mid_stream(exc, op, decoder.frames_decoded, turns) from None
                for frame in frames:
                    turns += len(frame.simulated_conversation)
                    analysed = analysed or frame.analysis is not None
                    yield frame
            try:
                decoder.close()
            except StreamError as exc:
                raise self._mid_stream(exc, op, decoder.frames_decoded, turns) from None
            if not analysed:
                raise StreamError(
                    "the stream ended without an analysis",
                    kind="no_analysis",
                    operation=op,
                    sent=True,
                    effect="unknown",
                    frames=decoder.frames_decoded,
                    turns=turns,
                )
        finally:
            await _close(response)


class _TooLarge(Exception):
    pass


async def _read_limited(
    response: httpx2.Response, limit: int, *, truncate: bool = False, into: bytearray | None = None
) -> bytes:
    """The body, at most ``limit`` bytes: beyond it, stop (truncate) or raise _TooLarge.
    With `into`, the body is written there and b"" is returned."""
    parts: list[bytes] = []
    size = 0
    if into is not None:
        into.clear()  # a retry starts again
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            if truncate:
                parts.append(chunk[: limit - (size - len(chunk))])
                break
            raise _TooLarge
        if into is not None:
            into += chunk
        else:
            parts.append(chunk)
    return b"".join(parts)


async def _close(response: httpx2.Response) -> None:
    """Close a response even while the task is being cancelled, so the connection is freed."""
    with anyio.CancelScope(shield=True):
        await response.aclose()


def _transport_failure(exc: httpx2.TransportError) -> _Failure:
    if isinstance(exc, _NOT_SENT):
        kind = "connect"
    elif isinstance(exc, httpx2.TimeoutException):
        kind = "timeout"
    elif isinstance(exc, _BROKEN):
        kind = "broken"
    else:  # proxy, protocol and other errors: treat as "may have been sent"
        kind = "broken"
    return _Failure(kind=kind, exc_name=type(exc).__name__, exc_text=str(exc))


_E = TypeVar("_E", bound=APIError)


def _redacted(error: _E, secret: str | None) -> _E:
    """The error with the key removed from every text it carries (should a server echo it)."""
    if secret:
        error.scrub(lambda text: redact(text, secret))
    return error


def _json_or_none(body: bytes) -> JSON:
    try:
        return jsonlib.loads(body) if body.strip() else None
    except ValueError:
        return None
