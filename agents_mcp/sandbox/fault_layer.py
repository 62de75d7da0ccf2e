"""The fault layer: what an armed fault does to one request, driven by the table in faults.py.

STATUS faults answer instead of the route (bodies in STATUS_RESPONSES); DROP closes the
connection (uvicorn closes the socket when an ASGI app returns a value instead of None); STALL
waits before the route (or mid-body with after_frames); CUT sends part of the body and drops;
CONTENT faults are handed to the route (scope["sandbox.fault"]), which alters what it sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agents_mcp.sandbox.errors import error, unprocessable
from agents_mcp.sandbox.faults import Effect, Fault, FaultName

DROP = "sandbox-dropped-connection"  # returned to uvicorn: it closes the socket, sends nothing


class Drop(Exception):
    """Raised inside a response to cut the connection where it stands."""


def _http_500(fault: Fault) -> Response:
    return error(
        500,
        "something_went_wrong",
        "An unexpected error occurred. You are not charged for this request.",
    )


def _http_502(fault: Fault) -> Response:  # gateways answer in HTML, not JSON
    html = (
        "<html><head><title>502 Bad Gateway</title></head>"
        "<body><h1>502 Bad Gateway</h1></body></html>"
    )
    return Response(html, 502, media_type="text/html")


def _http_503(fault: Fault) -> Response:
    return error(
        503,
        "service_unavailable",
        "The service is temporarily unavailable. Please try again shortly.",
    )


def _http_422(fault: Fault) -> Response:
    return unprocessable(
        [
            {
                "type": "value_error",
                "loc": ["body", str(fault.param("field", "name"))],
                "msg": "Value error, refused by the sandbox's http_422 fault",
                "input": None,
            }
        ]
    )


def _rate_limit(fault: Fault) -> Response:
    headers = {}
    value = fault.param("retry_after")
    if value is not None:
        headers["retry-after"] = (
            str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        )
    return error(
        429,
        fault.param("code", "too_many_concurrent_requests"),
        "You have too many concurrent requests or are over your rate limit. "
        "Please try again later.",
        headers=headers,
    )


STATUS_RESPONSES: dict[FaultName, Callable[[Fault], Response]] = {
    FaultName.HTTP_500: _http_500,
    FaultName.HTTP_502: _http_502,
    FaultName.HTTP_503: _http_503,
    FaultName.HTTP_422: _http_422,
    FaultName.RATE_LIMIT: _rate_limit,
}


async def apply(
    fault: Fault,
    app: Callable[[Scope, Receive, Send], Awaitable[Any]] | ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
) -> Any:
    """Serve one request under `fault`; returns DROP when the connection is to be closed."""
    effect = fault.effect
    if effect is Effect.STATUS:
        await STATUS_RESPONSES[fault.name](fault)(scope, receive, send)
        return None
    if effect is Effect.DROP:
        if fault.param("after_processing", False):
            await app(scope, receive, _swallow)
        return DROP
    if effect is Effect.STALL and "after_frames" not in fault.params:
        await asyncio.sleep(float(fault.param("seconds", 30)))
        try:
            return await app(scope, receive, send)
        except ClientDisconnect:  # the client gave up during the stall: that was the point
            return None
    scope["sandbox.fault"] = fault
    if effect in (Effect.CUT, Effect.STALL):
        send = _cutting(send, fault)
    try:
        await app(scope, receive, send)
    except Drop:
        return DROP
    except BaseExceptionGroup as group:
        if group.subgroup(Drop) is not None:
            return DROP
        raise
    return None


async def _swallow(message: Message) -> None:
    return None


def _cutting(send: Send, fault: Fault) -> Send:
    """Passes `after_frames` body chunks, then drops (half of the next chunk) or stalls."""
    cut = fault.effect is Effect.CUT
    after = int(fault.param("after_frames", 0 if cut else 1))
    sent = 0

    async def wrapped(message: Message) -> None:
        nonlocal sent
        if message["type"] != "http.response.body" or not message.get("body"):
            await send(message)
            return
        if sent == after:
            if cut:
                body = message["body"]
                await send(
                    {
                        "type": "http.response.body",
                        "body": body[: len(body) // 2],
                        "more_body": True,
                    }
                )
                raise Drop()
            await asyncio.sleep(float(fault.param("seconds", 30)))
        sent += 1
        await send(message)

    return wrapped
