"""The engine's vocabulary: topics (what users call about and how both sides word it), moods,
names, items, tool-name keywords, stopwords, and the directives a prompt may carry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
