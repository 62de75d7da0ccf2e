"""What the server loads after it has answered `tools/list`, and the gate that waits for it.

A desktop client spawns the stdio server and waits for `initialize` and `tools/list` before it
shows the tools. Neither needs the tool modules or the lifespan's objects: the server answers
them from the catalogue (tools/catalogue.py), often before the SDK is even imported
(agents_mcp/handshake.py). The rest is the warm-up, in two steps:

1. the state: the shared objects (HTTP client, API, store, simulation and test-run managers),
   built 5 ms after the first `tools/list` answer, at the first request that needs them, or
   `IDLE_START` seconds after start-up, whichever comes first. A tool call waits for this step
   only; the server then imports and registers just the called tool (server.py);
2. everything else: every tool module and registration, the prompts and resources, loaded
   5 ms after the first tool call is answered, at the first request that needs them (prompts,
   resources, completions, logging/setLevel), or `IDLE_START` seconds after the state.

`WarmupGate` holds each request until what it needs is there. The HTTP sidecar and in-memory
servers load everything before serving, as before (their keepers must run without a client).

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
AFTER_ANSWER = 0.005  # seconds: lets the answer that scheduled a step reach the pipe first
IDLE_START = 1.0  # seconds a step waits for a request to start it


class StateSlot:
    """The lifespan's yield: the AppState once built (at once when eager, else by `own`)."""

    def __init__(self) -> None:
        self._wake = anyio.Event()  # build the state (asked for, or the server is stopping)
        self._built = anyio.Event()  # the state is built, or building it failed
        self._load_asked = anyio.Event()  # load everything else
        self._loaded = anyio.Event()  # everything is loaded, or the warm-up failed
        self._stop = anyio.Event()
        self._state: AppState | None = None
        self._failure: BaseException | None = None

    @property
    def state(self) -> AppState:
        if self._state is None:
            raise RuntimeError("the server's state is not ready (warm-up not finished)")
        return self._state

    def set(self, state: AppState | None) -> None:
        """Hold `state` (None: released): an eager lifespan builds and loads everything itself."""
        self._state = state
        if state is not None:
            for event in (self._wake, self._built, self._load_asked, self._loaded):
                event.set()

    def start(self) -> None:
        self._wake.set()

    def start_later(self, delay: float) -> None:
        """Build the state after `delay` seconds (a scheduled callback: the caller goes on)."""
        if not self._wake.is_set():
            asyncio.get_running_loop().call_later(delay, self._wake.set)

    def load_later(self, delay: float) -> None:
        """Load everything after `delay` seconds (once the state is built)."""
        if not self._load_asked.is_set():
            asyncio.get_running_loop().call_later(delay, self._load_asked.set)

    async def state_ready(self) -> AppState:
        """The AppState, building it if needed. Raises MCPError when the warm-up failed."""
        if not self._built.is_set():  # (waiting on a set event would still yield to the loop)
            self.start()
            await self._built.wait()
        return self._checked()

    async def ready(self) -> AppState:
        """The AppState once everything is loaded. Raises MCPError when the warm-up failed."""
        if not self._loaded.is_set():
            self.start()
            self._load_asked.set()
            await self._loaded.wait()
        return self._checked()

    def _checked(self) -> AppState:
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
        """The owner task: wait for a start, `build` the state, then `load` (import and register
        every tool, the prompts and resources) when asked; hold the state until `stop`."""
        with anyio.move_on_after(IDLE_START):
            await self._wake.wait()
        try:
            if self._stop.is_set():
                return
            async with build() as state:
                self._state = state
                on_state(state)
                self._built.set()
                try:
                    with anyio.move_on_after(IDLE_START):
                        await self._load_asked.wait()
                    if not self._stop.is_set():
                        load()
                    self._loaded.set()
                    await self._stop.wait()
                finally:
                    on_state(None)
                    self._state = None
        except Exception as exc:  # cancellation is not a failure: it goes on up
            self._failure = exc
            logger.error("could not start: %s", exc, exc_info=logger.isEnabledFor(logging.DEBUG))
        finally:
            self._built.set()
            self._loaded.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._load_asked.set()


class WarmupGate:
    """Server middleware: light requests pass (a listing schedules the state); a tool call waits
    for the state (and schedules the rest once answered); every other request waits for
    everything. Notifications pass untouched."""

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        slot = ctx.lifespan_context
        if not isinstance(slot, StateSlot) or ctx.request_id is None:
            return await call_next(ctx)
        if ctx.method in LIGHT_METHODS:
            result = await call_next(ctx)
            if ctx.method == "tools/list":
                slot.start_later(AFTER_ANSWER)
            return result
        if ctx.method == "tools/call":
            await slot.state_ready()
            try:
                return await call_next(ctx)
            finally:
                slot.load_later(AFTER_ANSWER)
        await slot.ready()
        return await call_next(ctx)
