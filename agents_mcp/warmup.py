"""What the server loads after it has answered `tools/list`, and the gate that waits for it.

A desktop client spawns the stdio server and waits for `initialize` and `tools/list` before it
shows the tools. Neither needs the tool modules or the lifespan's objects: the server answers
them from the catalogue (tools/catalogue.py). The rest (importing and registering the tools,
the prompts and resources, then the HTTP client, the stores and the job managers) is the
warm-up, which starts:

- shortly after the first `tools/list` answer has gone out, or
- at the first request that needs it (a tool call, a prompt, a resource, a completion), or
- `IDLE_START` seconds after the server started, whichever comes first.

A request that needs the warm-up waits for it (`WarmupGate`). The HTTP sidecar and in-memory
servers warm up before serving, as before (`eager`): its keepers must run without any client.

`StateSlot` is what the lifespan yields: the AppState once it is built. The objects are created
and closed by one owner task (`own`), so their task groups are entered and left in one task.
If building them fails (a data directory that cannot be created, a database that refuses the
connection), the server stays up and says so: the failure is logged once, and every request
that needs the state is answered with it (secrets redacted), so the client shows why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import anyio

if TYPE_CHECKING:
    from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

    from agents_mcp.state import AppState

logger = logging.getLogger("agents_mcp.server")

# requests answered without the warm-up (notifications never wait either)
LIGHT_METHODS = frozenset({"initialize", "server/discover", "ping", "tools/list"})
AFTER_LISTING = 0.005  # seconds: lets the tools/list answer reach the pipe first
IDLE_START = 1.0  # seconds after start-up with no request that triggered it


class StateSlot:
    """The lifespan's yield: the AppState, once built (at once when eager, else by `own`)."""

    def __init__(self) -> None:
        self._wake = anyio.Event()  # a start was asked for (or the server is stopping)
        self._ready = anyio.Event()  # the state is built, or building it failed
        self._stop = anyio.Event()
        self._state: AppState | None = None
        self._failure: BaseException | None = None

    @property
    def state(self) -> AppState:
        if self._state is None:
            raise RuntimeError("the server's state is not ready (warm-up not finished)")
        return self._state

    def set(self, state: AppState | None) -> None:
        """Hold `state` (None: released); an eager lifespan builds it itself."""
        self._state = state
        if state is not None:
            self._wake.set()
            self._ready.set()

    def start(self) -> None:
        self._wake.set()

    def start_later(self, delay: float) -> None:
        """Start after `delay` seconds (a scheduled callback: the caller goes on at once)."""
        if not self._wake.is_set():
            asyncio.get_running_loop().call_later(delay, self._wake.set)

    async def ready(self) -> AppState:
        """The AppState, starting the warm-up if needed and waiting for it. Raises MCPError
        (internal error) when the warm-up failed."""
        self.start()
        await self._ready.wait()
        if self._failure is not None:
            from mcp.shared.exceptions import MCPError
            from mcp.types import INTERNAL_ERROR

            from agents_mcp.logs import redact

            raise MCPError(
                INTERNAL_ERROR, f"agents-mcp could not start: {redact(str(self._failure))}"
            )
        return self.state

    async def own(
        self,
        load: Callable[[], None],
        build: Callable[[], AbstractAsyncContextManager[AppState]],
        on_state: Callable[[AppState | None], None],
    ) -> None:
        """The owner task: wait for a start, `load` (import and register the tools, prompts and
        resources), `build` the state and hold it until `stop`, then close it."""
        with anyio.move_on_after(IDLE_START):
            await self._wake.wait()
        try:
            if self._stop.is_set():
                return
            load()
            async with build() as state:
                self.set(state)
                on_state(state)
                try:
                    await self._stop.wait()
                finally:
                    on_state(None)
                    self.set(None)
        except Exception as exc:  # cancellation is not a failure: it goes on up
            self._failure = exc
            logger.error("could not start: %s", exc, exc_info=logger.isEnabledFor(logging.DEBUG))
        finally:
            self._ready.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()


class WarmupGate:
    """Server middleware: light requests pass (a listing schedules the warm-up); every other
    request waits for it. Notifications pass untouched."""

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        slot = ctx.lifespan_context
        if not isinstance(slot, StateSlot) or ctx.request_id is None:
            return await call_next(ctx)
        if ctx.method in LIGHT_METHODS:
            result = await call_next(ctx)
            if ctx.method == "tools/list":
                slot.start_later(AFTER_LISTING)
            return result
        await slot.ready()
        return await call_next(ctx)
