"""The conversation engine: believable, deterministic simulated conversations without any ML.

`simulate(agent, request)` plays the agent (its persona, first message and tools, read from the
stored agent document) against a simulated user (its prompt), using templates and keyword
heuristics. Everything random comes from one `random.Random` seeded with the agent id and the
request body, so the same request always gives the same conversation, streamed or not.

Length: the conversation ends naturally after 10-14 new message turns; a simulated user prompt
containing `[turns=N]` asks for exactly N new turns; `new_turns_limit` caps either. A "turn" is a
user or agent message; the tool-call and tool-result entries that precede an agent message belong
to that turn. The agent's first message (or the partial history) is returned but not counted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from agents_mcp.api import models

TURN_DIRECTIVE = re.compile(r"\[\s*turns\s*=\s*(\d{1,5})\s*\]", re.I)
RESULT_DIRECTIVE = re.compile(r"\[\s*(success|failure|fail|unknown)\s*\]", re.I)
VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")
MAX_TURNS = 5000  # hard ceiling for one simulation, whatever the request asks

NUMBERS = (
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FIRST_NAMES = (
    "Jordan",
    "Priya",
    "Marcus",
    "Elena",
    "Sam",
    "Aiko",
    "Tomás",
    "Grace",
    "Noah",
    "Leila",
)
LAST_NAMES = ("Rivera", "Chen", "Okafor", "Schmidt", "Nakamura", "Haddad", "Brooks", "Silva")
ITEMS = ("hiking boots", "rain jacket", "camping stove", "backpack", "sleeping bag", "headlamp")

# Prices per token used for llm_usage (rough public list prices, USD).
PRICES = {"input": 1.5e-7, "input_cache_read": 3.75e-8, "output_total": 6e-7}


# --- topics --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    key: str
    keywords: tuple[str, ...]
    title: str
    issue: str  # what the user wants, first person, lower case
    detail: str  # what the agent asks for
    lookup: str  # what the agent looks up
    action: str  # what the agent does
    done: str  # confirmation of the action
    followups: tuple[tuple[str, str], ...]  # (question, answer)


TOPICS: tuple[Topic, ...] = (
    Topic(
        "refund",
        ("refund", "money back", "return", "reimburse", "damaged", "broken", "defective", "faulty"),
        "Refund for a damaged order",
        "a refund for my {item}, it arrived damaged",
        "your order number",
        "order {order_id}",
        "process a refund",
        "I've processed a refund of {amount} to your original payment method",
        (
            (
                "How long until the money is back on my card?",
                "Refunds usually show up within 5 to 7 business days, depending on your bank.",
            ),
            (
                "Do I need to send the damaged {item} back?",
                "No need, please keep or recycle it. We won't ask you to return a damaged item.",
            ),
            (
                "Will I get an email about this?",
                "Yes, a confirmation email is on its way to {email} with the refund reference.",
            ),
        ),
    ),
    Topic(
        "order_status",
        (
            "where is my",
            "where's my",
            "where order",
            "my order",
            "order status",
            "track",
            "tracking",
            "delivery",
            "shipping",
            "shipped",
            "package",
            "late",
            "arrive",
        ),
        "Order delivery status",
        "to know where my order is, it hasn't arrived yet",
        "your order number",
        "the shipping status of order {order_id}",
        "set up delivery notifications",
        "I've turned on text updates so you'll hear from the carrier at every step",
        (
            (
                "Can I change the delivery address?",
                "Since it has already shipped, the carrier can redirect it; "
                "I've added a note to the order.",
            ),
            (
                "What if it doesn't come by {date}?",
                "If it hasn't arrived by {date}, call us back "
                "and we'll send a replacement right away.",
            ),
        ),
    ),
    Topic(
        "booking",
        ("book", "booking", "reservation", "reserve", "table", "appointment", "schedule"),
        "Table reservation",
        "to book a table for {party} {on_date} at {time}",
        "the date, time and number of guests",
        "availability {on_date} at {time}",
        "confirm the reservation",
        "your table for {party} {on_date} at {time} is confirmed under the name {name}",
        (
            (
                "Do you have vegetarian options?",
                "Yes, about half the menu is vegetarian and the kitchen can adapt most dishes.",
            ),
            (
                "Is there parking nearby?",
                "There's a public car park two minutes away on the next street.",
            ),
            (
                "Can I bring a birthday cake?",
                "Of course, and we'll happily bring it out with candles.",
            ),
        ),
    ),
    Topic(
        "billing",
        ("bill", "billing", "charge", "charged", "invoice", "payment", "overcharged", "double"),
        "Billing question about a duplicate charge",
        "to understand a charge on my card, I think I was billed twice",
        "the email address on your account",
        "the recent payments on the account for {email}",
        "reverse the duplicate charge",
        "I've reversed the duplicate charge of {amount}; you'll see it drop off your statement",
        (
            (
                "Will this happen again next month?",
                "No, the duplicate came from a payment retry that has now been fixed on our side.",
            ),
            ("Can you send me the invoice?", "Sure, I've sent the corrected invoice to {email}."),
        ),
    ),
    Topic(
        "account",
        ("password", "log in", "login", "locked", "account", "sign in", "reset"),
        "Account access problem",
        "help getting back into my account, I'm locked out",
        "the email address on the account",
        "the account for {email}",
        "send a password reset link",
        "I've sent a password reset link to {email}; it's valid for 30 minutes",
        (
            (
                "I didn't get the email, what now?",
                "Please check the spam folder; if it's not there I can send it again.",
            ),
            (
                "Can I turn on two-factor authentication?",
                "Yes, once you're in, go to Settings, then Security, and enable it there.",
            ),
        ),
    ),
    Topic(
        "cancellation",
        ("cancel", "cancellation", "unsubscribe", "subscription", "terminate", "close my"),
        "Subscription cancellation",
        "to cancel my subscription",
        "the email address on your account",
        "the subscription for {email}",
        "cancel the subscription",
        "I've cancelled the subscription; you keep access until the end of the billing period",
        (
            ("Will I be charged again?", "No further charges will be made after today."),
            ("Can I come back later?", "Anytime: your settings are kept for 12 months."),
        ),
    ),
    Topic(
        "technical",
        ("not working", "doesn't work", "error", "broken", "crash", "bug", "issue with", "stopped"),
        "Technical problem with a device",
        "help with my {item}, it stopped working",
        "the model and when the problem started",
        "known issues for your {item}",
        "open a repair ticket",
        "I've opened repair ticket {ticket} and a courier label is on its way to {email}",
        (
            (
                "Is it still under warranty?",
                "Yes, it's covered for two years from purchase, so the repair is free.",
            ),
            ("How long will the repair take?", "Usually about a week from when we receive it."),
        ),
    ),
    Topic(
        "general",
        (
            "question",
            "know if",
            "know whether",
            "wondering",
            "information",
            "feature",
            "how does",
            "how do",
            "does it",
            "works",
            "wifi",
            "price",
            "cost",
            "warranty",
            "hours",
            "curious",
        ),
        "General product question",
        "some information about your products",
        "a little more about your question",
        "the product information",
        "send a link with the details",
        "I've sent you a link with the full details by text message",
        (
            ("What are your opening hours?", "We're open 9am to 6pm, Monday to Saturday."),
            ("Do you ship internationally?", "Yes, to most countries in Europe and North America."),
            ("Is there a warranty?", "Every product comes with a two-year warranty."),
        ),
    ),
)

FILLER_QUESTIONS = (
    ("Sorry, could you repeat that last part?", "Of course. {recap}"),
    ("Just to be sure, is there anything else I need to do?", "Nothing else on your side. {recap}"),
    ("Can I get a reference number for this?", "Certainly, your reference is {ticket}."),
    (
        "Who should I contact if something goes wrong?",
        "Just call this number again and mention reference {ticket}.",
    ),
    (
        "Is this conversation being recorded?",
        "It may be recorded for quality and training purposes.",
    ),
)

MOODS = {
    "frustrated": (
        "angry",
        "frustrated",
        "upset",
        "annoyed",
        "impatient",
        "rude",
        "irritated",
        "furious",
    ),
    "confused": ("confused", "unsure", "elderly", "not tech", "hesitant", "uncertain"),
    "polite": ("polite", "friendly", "calm", "patient", "kind", "cheerful"),
}

LOOKUP_WORDS = (
    "get",
    "lookup",
    "look",
    "check",
    "find",
    "search",
    "status",
    "fetch",
    "avail",
    "verify",
    "track",
    "list",
    "query",
    "read",
)
ACTION_WORDS = (
    "create",
    "refund",
    "book",
    "cancel",
    "update",
    "send",
    "schedule",
    "reserve",
    "submit",
    "issue",
    "process",
    "reset",
    "transfer",
    "escalate",
    "charge",
    "place",
    "open",
    "ticket",
    "confirm",
)
STOPWORDS = frozenset(
    (
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "that",
        "this",
        "these",
        "those",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "agent",
        "user",
        "customer",
        "caller",
        "should",
        "must",
        "will",
        "would",
        "can",
        "could",
        "does",
        "did",
        "do",
        "has",
        "have",
        "had",
        "about",
        "into",
        "from",
        "their",
        "they",
        "them",
        "it",
        "its",
        "as",
        "at",
        "by",
        "not",
        "any",
        "all",
        "each",
        "every",
        "whether",
        "if",
        "when",
        "than",
        "then",
        "there",
        "here",
        "which",
        "who",
        "whom",
        "what",
        "how",
        "during",
        "conversation",
        "call",
        "during",
        "throughout",
        "before",
        "after",
        "also",
        "only",
        "more",
        "most",
        "some",
        "such",
        "very",
        "clearly",
        "properly",
        "correctly",
        "make",
        "sure",
        "answer",
        "answers",
        "question",
        "questions",
        "asks",
        "request",
    )
)


# --- inputs ----------------------------------------------------------------------------------


@dataclass
class ToolSpec:
    name: str
    kind: str  # webhook | client | system | api_integration_webhook
    description: str
    params: list[tuple[str, dict[str, Any], str]]  # (name, schema, where: path|query|body)
    method: str = "POST"
    url: str = ""


@dataclass
class AgentView:
    agent_id: str
    persona: str
    company: str
    prompt: str
    first_message: str
    llm: str
    tools: list[ToolSpec]
    end_call: bool
    criteria: list[dict[str, Any]]
    data_collection: dict[str, dict[str, Any]]
    placeholders: dict[str, Any]


def read_agent(doc: dict[str, Any]) -> AgentView:
    """The parts of a stored agent document the engine uses (any shape: created agents are
    stored as given, so every level is checked before use)."""
    agent = _obj(_obj(doc.get("conversation_config")).get("agent"))
    prompt_cfg = _obj(agent.get("prompt"))
    prompt = _str(prompt_cfg.get("prompt"))
    tools: list[ToolSpec] = []
    end_call = False
    for raw in _list(prompt_cfg.get("tools")):
        spec = _tool_spec(raw)
        if spec is None:
            continue
        if spec.kind == "system":
            end_call = end_call or spec.name == "end_call"
            continue
        tools.append(spec)
    end_call = end_call or bool(_obj(prompt_cfg.get("built_in_tools")).get("end_call"))
    settings = _obj(doc.get("platform_settings"))
    criteria = [
        c for c in _list(_obj(settings.get("evaluation")).get("criteria")) if isinstance(c, dict)
    ]
    placeholders = _obj(_obj(agent.get("dynamic_variables")).get("dynamic_variable_placeholders"))
    first_message = _str(agent.get("first_message"))
    persona = _first(re.findall(r"\b[Yy]ou are ([A-Z][a-z]+)\b", prompt)) or "the assistant"
    company = _company(prompt) or _company(first_message) or _str(doc.get("name"))
    return AgentView(
        agent_id=str(doc["agent_id"]),
        persona=persona,
        company=company,
        prompt=prompt,
        first_message=first_message,
        llm=_str(prompt_cfg.get("llm")) or "gemini-2.0-flash",
        tools=tools,
        end_call=end_call,
        criteria=criteria,
        data_collection={
            str(k): v
            for k, v in _obj(settings.get("data_collection")).items()
            if isinstance(v, dict)
        },
        placeholders=dict(placeholders),
    )


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _tool_spec(raw: Any) -> ToolSpec | None:
    if not isinstance(raw, dict) or not _str(raw.get("name")):
        return None
    kind = _str(raw.get("type")) or ("webhook" if "api_schema" in raw else "client")
    params: list[tuple[str, dict[str, Any], str]] = []
    method, url = "POST", ""

    def add(props: Any, where: str) -> None:
        for name, prop in _obj(props).items():
            params.append((str(name), _obj(prop), where))

    if kind == "webhook":
        schema = _obj(raw.get("api_schema"))
        method, url = (_str(schema.get("method")) or "GET").upper(), _str(schema.get("url"))
        add(schema.get("path_params_schema"), "path")
        add(_obj(schema.get("query_params_schema")).get("properties"), "query")
        add(_obj(schema.get("request_body_schema")).get("properties"), "body")
    elif kind == "client":
        add(_obj(raw.get("parameters")).get("properties"), "body")
    return ToolSpec(raw["name"], kind, _str(raw.get("description")), params, method, url)


def _first(items: list[str]) -> str | None:
    bad = {"A", "An", "The", "Your", "Very", "Not", "Now", "Here", "Helpful", "Friendly"}
    return next((i for i in items if i not in bad), None)


def _company(text: str) -> str | None:
    match = re.search(r"\b(?:at|for|from|with|of) ((?:[A-Z][\w'&-]+)(?: [A-Z][\w'&-]+){0,3})", text)
    return match.group(1) if match else None


# --- the result ------------------------------------------------------------------------------


@dataclass
class Simulation:
    """A finished simulation: the transcript, grouped into stream frames, and the analysis."""

    frames: list[list[dict[str, Any]]]  # each: the entries of one message turn (or the history)
    analysis: dict[str, Any]
    truncated: bool = False  # the turn limit cut the conversation before its natural end

    @property
    def turns(self) -> list[dict[str, Any]]:
        return [turn for frame in self.frames for turn in frame]

    def response(self) -> dict[str, Any]:
        return {"simulated_conversation": self.turns, "analysis": self.analysis}


def seed_for(agent_id: str, body: Any) -> int:
    """The seed of a request: the agent id and the canonical JSON of the body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(f"{agent_id}\n{canonical}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


# Answers a tool call (tool name, the call's parameters) or returns None to leave it to the
# request's mocks and the default results: the agent-testing runs' mock overrides use it.
MockResolver = Callable[[str, dict[str, Any]], "tuple[str, bool] | None"]


def simulate(
    doc: dict[str, Any],
    request: models.SimulateRequest,
    seed: int,
    resolver: MockResolver | None = None,
) -> Simulation:
    return _Conversation(read_agent(doc), request, seed, resolver).run()


# --- the conversation ------------------------------------------------------------------------


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


class _Conversation:
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
        self.frames: list[list[dict[str, Any]]] = []
        self.asked: set[str] = set()
        self.context_tokens = 350 + len(agent.prompt) // 4

    # --- set-up ---------------------------------------------------------------------------

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

    def _variables(self, given: dict[str, Any]) -> dict[str, str]:
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
        if not name or name.lower() in {"there", "customer", "guest"}:
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

    # --- plan -------------------------------------------------------------------------------

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

    def _steps(self, plan: dict[str, Any]) -> list[Any]:
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

    def _fillers(self, plan: dict[str, Any]) -> Iterable[list[Any]]:
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

    # --- user lines -------------------------------------------------------------------------

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

    # --- agent lines ------------------------------------------------------------------------

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
        entries: list[dict[str, Any]] = []
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
        entries: list[dict[str, Any]] = []
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

    # --- tools ------------------------------------------------------------------------------

    def _call(self, tool: ToolSpec, role: str) -> tuple[list[dict[str, Any]], str, bool]:
        self.request_counter += 1
        request_id = f"{tool.name}_{self._token(32)}"
        params = self._params(tool)
        params_json = json.dumps(params)
        details: dict[str, Any] | None
        if tool.kind == "webhook":
            path_params = {n: _text(params[n]) for n, _, where in tool.params if where == "path"}
            query = {n: _text(params[n]) for n, _, where in tool.params if where == "query"}
            body = {n: params[n] for n, _, where in tool.params if where == "body"}
            url = tool.url
            for key, value in path_params.items():
                url = url.replace("{" + key + "}", value)
            details = {
                "type": "webhook",
                "method": tool.method,
                "url": url,
                "headers": {"Content-Type": "application/json"} if body else {},
                "path_params": path_params,
                "query_params": query,
                "body": json.dumps(body) if body else None,
            }
        elif tool.kind == "client":
            details = {"type": "client", "parameters": params_json}
        else:
            details = None
        call = models.ToolCall(
            type=tool.kind,
            request_id=request_id,
            tool_name=tool.name,
            params_as_json=params_json,
            tool_has_been_called=False,
            tool_details=details,
        )
        resolved = self.resolver(tool.name, params) if self.resolver else None
        result, is_error = resolved if resolved is not None else self._result(tool, role)
        tool_result = models.ToolResult(
            request_id=request_id,
            tool_name=tool.name,
            result_value=result,
            is_error=is_error,
            tool_has_been_called=True,
            tool_latency_secs=round(self.rng.uniform(0.05, 1.2), 3),
            dynamic_variable_updates=[],
            type=tool.kind,
        )
        self.state.events.append(_Event(tool.name, tool.kind, is_error, role))
        entries = [
            self._turn("agent", None, tool_calls=[call.model_dump(mode="json")]),
            self._turn("agent", None, tool_results=[tool_result.model_dump(mode="json")]),
        ]
        return entries, result, is_error

    def _result(self, tool: ToolSpec, role: str) -> tuple[str, bool]:
        mock = self.mocks.get(tool.name)
        if mock is not None:
            is_error = bool(mock.default_is_error)
            if mock.default_return_value is not None:
                return self.subst(mock.default_return_value), is_error
            if is_error:
                return "Error: the tool returned an error", True
        if tool.kind == "client":
            return "Tool Called.", False
        return json.dumps(self._default_result(tool, role)), False

    def _default_result(self, tool: ToolSpec, role: str) -> dict[str, Any]:
        s, name = self.slots, f"{tool.name} {tool.description}".lower()
        if "avail" in name:
            return {"available": True, "date": s["date"], "slots": [s["time"], "9:00 pm"]}
        if "order" in name and role in ("lookup", "extra"):
            return {
                "order_id": s["order_id"],
                "status": "shipped",
                "carrier": "UPS",
                "estimated_delivery": s["date"],
                "items": [s["item"]],
            }
        if "refund" in name:
            return {
                "refund_id": f"RF-{self.rng.randint(10000, 99999)}",
                "status": "approved",
                "amount": s["amount"],
            }
        if any(w in name for w in ("book", "reserv")):
            return {
                "confirmation_code": f"BK-{self.rng.randint(1000, 9999)}",
                "status": "confirmed",
            }
        if any(w in name for w in ("account", "customer", "user", "profile")):
            return {"customer_name": s["name"], "email": s["email"], "status": "active"}
        if role == "lookup":
            return {"status": "found", "reference": s["ticket"]}
        return {"status": "success", "reference": s["ticket"]}

    def _params(self, tool: ToolSpec) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, schema, _ in tool.params:
            out[name] = self._param_value(name, schema)
        return out

    def _param_value(self, name: str, schema: dict[str, Any]) -> Any:
        if isinstance(schema.get("constant_value"), (str, int, float, bool)):
            return schema["constant_value"]
        var = schema.get("dynamic_variable")
        if isinstance(var, str) and var in self.vars:
            return self.vars[var]
        kind = _str(schema.get("type")) or "string"
        if _list(schema.get("enum")):
            return self.rng.choice(schema["enum"])
        low = f"{name} {_str(schema.get('description'))}".lower()
        s = self.slots
        if kind == "boolean":
            return True
        if kind in ("integer", "number"):
            if any(w in low for w in ("party", "guest", "people", "size")):
                return NUMBERS.index(s["party"]) + 1
            if "amount" in low or "price" in low:
                return (
                    float(s["amount"].lstrip("$"))
                    if kind == "number"
                    else int(float(s["amount"].lstrip("$")))
                )
            return self.rng.randint(1, 5)
        if kind == "object":
            return {}
        if kind == "array":
            return []
        for words, slot in (
            (("order",), "order_id"),
            (("email", "mail"), "email"),
            (("name",), "name"),
            (("date", "day"), "date"),
            (("time",), "time"),
            (("item", "product"), "item"),
            (("ticket", "reference"), "ticket"),
        ):
            if any(w in low for w in words):
                return s[slot]
        if any(w in low for w in ("reason", "issue", "summary", "description", "note")):
            return self.fill(self.topic.title)
        return self.fill(self.topic.title)

    def _system_end_call(self) -> list[dict[str, Any]]:
        request_id = f"end_call_{self._token(32)}"
        call = models.ToolCall(
            type="system",
            request_id=request_id,
            tool_name="end_call",
            params_as_json=json.dumps({"reason": "conversation completed"}),
            tool_has_been_called=False,
            tool_details=None,
        )
        payload = {
            "result_type": "end_call_success",
            "status": "success",
            "reason": "conversation completed",
            "message": None,
        }
        result = models.ToolResult(
            request_id=request_id,
            tool_name="end_call",
            result_value=json.dumps(payload),
            is_error=False,
            tool_has_been_called=True,
            tool_latency_secs=0.0,
            dynamic_variable_updates=[],
            type="system",
            result=payload,
        )
        return [
            self._turn("agent", None, tool_calls=[call.model_dump(mode="json")]),
            self._turn("agent", None, tool_results=[result.model_dump(mode="json")]),
        ]

    # --- turns ------------------------------------------------------------------------------

    def _user_say(self, text: str) -> None:
        self.frames.append([self._turn("user", text)])

    def _agent_say(
        self, text: str, *, before: list[dict[str, Any]] | None = None, count: bool = True
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
    ) -> dict[str, Any]:
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

    # --- analysis ---------------------------------------------------------------------------

    def _analysis(self) -> dict[str, Any]:
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

    def _judge(self, goal: str, text: str, turns: list[dict[str, Any]]) -> tuple[str, str]:
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
            shown = ", ".join(found[:4])
            return "success", f"The transcript covers the goal (mentions: {shown})."
        missing = ", ".join(k for k in keywords if k not in found)
        return "failure", f"The transcript never addresses: {missing}."

    def _collect(self, key: str, spec: dict[str, Any], text: str) -> models.DataCollectionResult:
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
            outcome = "resolved" if self.state.resolved else "not resolved"
            why = f"The user sounded {self.mood} and the issue was {outcome}."
        elif any(
            w in low for w in ("intent", "issue", "reason", "topic", "category", "type", "request")
        ):
            value, why = self.topic.key, f"The user wanted {self.fill(self.topic.issue)}."
        schema: dict[str, Any] = {
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


# --- helpers -------------------------------------------------------------------------------------

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


def _usage(tokens: int, kind: str) -> models.TokensUsage:
    return models.TokensUsage(tokens=max(tokens, 0), price=round(max(tokens, 0) * PRICES[kind], 9))


def _history_turn(turn: dict[str, Any], agent_id: str) -> dict[str, Any]:
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


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pick_var(values: dict[str, str], *names: str) -> str | None:
    for name in names:
        if values.get(name):
            return values[name]
    return None


def _user_name(prompt: str) -> str | None:
    match = re.search(r"\b(?:[Yy]ou are|[Yy]our name is|named|called) ([A-Z][a-z]{1,20})\b", prompt)
    if match and match.group(1) not in {"A", "An", "The", "Very", "Not", "In", "On", "At"}:
        return match.group(1)
    return None


def _find_day(prompt: str) -> str | None:
    days = "|".join(WEEKDAYS)
    match = re.search(rf"\b(?:(next|this) )?({days}|tomorrow|tonight)\b", prompt, re.I)
    if not match:
        return None
    day = match.group(2).lower()
    day = day.capitalize() if day in WEEKDAYS else day
    return f"{match.group(1).lower()} {day}" if match.group(1) else day


def _find_party(prompt: str) -> str | None:
    words = "|".join(NUMBERS)
    match = re.search(
        rf"\b(?:table for|party of|group of) ({words}|\d{{1,2}})\b|"
        rf"\b({words}|\d{{1,2}}) (?:people|guests|persons|of us)\b",
        prompt,
        re.I,
    )
    if not match:
        return None
    raw = (match.group(1) or match.group(2)).lower()
    if raw.isdigit():
        return NUMBERS[int(raw) - 1] if 1 <= int(raw) <= len(NUMBERS) else None
    return raw


def _find_order(text: str) -> str | None:
    match = re.search(
        r"\b(?:order|#)\s*(?:number\s*|no\.?\s*|id\s*)?#?\s*([A-Z]{0,4}-?\d{3,})", text, re.I
    )
    return match.group(1) if match else None


def _find_item(text: str) -> str | None:
    match = re.search(
        r"\b(?:my|the|a|new|whose|his|her|their|your) ((?:[a-z]+ )?[a-z]+) "
        r"(?:arrived|is|was|are|were|broke|stopped|has|came|works|work|does)\b",
        text,
    )
    if match and match.group(1).split()[-1] not in {
        "order",
        "account",
        "subscription",
        "call",
        "it",
    }:
        return match.group(1)
    return None


def _goal_sentence(prompt: str) -> str:
    """The simulated user's goal, turned from 'you' to 'I' (a line the user can say)."""
    sentences = re.split(r"(?<=[.!?])\s+", prompt.strip())
    for sentence in sentences:
        low = sentence.lower()
        if TURN_DIRECTIVE.search(sentence) or "[" in sentence:
            continue
        if any(
            w in low for w in ("want", "need", "would like", "looking for", "trying to", "hope")
        ):
            line = _first_person(sentence.strip())
            if 8 <= len(line) <= 220:
                return line[0].upper() + line[1:]
    return ""


_PRONOUNS = [
    (r"\byou are\b", "I am"),
    (r"\byou're\b", "I'm"),
    (r"\byou have\b", "I have"),
    (r"\byou've\b", "I've"),
    (r"\byou were\b", "I was"),
    (r"\byourself\b", "myself"),
    (r"\byours\b", "mine"),
    (r"\byour\b", "my"),
    (r"\byou\b", "I"),
]


def _first_person(sentence: str) -> str:
    out = sentence
    for pattern, repl in _PRONOUNS:
        out = re.sub(pattern, repl, out, flags=re.I)
    out = re.sub(r"\bI am a (?:customer|user|caller) (?:who|that) ", "I ", out)
    out = re.sub(r"\b(wants|needs)\b", lambda m: m.group(1)[:-1], out)
    return out


def _third_person(text: str) -> str:
    for pattern, repl in (
        (r"\bI'm\b", "they're"),
        (r"\bI am\b", "they are"),
        (r"\bmy\b", "their"),
        (r"\bme\b", "them"),
        (r"\bI\b", "they"),
    ):
        text = re.sub(pattern, repl, text)
    return text


def _has_word(tool: ToolSpec, words: tuple[str, ...]) -> bool:
    low = f"{tool.name} {tool.description}".lower().replace("_", " ")
    return any(re.search(rf"\b{w}", low) for w in words)


def _keywords(goal: str) -> list[str]:
    words = re.findall(r"[a-z][a-z'-]{3,}", goal.replace("'s", ""))
    out: list[str] = []
    for word in words:
        if word in STOPWORDS:
            continue
        stem = re.sub(r"(ing|ed|es|s)$", "", word) if len(word) > 5 else word
        if stem not in out:
            out.append(stem)
    return out[:8]


def _snippet(value: str, limit: int = 80) -> str:
    value = " ".join(str(value).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _describe(result: str, tool_name: str) -> str:
    try:
        data = json.loads(result)
    except (TypeError, ValueError):
        return f"Here's what I found: {_snippet(result, 160)}"
    if isinstance(data, dict):
        parts = []
        for key, value in data.items():
            if isinstance(value, bool) and len(parts) < 3:
                label = key.replace("_", " ")
                parts.append(f"it's {label}" if value else f"it's not {label}")
            elif isinstance(value, (str, int, float)) and len(parts) < 3:
                parts.append(f"the {key.replace('_', ' ')} is {_text(value)}")
            elif isinstance(value, list) and value and len(parts) < 3:
                parts.append(
                    f"the {key.replace('_', ' ')} are {', '.join(_text(v) for v in value[:3])}"
                )
        if parts:
            return (
                "I can see that "
                + ", ".join(parts[:-1])
                + (" and " if len(parts) > 1 else "")
                + parts[-1]
                + "."
            )
    return f"The {tool_name.replace('_', ' ')} check came back: {_snippet(result, 160)}"
