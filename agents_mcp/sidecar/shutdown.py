"""On SIGTERM, stop this process's running simulations at once, so the tool calls waiting on them
answer normally (status, simulation_id, the turns so far) before the HTTP streams are drained."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("agents_mcp.http")

INTERRUPTED_MESSAGE = (
    "Interrupted: the server is shutting down (redeploy or restart). The turns received so far "
    "are kept; start the simulation again once the server is back."
)


def interrupt_simulations(mcp: Any) -> int:
    """Cancel every simulation this process runs or queues; returns how many were stopped."""
    state = getattr(mcp, "state", None)  # AgentsMCPServer.state: set while the lifespan runs
    if state is None:
        return 0
    stopped = state.simulations.interrupt_all(INTERRUPTED_MESSAGE)
    if stopped:
        logger.warning("shutting down: interrupted %d running simulation(s)", stopped)
    return stopped
