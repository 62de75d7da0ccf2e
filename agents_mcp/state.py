"""What the server's lifespan yields: one per process, read by tools through
`ctx.request_context.lifespan_context`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # kept out of the start-up path; the lifespan imports them
    from agents_mcp.api import AgentsAPI
    from agents_mcp.settings import Settings
    from agents_mcp.simulations import SimulationManager
    from agents_mcp.testing.runner import TestRunManager


@dataclass(frozen=True)
class AppState:
    settings: Settings
    api: AgentsAPI
    simulations: SimulationManager
    test_runs: TestRunManager | None = None
