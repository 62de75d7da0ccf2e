"""Shared test fixtures. Async tests use anyio's pytest plugin (installed with mcp)."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
