"""Dialogue planning: the conversation itself. It sets up the topic, mood, variables and slots,
plans the tool use, lays out the steps (opener, details, lookup, action, follow-up, closing),
pads to the target length with fillers, and plays them. `simulate()` is the entry point.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import re
from collections.abc import Callable, Iterator
from typing import Any

from agents_mcp.api import models
from agents_mcp.jsontypes import JSONObject
from agents_mcp.sandbox.engine.agent_doc import AgentView, ToolSpec, read_agent
from agents_mcp.sandbox.engine.judging import Judging
from agents_mcp.sandbox.engine.records import (
    MockResolver,
    Simulation,
    TurnRecords,
    _history_turn,
    _State,
)
from agents_mcp.sandbox.engine.text import (
    _capital,
    _describe,
    _find_day,
    _find_item,
    _find_order,
    _find_party,
    _goal_sentence,
    _has_word,
    _pick_var,
    _snippet,
    _text,
    _user_name,
)
from agents_mcp.sandbox.engine.tool_calls import ToolCalls
from agents_mcp.sandbox.engine.vocabulary import (
    ACTION_WORDS,
    FILLER_QUESTIONS,
    FIRST_NAMES,
    ITEMS,
    LAST_NAMES,
    LOOKUP_WORDS,
    MAX_TURNS,
    MOODS,
    STOPWORDS,
    TOPICS,
    TURN_DIRECTIVE,
    VARIABLE,
    Topic,
)


class _Conversation(TurnRecords, ToolCalls, Judging):
    """One simulated conversation: planned and played here; turns, tools and judging come from
    the mixins (records, tool_calls, judging), which share this object's state."""

    def __init__(
        self,
        agent: AgentView,
        request: models.SimulateRequest,
        seed: int,
        resolver: MockResolver | None = None,
    ) -> None:
        self.agent = agent
        self.resolver = resolver
        self.request = request
        self.rng = random.Random(seed)
        spec = request.simulation_specification
        user_cfg = spec.simulated_user_config
        self.user_prompt = (user_cfg.prompt.prompt if user_cfg.prompt else None) or ""
        self.user_first = user_cfg.first_message or ""
        self.user_llm = (
            user_cfg.prompt.llm.root if user_cfg.prompt and user_cfg.prompt.llm else "gpt-4o-mini"
        )
        self.mocks = {k: v for k, v in (spec.tool_mock_config or {}).items()}
        self.history = [
            h.model_dump(mode="json", exclude_none=False)
            for h in (spec.partial_conversation_history or [])
        ]
        history_text = " ".join(h.get("message") or "" for h in self.history)
        self.topic = self._topic(f"{self.user_prompt} {self.user_first} {history_text}")
        self.mood = self._mood(self.user_prompt)
        self.vars = self._variables(spec.dynamic_variables or {})
        self.slots = self._slots()
        self.state = _State()
        self.clock = 0
        self.request_counter = 0
        self.frames: list[list[JSONObject]] = []
        self.asked: set[str] = set()
        self.context_tokens = 350 + len(agent.prompt) // 4

    def _topic(self, text: str) -> Topic:
        low = text.lower()
        best, best_hits = TOPICS[-1], 0
        for topic in TOPICS:  # the specific topics first: they win ties
            hits = sum(low.count(k) for k in topic.keywords)
            if hits > best_hits:
                best, best_hits = topic, hits
        if best_hits == 0 and not _goal_sentence(self.user_prompt):
            # No goal of the user's own: the agent's line of business decides.
            agent_low = self.agent.prompt.lower()
            for topic in TOPICS[:-1]:
                if any(k in agent_low for k in topic.keywords):
                    return topic
        return best

    @staticmethod
    def _mood(text: str) -> str:
        low = text.lower()
        for mood, words in MOODS.items():
            if any(w in low for w in words):
                return mood
        return "neutral"

    def _variables(self, given: JSONObject) -> dict[str, str]:
        values: dict[str, str] = {k: _text(v) for k, v in self.agent.placeholders.items()}
        values.update(
            {
                k: _text(v.root if hasattr(v, "root") else v)
                for k, v in given.items()
                if v is not None
            }
        )
        values.setdefault("system__agent_id", self.agent.agent_id)
        values.setdefault("system__conversation_id", "conv_" + self._token(28))
        return values

    def _slots(self) -> dict[str, str]:
        rng, v = self.rng, self.vars
        first = (
            _pick_var(v, "first_name") or _user_name(self.user_prompt) or rng.choice(FIRST_NAMES)
        )
        name = _pick_var(v, "customer_name", "user_name", "name", "full_name")
        if not name or not name.split() or name.lower() in {"there", "customer", "guest"}:
            name = f"{first} {rng.choice(LAST_NAMES)}"
        order_id = (
            _pick_var(v, "order_id", "order_number", "order")
            or _find_order(self.user_prompt)
            or f"NW-{rng.randint(10000, 99999)}"
        )
        email = _pick_var(v, "email", "customer_email", "user_email") or (
            f"{name.split()[0].lower()}.{name.split()[-1].lower()}@example.com"
        )
        item = _find_item(self.user_prompt) or rng.choice(ITEMS)
        day = rng.randint(3, 27)
        month = rng.choice(("March", "April", "May", "June", "September", "October"))
        date = _find_day(self.user_prompt) or f"{month} {day}"
        party = _find_party(self.user_prompt) or rng.choice(("two", "three", "four", "six"))
        return {
            "name": name,
            "first": name.split()[0],
            "order_id": order_id,
            "email": email,
            "item": item,
            "amount": f"${rng.randint(19, 240)}.{rng.choice(('00', '50', '99', '95'))}",
            "date": date,
            "on_date": date
            if date.split()[0] in ("next", "this", "tomorrow", "tonight")
            else f"on {date}",
            "time": rng.choice(("6:30 pm", "7:00 pm", "7:30 pm", "8:00 pm", "12:30 pm")),
            "party": party,
            "ticket": f"TCK-{rng.randint(100000, 999999)}",
            "agent": self.agent.persona,
            "company": self.agent.company or "our company",
            "recap": "",
        }

    def _token(self, n: int) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def fill(self, text: str) -> str:
        """Template slots ({name}) then dynamic variables ({{var}})."""
        with contextlib.suppress(KeyError, IndexError, ValueError):
            text = text.format(**self.slots)
        return self.subst(text)

    def subst(self, text: str) -> str:
        return VARIABLE.sub(lambda m: self.vars.get(m.group(1), m.group(0)), text)

    def _target_turns(self, natural: int) -> int:
        directive = TURN_DIRECTIVE.search(self.user_prompt)
        target = int(directive.group(1)) if directive else natural
        limit = self.request.new_turns_limit
        if limit is not None:
            target = min(target, max(limit, 0))
        return min(target, MAX_TURNS)

    def _relevant(self, tool: ToolSpec) -> bool:
        """Whether the agent would use this tool for this user's topic (a mocked tool always)."""
        if tool.name in self.mocks:
            return True
        t = self.topic
        vocabulary = " ".join((*t.keywords, t.title, t.issue, t.lookup, t.action, t.detail))
        words = set(re.findall(r"[a-z]{4,}", vocabulary.lower())) - STOPWORDS
        text = f"{tool.name} {tool.description}".lower().replace("_", " ")
        return any(re.search(rf"\b{w.rstrip('s')}", text) for w in words)

    def _tool_plan(self) -> dict[str, ToolSpec | list[ToolSpec] | None]:
        tools = [t for t in self.agent.tools if self._relevant(t)]
        server = [t for t in tools if t.kind != "client"]
        client = [t for t in tools if t.kind == "client"]
        lookup = next((t for t in server if _has_word(t, LOOKUP_WORDS)), None)
        action = next((t for t in server if t is not lookup and _has_word(t, ACTION_WORDS)), None)
        rest = [t for t in server if t is not lookup and t is not action]
        if lookup is None and rest:
            lookup = rest.pop(0)
        if action is None and rest:
            action = rest.pop(0)
        display = client[0] if client else None
        return {"lookup": lookup, "action": action, "display": display, "extra": rest + client[1:]}

    def run(self) -> Simulation:
        if self.history:
            self.frames.append([_history_turn(h, self.agent.agent_id) for h in self.history])
            self.clock = max((h.get("time_in_call_secs") or 0 for h in self.history), default=0)
        elif self.agent.first_message:
            self._agent_say(self.subst(self.agent.first_message), count=False)

        plan = self._tool_plan()
        steps = self._steps(plan)
        natural = len(steps) + 2 * self.rng.randint(0, 2)
        target = self._target_turns(natural)
        skip = sum(1 for h in self.history if h.get("role") == "user" and h.get("message"))
        if skip:
            # Continue after the exchanges the history already covers.
            steps = steps[2 * min(skip, len(steps) // 2 - 1) :]
            if self.history[-1].get("role") == "user":
                steps = steps[1:]
        closing = steps[-2:]
        body = steps[:-2]
        fillers = self._fillers(plan)
        while len(body) + len(closing) < target:
            body.extend(next(fillers))
        sequence = (body + closing)[:target]
        self.state.truncated = len(sequence) < len(body + closing)
        for step in sequence:
            step()
        if not self.state.truncated:
            self.state.closed = True
        return Simulation(self.frames, self._analysis(), self.state.truncated)

    def _steps(self, plan: JSONObject) -> list[Callable[[], None]]:
        question, answer = self.rng.choice(self.topic.followups)
        self.asked.add(question)
        return [
            self._user_opener,
            lambda: self._agent_say(self._ask_detail()),
            lambda: self._user_say(self._give_detail()),
            lambda: self._agent_tool_turn(plan["lookup"], "lookup"),
            lambda: self._user_say(self._request_action()),
            lambda: self._agent_action_turn(plan["action"], plan["display"]),
            lambda: self._user_say(self.fill(question)),
            lambda: self._agent_say(self.fill(answer)),
            lambda: self._user_say(self._user_closing()),
            lambda: self._agent_closing(),
        ]

    def _fillers(self, plan: JSONObject) -> Iterator[list[Callable[..., None]]]:
        extra: list[ToolSpec] = list(plan["extra"])
        n = 0
        while True:
            n += 1
            if extra:
                tool = extra.pop(0)
                yield [
                    lambda tool=tool: self._user_say(self._ask_for_tool(tool)),
                    lambda tool=tool: self._agent_tool_turn(tool, "extra"),
                ]
                continue
            everything = self.topic.followups + FILLER_QUESTIONS
            bank = [qa for qa in everything if qa[0] not in self.asked] or list(everything)
            question, answer = bank[self.rng.randint(0, len(bank) - 1)]
            self.asked.add(question)
            yield [
                lambda q=question, n=n: self._user_say(self._vary(self.fill(q), n)),
                lambda a=answer: self._agent_say(self.fill(a.replace("{recap}", self._recap()))),
            ]

    def _user_opener(self) -> None:
        if self.user_first:
            self._user_say(self.subst(self.user_first))
            return
        goal = _goal_sentence(self.user_prompt)
        issue = self.fill(self.topic.issue)
        greet = self.rng.choice(("Hi", "Hello", "Hi there", "Hey"))
        agent = "" if self.agent.persona == "the assistant" else f" {self.agent.persona}"
        if self.mood == "frustrated":
            text = f"{greet}. Look, I've been waiting long enough. I need {issue}."
        elif self.mood == "confused":
            text = (
                f"{greet}{agent}, um, I'm not sure I'm calling the right place. "
                f"I think I need {issue}?"
            )
        else:
            text = f"{greet}{agent}, I'm calling because I need {issue}."
        if goal and not any(k in goal.lower() and k in issue.lower() for k in self.topic.keywords):
            text += f" {goal}"
        self._user_say(text)

    def _give_detail(self) -> str:
        s, t = self.slots, self.topic.key
        if t in ("refund", "order_status"):
            detail = f"It's {s['order_id']}, under the name {s['name']}."
        elif t == "booking":
            detail = (
                f"{s['date']} at {s['time']}, for {s['party']} people. The name is {s['name']}."
            )
        elif t in ("billing", "account", "cancellation"):
            detail = f"It's {s['email']}."
        elif t == "technical":
            detail = f"It's the {s['item']}, and it stopped working about a week ago."
        else:
            goal = _goal_sentence(self.user_prompt)
            detail = goal or f"I'm looking at your {s['item']}, mostly the price and availability."
        if self.mood == "frustrated":
            return "I already gave that to the last person. " + detail
        if self.mood == "confused":
            return "Let me find it... okay, here. " + detail
        return detail

    def _request_action(self) -> str:
        action = self.topic.action
        if self._last_error():
            return self.rng.choice(
                (
                    "That's not great. Is there anything else you can do?",
                    "Hmm, so what happens now? I still need this sorted out.",
                )
            )
        if self.mood == "frustrated":
            return f"Fine. Can you just {action} now, please? I don't want to call again."
        return self.rng.choice(
            (
                f"Okay, thanks. Could you {action} for me?",
                f"Great. In that case, can you please {action}?",
                f"That makes sense. I'd like you to {action}, please.",
            )
        )

    def _user_closing(self) -> str:
        if not self.state.resolved:
            return self.rng.choice(
                (
                    "Okay. I'm not thrilled it isn't fixed yet, but thanks for trying.",
                    "I guess that's all for now. Please make sure someone follows up.",
                )
            )
        if self.mood == "frustrated":
            return "Alright, that's finally sorted. Thanks."
        return self.rng.choice(
            (
                "That's everything, thank you so much!",
                "Perfect, that's all I needed. Thanks!",
                "Great, thanks for your help. Bye!",
            )
        )

    def _ask_for_tool(self, tool: ToolSpec) -> str:
        desc = tool.description.rstrip(".").lower() or tool.name.replace("_", " ")
        return f"One more thing: could you also help with this, {desc}?"

    def _vary(self, text: str, n: int) -> str:
        if n <= 3:
            return text
        prefixes = ("Also, ", "And ", "One more question: ", "Sorry, another thing. ", "Oh, and ")
        return prefixes[n % len(prefixes)] + text[0].lower() + text[1:]

    def _ask_detail(self) -> str:
        empathy = {
            "frustrated": "I'm really sorry for the trouble, and I understand the frustration.",
            "confused": "You're in the right place, don't worry.",
        }.get(
            self.mood,
            self.rng.choice(
                (
                    "I'd be happy to help with that.",
                    "Thanks for reaching out.",
                    "Of course, let me help you with that.",
                )
            ),
        )
        return f"{empathy} Could you please give me {self.topic.detail}?"

    def _agent_closing(self) -> None:
        company = f" for contacting {self.agent.company}" if self.agent.company else ""
        text = f"You're welcome, {self.slots['first']}. Thank you{company}, and have a great day!"
        if not self.state.resolved:
            text = (
                f"I'm sorry we couldn't fully resolve this today, {self.slots['first']}. "
                f"I've noted everything under reference {self.slots['ticket']} so a colleague can "
                "follow up. Thank you for your patience."
            )
        entries: list[JSONObject] = []
        if self.agent.end_call:
            entries = self._system_end_call()
        self._agent_say(text, before=entries)
        self.state.closed = True

    def _agent_tool_turn(self, tool: ToolSpec | None, role: str) -> None:
        if tool is None:  # no tool to use: the agent answers from its instructions
            if role == "lookup" and self.topic.key == "general":
                self.state.verified = True
                source = f"the {self.agent.company} " if self.agent.company else "our "
                text = (
                    f"Good question. According to {source}product information, yes, it does, "
                    "and the details are in the user guide."
                )
            elif role == "lookup":
                self.state.verified = True
                looked = self.fill(self.topic.lookup)
                text = f"Thank you. I've checked {looked} and everything looks in order."
            else:
                text = "Sure, that's something I can help with. " + self._recap()
            self._agent_say(text)
            return
        entries, result, is_error = self._call(tool, role)
        if role == "lookup":
            self.state.verified = not is_error
        if is_error:
            text = (
                f"I'm sorry, I wasn't able to check that just now: the system returned an "
                f"error ({_snippet(result)}). Let me see what else I can do."
            )
        else:
            text = f"Thanks for waiting. {_describe(result, tool.name)}"
        self._agent_say(text, before=entries)

    def _agent_action_turn(self, action: ToolSpec | None, display: ToolSpec | None) -> None:
        self.state.action_attempted = True
        entries: list[JSONObject] = []
        ok = True
        detail = ""
        if action is not None:
            calls, result, is_error = self._call(action, "action")
            entries += calls
            ok = not is_error
            detail = _snippet(result)
        if display is not None and ok:
            calls, _, _ = self._call(display, "display")
            entries += calls
        if ok:
            self.state.resolved = True
            text = _capital(self.fill(self.topic.done)) + "."
            if display is not None:
                text += " I've also put a summary on your screen."
        else:
            text = (
                f"I'm sorry, I tried to {self.topic.action} but it didn't go through "
                f"({detail}). I'll escalate this to a specialist who will contact you at "
                f"{self.slots['email']}."
            )
        self._agent_say(text, before=entries)

    def _recap(self) -> str:
        if self.state.resolved:
            return self.fill(self.topic.done) + "."
        return f"I'm still working on {self.fill(self.topic.lookup)}."

    def _last_error(self) -> bool:
        return bool(self.state.events) and self.state.events[-1].is_error


def seed_for(agent_id: str, body: Any) -> int:
    """The seed of a request: the agent id and the canonical JSON of the body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(f"{agent_id}\n{canonical}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def simulate(
    doc: JSONObject,
    request: models.SimulateRequest,
    seed: int,
    resolver: MockResolver | None = None,
) -> Simulation:
    return _Conversation(read_agent(doc), request, seed, resolver).run()
