"""One simulation as the server keeps it: the request, the turns received so far, the analysis.

Plain data shared by the runner (fills it), the store (persists it) and the summary (reads it).
Turns and analysis are kept as the JSON objects the API sent, so nothing is lost in translation.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Literal

from agents_mcp.jsontypes import JSONObject

Status = Literal["queued", "running", "done", "failed", "cancelled"]
Backend = Literal["stream", "tests"]  # simulate-conversation/stream, or the agent-testing API
FINISHED: frozenset[str] = frozenset({"done", "failed", "cancelled"})

_ID_RE = re.compile(r"^sim_[0-9a-f]{16}$")


def new_simulation_id() -> str:
    return "sim_" + secrets.token_hex(8)


def is_simulation_id(value: str) -> bool:
    return bool(_ID_RE.match(value))


@dataclass
class SimulationRecord:
    simulation_id: str
    agent_id: str
    request: JSONObject
    created_at: float
    status: Status = "queued"
    started_at: float | None = None
    finished_at: float | None = None
    turns: list[JSONObject] = field(default_factory=list)
    analysis: JSONObject | None = None
    error: str | None = None  # a message for the model, never a key or a header
    error_type: str | None = None  # the error class, e.g. "StreamError"
    frames: int = 0  # stream frames received, or invocation polls on the tests backend
    backend: Backend = "stream"
    # on the tests backend: test_id, invocation_id (to resume or clean up), criteria (id and name
    # of each success condition, in order), credits_used, notes, test_deleted
    upstream: JSONObject = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def raw_result(self) -> JSONObject:
        """The body the non-streamed endpoint would have answered with."""
        return {"simulated_conversation": self.turns, "analysis": self.analysis}

    def raw_json(self) -> str:
        """`raw_result()` as compact JSON: what `detail="full"` pages through."""
        return json.dumps(self.raw_result(), ensure_ascii=False, separators=(",", ":"))

    def document(self) -> JSONObject:
        """Everything known, for the `simulation://` resource."""
        return {
            "simulation_id": self.simulation_id,
            "agent_id": self.agent_id,
            "status": self.status,
            "error": self.error,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "frames": self.frames,
            "backend": self.backend,
            "upstream": self.upstream,
            "request": self.request,
            **self.raw_result(),
        }
