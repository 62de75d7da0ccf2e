"""Agent tests and test invocations of the sandbox, kept in memory (reset clears them).

A test is kept as the JSON the real `GET /v1/convai/agent-testing/{id}` returns. An invocation
keeps, per run, what the run needs to be played later (the agent document it runs on, already
merged with any branch or override, and its repeat index) and, once finished, its result. Runs
are played lazily, when someone reads the invocation after the run's `ready_at`: no background
task, and `run_delay` decides how long a run stays `pending`.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from dataclasses import dataclass, field

from agents_mcp.jsontypes import JSONObject
from agents_mcp.sandbox.paging import page_of

_ALPHABET = string.ascii_lowercase + string.digits


def new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(24))


@dataclass
class Run:
    """One run of one test: `result` is None while pending."""

    run_id: str
    test: JSONObject  # the test as it was when the run was asked for
    doc: JSONObject  # the agent document the run plays against
    repeat_index: int
    ready_at: float
    status: str = "pending"  # pending | passed | failed | cancelled
    result: JSONObject | None = None
    failed_conditions: list[int] = field(default_factory=list)  # 1-based, in order
    updated_at: int = field(default_factory=lambda: int(time.time()))


@dataclass
class Invocation:
    invocation_id: str
    agent_id: str
    branch_id: str | None
    name: str | None
    repeat_count: int
    created_at: int
    runs: list[Run]
    overridden: bool = False
    cancelled: bool = False


@dataclass(frozen=True)
class TestPage:
    items: list[JSONObject]
    next_cursor: str | None
    has_more: bool


class TestBook:
    """Tests by id (newest first in listings) and invocations by id."""

    def __init__(self) -> None:
        self._tests: dict[str, JSONObject] = {}
        self._invocations: dict[str, Invocation] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._tests.clear()
            self._invocations.clear()

    # --- tests ------------------------------------------------------------------------------

    def seed(self, tests: list[JSONObject], created: int) -> None:
        """Put tests with fixed ids (the demo tests), dated `created`."""
        with self._lock:
            for body in tests:
                self._tests[body["id"]] = {**body, "_created": created, "_updated": created}

    def create_test(self, body: JSONObject) -> str:
        now = int(time.time())
        test_id = new_id("test_")
        doc = {**body, "id": test_id, "_created": now, "_updated": now}
        with self._lock:
            self._tests[test_id] = doc
        return test_id

    def get_test(self, test_id: str) -> JSONObject | None:
        with self._lock:
            doc = self._tests.get(test_id)
        return {k: v for k, v in doc.items() if not k.startswith("_")} if doc else None

    def replace_test(self, test_id: str, body: JSONObject) -> bool:
        with self._lock:
            old = self._tests.get(test_id)
            if old is None:
                return False
            self._tests[test_id] = {
                **body,
                "id": test_id,
                "_created": old["_created"],
                "_updated": int(time.time()),
            }
        return True

    def delete_test(self, test_id: str) -> bool:
        with self._lock:
            return self._tests.pop(test_id, None) is not None

    def page_tests(
        self,
        *,
        page_size: int,
        cursor: str | None,
        search: str | None,
        types: list[str],
        parent_folder_id: str | None,
    ) -> TestPage:
        with self._lock:
            docs = list(self._tests.values())
        docs.reverse()  # newest first
        if search:
            docs = [d for d in docs if search.lower() in str(d.get("name", "")).lower()]
        if types:
            docs = [d for d in docs if d.get("type") in types]
        if parent_folder_id and parent_folder_id != "root":
            docs = [d for d in docs if d.get("parent_folder_id") == parent_folder_id]
        chunk, next_cursor = page_of(docs, cursor, page_size)
        items = [
            {
                "id": d["id"],
                "name": d.get("name", ""),
                "type": d.get("type", "llm"),
                "created_at_unix_secs": d["_created"],
                "last_updated_at_unix_secs": d["_updated"],
                "entity_type": "test",
                "folder_parent_id": d.get("parent_folder_id"),
            }
            for d in chunk
        ]
        return TestPage(items, next_cursor, next_cursor is not None)

    # --- invocations ------------------------------------------------------------------------

    def add_invocation(self, invocation: Invocation) -> None:
        with self._lock:
            self._invocations[invocation.invocation_id] = invocation

    def invocation(self, invocation_id: str) -> Invocation | None:
        with self._lock:
            return self._invocations.get(invocation_id)

    def invocations(self) -> list[Invocation]:
        """Newest first."""
        with self._lock:
            found = list(self._invocations.values())
        found.reverse()
        return found
