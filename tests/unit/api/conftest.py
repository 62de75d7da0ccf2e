"""Fixtures of the API client tests: one scripted HTTP server on loopback per module."""

from collections.abc import Iterator

import pytest

from tests.support.apiserver import APITestServer


@pytest.fixture(scope="module")
def server() -> Iterator[APITestServer]:
    """A scripted API server (real HTTP on 127.0.0.1) shared by one test module."""
    with APITestServer() as srv:
        yield srv


@pytest.fixture
def srv(server: APITestServer) -> APITestServer:
    """The module's scripted server with its scripts and request log cleared."""
    server.reset()
    return server
