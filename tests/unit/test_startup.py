"""Start-up work moved off the critical path keeps its result: the TLS context built in a thread
while the server starts is httpx2's own default (CA bundle loaded, hostnames checked), and it goes
to one client only; a client given its own `verify=` keeps it."""

from __future__ import annotations

import ssl

import pytest

from agents_mcp.api import http as http_module
from agents_mcp.api.http import create_http_client, prepare_tls_context

pytestmark = pytest.mark.anyio


def _context(client) -> ssl.SSLContext:
    return client._transport._pool._ssl_context


async def test_prepared_tls_context_is_httpx_default_and_used_once() -> None:
    prepare_tls_context()
    first = create_http_client(None)
    second = create_http_client(None)
    try:
        prepared = _context(first)
        assert prepared.verify_mode == ssl.CERT_REQUIRED and prepared.check_hostname
        assert prepared.cert_store_stats()["x509_ca"] > 0  # the CA bundle is loaded
        assert _context(second) is not prepared
    finally:
        await first.aclose()
        await second.aclose()


async def test_an_explicit_verify_wins_over_the_prepared_context() -> None:
    prepare_tls_context()
    own = ssl.create_default_context()
    client = create_http_client(None, verify=own)
    try:
        assert _context(client) is own
    finally:
        await client.aclose()
    assert http_module._prepared_tls is None  # dropped, not kept for a later client
