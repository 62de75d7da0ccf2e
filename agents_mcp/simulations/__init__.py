"""Simulations: background jobs with progress (runner), compact views (summary), SQLite (store)."""

from agents_mcp.simulations.record import SimulationRecord
from agents_mcp.simulations.runner import (
    Progress,
    SimulationBusyError,
    SimulationManager,
    UnknownSimulationError,
)

__all__ = [
    "Progress",
    "SimulationBusyError",
    "SimulationManager",
    "SimulationRecord",
    "UnknownSimulationError",
]
