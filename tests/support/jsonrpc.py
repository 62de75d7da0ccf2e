"""Raw JSON-RPC messages, as a client writes them on the stdio pipes (one JSON per line)."""

from __future__ import annotations

import json
from typing import Any

INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def initialize(request_id: Any = 1, version: str = "2025-06-18", **params: Any) -> dict:
    """An `initialize` request; `params` replace the default fields (clientInfo=..., ...)."""
    body = {
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    }
    return {"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": body | params}


def request(request_id: Any, method: str, params: Any = None) -> dict:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def lines(*messages: dict) -> bytes:
    """The messages as newline-delimited JSON."""
    return b"".join(json.dumps(m).encode() + b"\n" for m in messages)
