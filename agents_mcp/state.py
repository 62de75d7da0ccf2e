"""The objects the tools share: one AppState per process, built by the server's lifespan or its
warm-up (agents_mcp/warmup.py), read by tools through `app_state(ctx)`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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


def app_state(ctx: Any) -> AppState:
    """The AppState behind a tool's `ctx` (the lifespan yields a StateSlot holding it; a tool
    handler only runs once it is built: warmup.WarmupGate)."""
    from agents_mcp.warmup import StateSlot

    slot = ctx.request_context.lifespan_context
    if not isinstance(slot, StateSlot):
        raise TypeError(f"the lifespan yielded {type(slot).__name__}, not a StateSlot")
    return slot.state
