"""The HTTP sidecar's public entry points (the pieces live in agents_mcp.sidecar)."""

from agents_mcp.sidecar.app import build_http_app
from agents_mcp.sidecar.serve import run_http

__all__ = ["build_http_app", "run_http"]
