"""Judging: evaluation criteria verdicts with a rationale, data-collection values, the summary
and the call_successful outcome of the analysis.
"""

from __future__ import annotations

import re
from typing import Any

from agents_mcp.api import models
from agents_mcp.jsontypes import JSONObject
from agents_mcp.sandbox.engine.agent_doc import _list, _str
from agents_mcp.sandbox.engine.records import SharedState
from agents_mcp.sandbox.engine.text import _keywords, _third_person
from agents_mcp.sandbox.engine.vocabulary import NUMBERS, RESULT_DIRECTIVE

_COLLECT_WORDS = (
    "order",
    "email",
    "mail",
    "name",
    "sentiment",
    "mood",
    "satisf",
    "feeling",
    "intent",
    "issue",
    "reason",
    "topic",
    "category",
    "type",
    "request",
    "resolv",
)


class Judging(SharedState):
    """Judges the finished conversation: criteria, data collection, summary."""

    def _analysis(self) -> JSONObject:
        turns = [t for frame in self.frames for t in frame]
        text = " ".join((t.get("message") or "") for t in turns)
        criteria = list(self.agent.criteria) + [
            c.model_dump(mode="json") for c in (self.request.extra_evaluation_criteria or [])
        ]
        results = {}
        for crit in criteria:
            cid = str(crit.get("id") or crit.get("name") or "criterion")
            goal = _str(crit.get("conversation_goal_prompt"))
            result, why = self._judge(goal, text, turns)
            results[cid] = models.CriterionResult(criteria_id=cid, result=result, rationale=why)
        outcomes = {r.result for r in results.values()}
        if "failure" in outcomes:
            success = "failure"
        elif results and outcomes == {"success"}:
            success = "success"
        elif not results:
            success = (
                "success"
                if self.state.resolved
                else ("unknown" if self.state.truncated else "failure")
            )
        else:
            success = "unknown"
        collected = {
            key: self._collect(key, spec, text) for key, spec in self.agent.data_collection.items()
        }
        analysis = models.Analysis(
            call_successful=success,
            transcript_summary=self._summary(),
            call_summary_title=self.fill(self.topic.title),
            evaluation_criteria_results=results,
            data_collection_results=collected,
        )
        return analysis.model_dump(mode="json")

    def _judge(self, goal: str, text: str, turns: list[JSONObject]) -> tuple[str, str]:
        forced = RESULT_DIRECTIVE.search(goal)
        if forced:
            word = forced.group(1).lower()
            result = "failure" if word.startswith("fail") else word
            return result, f"The sandbox was told to report {result} for this criterion."
        low_goal = goal.lower()
        messages = sum(1 for t in turns if t.get("message"))
        if messages < 3:
            return "unknown", "The conversation is too short to judge this criterion."
        errors = [e for e in self.state.events if e.is_error]
        if any(
            w in low_goal
            for w in (
                "resolv",
                "solve",
                "complet",
                "refund",
                "book",
                "confirm",
                "cancel",
                "fix",
                "issue",
                "problem",
                "goal",
                "help",
            )
        ):
            if not self.state.resolved:
                reason = (
                    f"the {errors[0].tool} tool returned an error"
                    if errors
                    else "the conversation ended before the request was completed"
                )
                return "failure", f"The user's request was not completed: {reason}."
            return (
                "success",
                f"The agent was able to {self.topic.action} and confirmed it to the user.",
            )
        if any(w in low_goal for w in ("tool", "look up", "lookup", "check", "verif", "identity")):
            if errors:
                return (
                    "failure",
                    f"The {errors[0].tool} call failed, so the agent could not verify the details.",
                )
            if not self.state.verified:
                return "failure", "The agent did not verify the user's details before acting."
        if any(
            w in low_goal
            for w in (
                "polite",
                "empath",
                "courteous",
                "friendly",
                "respect",
                "tone",
                "professional",
                "calm",
            )
        ):
            return (
                "success",
                "The agent stayed polite and acknowledged the user's situation throughout.",
            )
        keywords = _keywords(low_goal)
        if not keywords:
            return "success", "Nothing in the transcript contradicts this goal."
        found = [k for k in keywords if k in text.lower()]
        negated = any(w in low_goal.split() for w in ("never", "not", "avoid", "without", "don't"))
        if negated:
            return "success", "The agent did not do what this criterion forbids."
        if len(found) * 3 >= len(keywords):
            shown = ", ".join(_word_of(k, low_goal) for k in found[:4])
            return "success", f"The transcript covers the goal (mentions: {shown})."
        missing = ", ".join(_word_of(k, low_goal) for k in keywords if k not in found)
        return "failure", f"The transcript never addresses: {missing}."

    def _collect(self, key: str, spec: JSONObject, text: str) -> models.DataCollectionResult:
        kind = _str(spec.get("type")) or "string"
        description = _str(spec.get("description"))
        enum = [str(o) for o in _list(spec.get("enum"))]
        low = key.lower().replace("_", " ")
        if not any(w in low for w in _COLLECT_WORDS):
            low = f"{low} {description}".lower()
        s = self.slots
        value: Any = None
        why = "The information was not mentioned in the conversation."
        full = f"{key} {description}".lower().replace("_", " ")
        if kind == "boolean":
            outcome = (
                "resolv",
                "success",
                "done",
                "issued",
                "complet",
                "processed",
                "booked",
                "confirmed",
                "fixed",
                "cancelled",
                "sent",
            )
            if any(w in full for w in outcome):
                value = self.state.resolved
                why = f"The request was {'completed' if value else 'not completed'}."
            else:
                value = self.topic.key in full or any(w in full for w in self.topic.keywords)
                why = f"The conversation was about {self.topic.title.lower()}."
        elif kind in ("integer", "number") and any(w in full for w in ("party", "guest", "people")):
            value = NUMBERS.index(s["party"]) + 1
            why = f"The user asked for a table for {s['party']}."
        elif kind in ("integer", "number") and any(w in full for w in ("amount", "price", "cost")):
            amount = float(s["amount"].lstrip("$"))
            value, why = (int(amount) if kind == "integer" else amount), "The amount discussed."
        elif kind in ("integer", "number"):
            numbers = re.findall(r"\d+(?:\.\d+)?", text)
            if numbers:
                value = int(float(numbers[0])) if kind == "integer" else float(numbers[0])
                why = "The first number mentioned in the conversation."
        elif enum:
            options = enum
            value = next(
                (
                    o
                    for o in options
                    if o.lower().replace("_", " ") in self.topic.title.lower()
                    or self.topic.key in o.lower()
                ),
                options[0],
            )
            why = f"The conversation was about {self.topic.title.lower()}."
        elif "order" in low and s["order_id"] in text:
            value, why = s["order_id"], "The user gave the order number."
        elif "email" in low and s["email"] in text:
            value, why = s["email"], "The user gave their email address."
        elif "name" in low and s["name"] in text:
            value, why = s["name"], "The user gave their name."
        elif any(w in low for w in ("sentiment", "mood", "satisf", "feeling")):
            value = (
                "negative"
                if self.mood == "frustrated" and not self.state.resolved
                else ("neutral" if self.mood == "frustrated" else "positive")
            )
            resolved = "resolved" if self.state.resolved else "not resolved"
            why = f"The user sounded {self.mood} and the issue was {resolved}."
        elif any(
            w in low for w in ("intent", "issue", "reason", "topic", "category", "type", "request")
        ):
            value, why = self.topic.key, f"The user wanted {self.fill(self.topic.issue)}."
        schema: JSONObject = {
            "type": kind if kind in ("boolean", "string", "integer", "number") else "string"
        }
        if description:
            schema["description"] = description
        if enum:
            schema["enum"] = enum
        return models.DataCollectionResult(
            data_collection_id=key, value=value, json_schema=schema, rationale=why
        )

    def _summary(self) -> str:
        agent = self.agent.persona if self.agent.persona != "the assistant" else "The agent"
        company = f" from {self.agent.company}" if self.agent.company else ""
        mood = {"frustrated": "frustrated ", "confused": "somewhat confused ", "polite": ""}.get(
            self.mood, ""
        )
        issue = _third_person(self.fill(self.topic.issue)).replace("your ", "the agent's ")
        wants = f"wanting {issue}" if issue.startswith("to ") else f"asking for {issue}"
        parts = [f"A {mood}user contacted {agent}{company} {wants}."]
        tools = [e for e in self.state.events]
        if tools:
            called = ", ".join(dict.fromkeys(e.tool for e in tools))
            parts.append(f"The agent used the {called} tool{'s' if len(tools) > 1 else ''}.")
        failed = [e.tool for e in tools if e.is_error]
        if failed:
            parts.append(f"The {', '.join(dict.fromkeys(failed))} call returned an error.")
        if self.state.resolved:
            parts.append(f"The agent was able to {self.topic.action} and the user was satisfied.")
        elif self.state.truncated:
            parts.append(
                "The conversation stopped at the turn limit before the request was completed."
            )
        else:
            parts.append("The request could not be completed and was escalated for follow-up.")
        return " ".join(parts)


def _word_of(stem: str, goal: str) -> str:
    """The goal's own word for a keyword stem ("statu" -> "status"), as a reason shows it."""
    match = re.search(rf"\b{re.escape(stem)}[a-z'-]*", goal)
    return match.group(0) if match else stem
