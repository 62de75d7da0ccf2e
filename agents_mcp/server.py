"""The MCP server: tools chosen by the settings, one lifespan owning the shared clients, stdio.

`build_server` returns the `MCPServer`; `run_stdio` serves it over stdin/stdout (on uvloop when
installed), optionally against an embedded sandbox. Heavy modules (httpx2, the API client, the
simulation store, the sandbox) are imported inside the lifespan or only when needed, so that a
desktop client spawning the server gets its tool list quickly.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import anyio
from mcp.server import MCPServer
from mcp.server.extension import Extension
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.request_state import RequestStateSecurity
from mcp.types import CallToolResult, InputRequiredResult, Tool
from pydantic import SecretStr, ValidationError

from agents_mcp import __version__
from agents_mcp.errors import ConfigError
from agents_mcp.handshake import SERVER_NAME, EarlyAnswers
from agents_mcp.logs import register_secret, setup_logging
from agents_mcp.settings import Settings
from agents_mcp.state import AppState
from agents_mcp.tools import catalogue, registry
from agents_mcp.tools.enabled import enabled_tools
from agents_mcp.warmup import StateSlot, WarmupGate

logger = logging.getLogger("agents_mcp.server")


# --- the server ----------------------------------------------------------------------------------


class AgentsMCPServer(MCPServer[StateSlot]):
    """An MCPServer that lists its tools from the catalogue (tools/catalogue.py) and loads
    their handlers when `load_handlers` is called (at build time, or in the warm-up:
    agents_mcp/warmup.py); a tool called before that is loaded alone, on its call.

    Output schemas are not listed: results carry structured content all the same (the viewer
    and scripts read it), but no model needs its schema to call a tool, and eleven of them cost
    ~1.5 KB in every conversation.

    `state` is the lifespan's AppState while the server runs (None before and after), so a
    transport can reach the running simulations (the HTTP sidecar interrupts them on SIGTERM).
    """

    state: AppState | None = None

    def __init__(self, *, enabled: frozenset[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.enabled = enabled
        self._registered: set[str] = set()
        self._handlers_loaded = False

    def load_handlers(self) -> None:
        """Import and register every enabled tool, their resources and the prompts (once)."""
        if self._handlers_loaded:
            return
        self._handlers_loaded = True
        from agents_mcp import prompts

        registry.register(self, self.enabled, already=self._registered)
        self._registered.update(self.enabled)
        prompts.register(self, self.enabled)

    def _ensure_tool(self, name: str) -> None:
        """Register one tool before the rest are loaded (its module only): a first call does
        not wait for the other tools' modules (agents_mcp/warmup.py)."""
        if name in self.enabled and name not in self._registered:
            registry.add_to(self, registry.definition(name))
            self._registered.add(name)

    async def list_tools(self) -> list[Tool]:
        return catalogue.listed(self.enabled)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Any = None
    ) -> CallToolResult | InputRequiredResult:
        from agents_mcp.tools.errors import invalid_arguments, unknown_arguments

        known = catalogue.argument_names(name) if name in self.enabled else None
        unknown = [key for key in arguments if key not in known] if known is not None else []
        if unknown:
            # pydantic ignores arguments a tool does not take: a misspelt or removed one
            # (get_simulation's old `cancel`) would silently do nothing
            raise ToolError(unknown_arguments(name, unknown, list(known or ())))
        self._ensure_tool(name)
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise
        except ToolError as exc:
            # Arguments that do not fit the schema: a short field list instead of pydantic's
            # multi-line report (which echoes the rejected values and links to its docs).
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(invalid_arguments(name, exc.__cause__)) from exc.__cause__
            raise

    async def run_stdio_async(self, early: EarlyAnswers | None = None) -> None:
        """Serve over stdin/stdout on the loop's own pipes (agents_mcp.stdio), no worker threads,
        taking over from `early` (the handshake answered before the SDK was imported)."""
        from agents_mcp.stdio import stdio_streams

        lowlevel = self._lowlevel_server
        async with stdio_streams(early) as (read_stream, write_stream):
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


# --- lifespan --------------------------------------------------------------------------------


@asynccontextmanager
async def _test_runs(settings: Settings, api: Any, store: Any) -> AsyncIterator[Any]:
    """The test-run manager over `store`, the simulations' Store (opened and closed by them)."""
    from agents_mcp.testing.runner import TestRunManager
    from agents_mcp.testing.store import StoredTestRuns

    runs = StoredTestRuns(store, max_stored=settings.max_stored_simulations)
    await runs.import_legacy()
    async with TestRunManager(api, runs, poll_seconds=settings.poll_seconds) as manager:
        yield manager


@asynccontextmanager
async def _app_state(settings: Settings) -> AsyncIterator[AppState]:
    """The objects every tool shares: HTTP client, API, store, simulation and test-run managers."""
    from agents_mcp.api.http import prepare_tls_context

    prepare_tls_context()  # in a thread (OpenSSL reads the CA bundle without the GIL)
    from agents_mcp.api import AgentsAPI, create_http_client
    from agents_mcp.simulations import SimulationManager
    from agents_mcp.stores import make_store

    async with AsyncExitStack() as stack:
        http = create_http_client(settings)
        stack.push_async_callback(http.aclose)
        api = AgentsAPI.from_settings(settings, http=http)
        stack.push_async_callback(api.aclose)
        url = settings.database_url.get_secret_value() if settings.database_url else None
        store = make_store(settings.simulation_data_dir, url)  # one for every kind of job
        simulations = await stack.enter_async_context(
            SimulationManager(
                api,
                data_dir=settings.simulation_data_dir,
                max_concurrent=settings.max_concurrent_simulations,
                max_stored=settings.max_stored_simulations,
                backend=settings.simulation_backend,
                poll_seconds=settings.poll_seconds,
                simulation_timeout=settings.simulation_timeout,
                store=store,
            )
        )
        test_runs = await stack.enter_async_context(_test_runs(settings, api, store))
        logger.info("serving the API at %s", settings.api_base_url)
        yield AppState(settings=settings, api=api, simulations=simulations, test_runs=test_runs)


