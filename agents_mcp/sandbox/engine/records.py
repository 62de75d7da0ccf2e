"""Turn records: the transcript entries (the simulated_conversation turn shape), the finished
Simulation, and the per-conversation state (tool events, resolved/verified/closed/truncated).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agents_mcp.api import models
from agents_mcp.jsontypes import JSONObject
from agents_mcp.sandbox.engine.vocabulary import PRICES

if TYPE_CHECKING:
    from agents_mcp.api.request_models import ToolMockConfig
    from agents_mcp.sandbox.engine.agent_doc import AgentView
    from agents_mcp.sandbox.engine.vocabulary import Topic


@dataclass
class Simulation:
    """A finished simulation: the transcript, grouped into stream frames, and the analysis."""

    frames: list[list[JSONObject]]  # each: the entries of one message turn (or the history)
    analysis: JSONObject
    truncated: bool = False  # the turn limit cut the conversation before its natural end

    @property
    def turns(self) -> list[JSONObject]:
        return [turn for frame in self.frames for turn in frame]

    def response(self) -> JSONObject:
        return {"simulated_conversation": self.turns, "analysis": self.analysis}


# Answers a tool call (tool name, the call's parameters) or returns None to leave it to the
# request's mocks and the default results: the agent-testing runs' mock overrides use it.
MockResolver = Callable[[str, JSONObject], "tuple[str, bool] | None"]


@dataclass
class _Event:
    tool: str
    kind: str
    is_error: bool
    role_in_plan: str  # lookup | action | display | extra


@dataclass
class _State:
    resolved: bool = False
    action_attempted: bool = False
    verified: bool = False
    closed: bool = False
    truncated: bool = False
    events: list[_Event] = field(default_factory=list)


def _usage(tokens: int, kind: str) -> models.TokensUsage:
    return models.TokensUsage(tokens=max(tokens, 0), price=round(max(tokens, 0) * PRICES[kind], 9))


def _history_turn(turn: JSONObject, agent_id: str) -> JSONObject:
    """A partial-history entry in the response shape (optional fields filled like the API)."""
    out = models.Turn(
        role=turn["role"],
        agent_metadata=turn.get("agent_metadata")
        or (
            {"agent_id": agent_id, "branch_id": None, "workflow_node_id": None}
            if turn["role"] == "agent"
            else None
        ),
        message=turn.get("message"),
        multivoice_message=turn.get("multivoice_message"),
        tool_calls=turn.get("tool_calls") or [],
        tool_results=turn.get("tool_results") or [],
        feedback=turn.get("feedback"),
        llm_override=turn.get("llm_override"),
        time_in_call_secs=turn.get("time_in_call_secs") or 0,
        conversation_turn_metrics=turn.get("conversation_turn_metrics"),
        rag_retrieval_info=turn.get("rag_retrieval_info"),
        llm_usage=turn.get("llm_usage"),
        interrupted=bool(turn.get("interrupted") or False),
        original_message=turn.get("original_message"),
        source_medium=turn.get("source_medium"),
    )
    return out.model_dump(mode="json")


class SharedState:
    """What the mixins (records, tool_calls, judging) read and write: the conversation
    (dialogue._Conversation) sets it all up. Declarations only, for the type checker."""

    agent: AgentView
    request: models.SimulateRequest
    resolver: MockResolver | None
    rng: random.Random
    mocks: dict[str, ToolMockConfig]
    topic: Topic
    mood: str
    vars: dict[str, str]
    slots: dict[str, str]
    state: _State
    clock: int
    request_counter: int
    frames: list[list[JSONObject]]
    context_tokens: int

    if TYPE_CHECKING:

        def _token(self, n: int) -> str: ...
        def fill(self, text: str) -> str: ...
        def subst(self, text: str) -> str: ...
        def _turn(
            self,
            role: str,
            message: str | None,
            *,
            tool_calls: list[Any] | None = None,
            tool_results: list[Any] | None = None,
        ) -> JSONObject: ...


class TurnRecords(SharedState):
    """Adds user and agent turns (and their tool entries) to the transcript."""

    def _user_say(self, text: str) -> None:
        self.frames.append([self._turn("user", text)])

    def _agent_say(
        self, text: str, *, before: list[JSONObject] | None = None, count: bool = True
    ) -> None:
        del count  # every agent message is one frame; counting happens in the plan
        self.frames.append([*(before or []), self._turn("agent", text)])

    def _turn(
        self,
        role: str,
        message: str | None,
        *,
        tool_calls: list[Any] | None = None,
        tool_results: list[Any] | None = None,
    ) -> JSONObject:
        words = len(message.split()) if message else 0
        started = self.clock  # a turn is stamped when it starts; speaking takes ~2.6 words/s
        self.clock += max(1, round(words / 2.6)) if message else 0
        is_agent = role == "agent"
        out_tokens = int(words * 1.35) + (18 if tool_calls else 0)
        self.context_tokens += out_tokens + 6
        usage = metrics = meta = None
        if is_agent:
            cached = (self.context_tokens // 128) * 64
            usage = models.LLMUsage(
                model_usage={
                    self.agent.llm: models.ModelUsage(
                        input=_usage(self.context_tokens - cached, "input"),
                        input_cache_read=_usage(cached, "input_cache_read"),
                        input_cache_write=models.TokensUsage(tokens=0, price=0.0),
                        output_total=_usage(out_tokens, "output_total"),
                    )
                }
            )
            ttfb = round(self.rng.uniform(0.25, 0.9), 3)
            metrics = {
                "metrics": {
                    "convai_llm_service_ttfb": {"elapsed_time": ttfb},
                    "convai_llm_service_ttf_sentence": {
                        "elapsed_time": round(ttfb + self.rng.uniform(0.1, 0.5), 3)
                    },
                }
            }
            meta = {"agent_id": self.agent.agent_id, "branch_id": None, "workflow_node_id": None}
        turn = models.Turn(
            role=role,
            agent_metadata=meta,
            message=message,
            multivoice_message=None,
            tool_calls=tool_calls or [],
            tool_results=tool_results or [],
            feedback=None,
            llm_override=None,
            time_in_call_secs=started,
            conversation_turn_metrics=metrics,
            rag_retrieval_info=None,
            llm_usage=usage,
            interrupted=False,
            original_message=None,
            source_medium=None,
        )
        return turn.model_dump(mode="json")
