"""On SIGTERM, stop this process's running simulations at once, so the tool calls waiting on them
answer normally (status, simulation_id, the turns so far) before the HTTP streams are drained."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcp.server import MCPServer

    from agents_mcp.state import AppState

logger = logging.getLogger("agents_mcp.http")

INTERRUPTED_MESSAGE = (
    "Interrupted: the server is shutting down (redeploy or restart). The turns received so far "
    "are kept; start the simulation again once the server is back."
)


def interrupt_simulations(mcp: MCPServer) -> int:
    """Cancel every simulation this process runs or queues; returns how many were stopped."""
    # AgentsMCPServer.state: set while the lifespan runs
    state: AppState | None = getattr(mcp, "state", None)
    if state is None:
        return 0
    stopped: int = state.simulations.interrupt_all(INTERRUPTED_MESSAGE)
    if stopped:
        logger.warning("shutting down: interrupted %d running simulation(s)", stopped)
    return stopped
