"""Which tools the server offers: AGENTS_MCP_TOOLS and AGENTS_MCP_READ_ONLY over the catalogue.

Read before the MCP SDK is imported (agents_mcp/handshake.py answers tools/list with it), so
this module imports the catalogue and the settings only.
"""

from __future__ import annotations

import logging

from agents_mcp.errors import ConfigError
from agents_mcp.settings import Settings
from agents_mcp.tools import catalogue

logger = logging.getLogger("agents_mcp.server")


def enabled_tools(settings: Settings) -> frozenset[str]:
    """The tools to offer: AGENTS_MCP_TOOLS (if set), minus the mutating ones when read-only."""
    names = catalogue.tool_names()
    if settings.tools is not None:
        # a secret pasted into the wrong variable is not echoed back
        secrets = {s.get_secret_value() for s in (settings.api_key, settings.auth_token) if s}
        unknown = [
            "(a secret value)" if name in secrets else name
            for name in settings.tools
            if name not in names
        ]
        if unknown:
            raise ConfigError(
                f"AGENTS_MCP_TOOLS names unknown tool(s): {', '.join(unknown)}. "
                f"Valid names: {', '.join(names)}.",
                setting="AGENTS_MCP_TOOLS",
            )
        chosen = frozenset(settings.tools)
    else:
        chosen = frozenset(names)
    if settings.read_only:
        mutating = catalogue.mutating_tools()
        dropped = chosen & mutating
        chosen -= mutating
        if dropped and settings.tools is not None:
            logger.warning(
                "AGENTS_MCP_READ_ONLY removes %s from AGENTS_MCP_TOOLS", ", ".join(sorted(dropped))
            )
    if not chosen:
        raise ConfigError(
            "No tool left to offer: AGENTS_MCP_TOOLS is empty or lists only tools that "
            f"AGENTS_MCP_READ_ONLY removes. Valid names: {', '.join(names)}.",
            setting="AGENTS_MCP_TOOLS",
        )
    return chosen
