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


def running_state(mcp: Any) -> Any:
    """The lifespan state (AppState) of a server whose HTTP app is running, else None.

    The SDK keeps it on the session manager (`_lifespan_state`, set while `run()` is active);
    it has no public accessor in mcp 2.x. If that changes, this returns None and the
    SimulationManager's own exit (at lifespan shutdown) still stores the partial results.
    """
    try:
        manager = mcp.session_manager
    except (AttributeError, RuntimeError):
        return None
    return getattr(manager, "_lifespan_state", None)


def interrupt_simulations(mcp: Any) -> int:
    """Cancel every simulation this process runs or queues; returns how many were stopped."""
    simulations = getattr(running_state(mcp), "simulations", None)
    if simulations is None:
        return 0
    stopped = 0
    for simulation_id in simulations.store.ids():
        if simulations.cancel_nowait(simulation_id, INTERRUPTED_MESSAGE):
            stopped += 1
    if stopped:
        logger.warning("shutting down: interrupted %d running simulation(s)", stopped)
    return stopped
