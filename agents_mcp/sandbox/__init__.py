"""The sandbox: an offline emulator of the ElevenLabs Agents API, good enough for the official SDK.

    from agents_mcp.sandbox import DEFAULT_API_KEY, SandboxServer, create_app, run_sandbox

The accepted `xi-api-key` is ELEVENLABS_API_KEY when that is set, else DEFAULT_API_KEY.
See docs/sandbox.md.
"""

from agents_mcp.sandbox.app import DEFAULT_API_KEY, DEFAULT_MAX_CONCURRENT, create_app
from agents_mcp.sandbox.runner import SandboxServer, run_sandbox

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_MAX_CONCURRENT",
    "SandboxServer",
    "create_app",
    "run_sandbox",
]