def _lifespan(settings: Settings, *, deferred: bool) -> Callable[[Any], Any]:
    """The server's lifespan: yields a StateSlot. `deferred`: the state is built by the warm-up
    (agents_mcp/warmup.py); else before the first message is read, as MCP servers usually do."""

    @asynccontextmanager
    async def lifespan(server: AgentsMCPServer) -> AsyncIterator[StateSlot]:
        slot = StateSlot()

        def publish(state: AppState | None) -> None:
            server.state = state

        if not deferred:  # build_server loaded the handlers
            async with _app_state(settings) as state:
                slot.set(state)
                publish(state)
                try:
                    yield slot
                finally:
                    publish(None)
                    slot.set(None)
            return
        async with anyio.create_task_group() as owner:
            owner.start_soon(slot.own, server.load_handlers, lambda: _app_state(settings), publish)
            try:
                yield slot
            finally:
                slot.stop()

    return lifespan


# --- build -----------------------------------------------------------------------------------


def _extensions(enabled: frozenset[str]) -> list[Extension]:
    """The MCP Apps viewer (resource + capability) when an enabled tool is shown in it."""
    from agents_mcp.report import VIEWER_URI, viewer_extension

    for entry in catalogue.entries():
        ui = entry.wire.get("_meta", {}).get("ui")
        if entry.name in enabled and isinstance(ui, dict) and ui.get("resourceUri") == VIEWER_URI:
            return [viewer_extension()]
    return []


def build_server(
    settings: Settings,
    *,
    api_base_url: str | None = None,
    api_key: str | None = None,
    request_state_security: RequestStateSecurity | None = None,
    deferred: bool = False,
) -> AgentsMCPServer:
    """The server with the tools the settings enable. Raises ConfigError for unknown tool names.

    `api_base_url` / `api_key` override the settings (the embedded sandbox uses them).
    `request_state_security` seals multi-round-trip tool calls with shared keys (replicas).
    `deferred`: answer initialize and tools/list before loading the tools and building the
    shared objects (the stdio server: agents_mcp/warmup.py); else load everything first.
    """
    updates: dict[str, Any] = {}
    if api_base_url is not None:
        updates["base_url"] = api_base_url.rstrip("/")
    if api_key is not None:
        updates["api_key"] = SecretStr(api_key)
    effective = settings.model_copy(update=updates) if updates else settings
    if effective.api_key is not None:
        register_secret(effective.api_key.get_secret_value())
    if effective.auth_token is not None:
        register_secret(effective.auth_token.get_secret_value())
    if effective.database_url is not None:
        url = effective.database_url.get_secret_value()
        register_secret(url)
        register_secret(urlsplit(url).password)  # as psycopg may echo it alone
    # a proxy's credentials in ELEVENLABS_BASE_URL: errors and logs name the URL
    register_secret(urlsplit(effective.api_base_url).password)

    enabled = enabled_tools(effective)
    mcp = AgentsMCPServer(
        enabled=enabled,
        name=SERVER_NAME,
        version=__version__,
        instructions=registry.instructions(enabled),
        lifespan=_lifespan(effective, deferred=deferred),
        log_level=effective.log_level,
        request_state_security=request_state_security,
        extensions=_extensions(enabled),
        middleware=[WarmupGate()],
    )
    if not deferred:
        mcp.load_handlers()
    from agents_mcp import completions, mcp_logging

    completions.install(mcp, lambda: mcp.state)
    mcp_logging.install(mcp)
    return mcp


# --- stdio -----------------------------------------------------------------------------------


def run_async(main: Callable[[], Awaitable[Any]]) -> None:
    """anyio.run on uvloop when it is installed (not on Windows), else the default loop."""
    if importlib.util.find_spec("uvloop") is not None:
        anyio.run(main, backend="asyncio", backend_options={"use_uvloop": True})
    else:
        anyio.run(main)


def run_stdio(settings: Settings, sandbox: bool = False, early: EarlyAnswers | None = None) -> int:
    """Serve MCP over stdin/stdout until the client closes stdin. Returns the exit code.
    `early`: the handshake thread started before this module was imported (cli.py)."""
    secrets = [s.get_secret_value() for s in (settings.api_key, settings.auth_token) if s]
    setup_logging(settings.log_level, json=settings.log_json, secrets=secrets)
    try:
        enabled_tools(settings)  # a bad AGENTS_MCP_TOOLS fails before anything starts
    except ConfigError as exc:
        print(f"agents-mcp: {exc}", file=sys.stderr)
        return 2

    async def main() -> None:
        if not sandbox:
            await build_server(settings, deferred=True).run_stdio_async(early)
            return
        from agents_mcp.sandbox import DEFAULT_API_KEY, SandboxServer

        key = settings.api_key.get_secret_value() if settings.api_key else DEFAULT_API_KEY
        async with SandboxServer(api_key=key) as sb:
            logger.info("embedded sandbox at %s", sb.base_url)
            server = build_server(settings, api_base_url=sb.base_url, api_key=key, deferred=True)
            await server.run_stdio_async(early)

    try:
        run_async(main)
    except KeyboardInterrupt:
        return 130
    return 0
