"""Shared test fixtures. Async tests use anyio's pytest plugin (installed with mcp)."""

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

from agents_mcp.settings import ENV_VARS
from tests.support.sandbox_fixture import SandboxHandle

if TYPE_CHECKING:
    from tests.support.postgres_fixture import PostgresServer

# CI draws the same hypothesis examples on every run, so a submission never fails on a new draw;
# local runs draw new ones each time, to keep finding what CI would not.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _no_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every setting the code reads (agents_mcp.settings.ENV_VARS: ELEVENLABS_*, AGENTS_MCP_*) is
    unset, so a developer's key or AGENTS_MCP_READ_ONLY never changes a test. Tests that need a
    setting pass it: `Settings(...)`, `load_settings(env=...)`, `monkeypatch.setenv`, or the
    environment of the subprocess they start (tests/support/mcp_fixture.py `sandbox_env`). Test-only
    knobs (AGENTS_MCP_UPDATE_SNAPSHOTS, AGENTS_MCP_FUZZ_EXAMPLES ...) are not settings: kept."""
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxHandle]:
    """One sandbox (real HTTP on 127.0.0.1, ephemeral port) for the whole session."""
    from agents_mcp.sandbox import SandboxServer

    with SandboxServer(api_key="sk_sandbox_test_key", max_concurrent=50) as server:
        handle = SandboxHandle(server)
        yield handle
        handle.close()


@pytest.fixture
def fresh_sandbox(sandbox: SandboxHandle) -> Iterator[SandboxHandle]:
    """The session sandbox, with faults, request log and settings reset before and after."""
    sandbox.reset()
    yield sandbox
    sandbox.reset()


@pytest.fixture(scope="session")
def postgres() -> Iterator["PostgresServer"]:
    """A real PostgreSQL on 127.0.0.1 for the session (fails, never skips, when it is missing)."""
    from tests.support.postgres_fixture import PostgresServer

    try:
        server = PostgresServer()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server.start()
    finally:
        server.cleanup()


@pytest.fixture
def pg_url(postgres: "PostgresServer") -> str:
    """The URL of a fresh database on the session's PostgreSQL."""
    return postgres.create_database()
