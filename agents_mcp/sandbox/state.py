"""The sandbox's state: agents, tests, armed faults, the request log and the admin settings.

Settings start from the values `create_app` was given (`defaults`) and come back to them on reset;
the demo agents are loaded from the package (or the repository's config/agents).
"""

from __future__ import annotations

import json
import os
from collections import deque
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from agents_mcp.jsontypes import JSONObject
from agents_mcp.sandbox.faults import FaultBook
from agents_mcp.sandbox.store import AgentStore, summary
from agents_mcp.sandbox.testing_store import TestBook
from agents_mcp.sandbox.tools import assign_tool_ids

DEFAULT_API_KEY = "sk_sandbox_local_key"
DEFAULT_MAX_CONCURRENT = 10
DEFAULT_RUN_DELAY = 0.05  # create_app's default: small, for tests; the CLI waits longer


@dataclass
class SandboxState:
    api_key: str
    store: AgentStore
    turn_delay: float
    max_concurrent: int
    faults: FaultBook = field(default_factory=FaultBook)
    log: deque[JSONObject] = field(default_factory=lambda: deque(maxlen=10_000))
    running: int = 0
    defaults: JSONObject = field(default_factory=dict)
    run_delay: float = DEFAULT_RUN_DELAY  # seconds an agent-test run stays pending
    legacy_simulate: bool = True  # False: simulate-conversation answers 404, as after removal
    tests: TestBook = field(default_factory=TestBook)

    def reset(self, *, agents: bool = False) -> None:
        self.faults.clear()
        self.log.clear()
        self.turn_delay = self.defaults["turn_delay"]
        self.max_concurrent = self.defaults["max_concurrent"]
        self.run_delay = self.defaults.get("run_delay", DEFAULT_RUN_DELAY)
        self.legacy_simulate = self.defaults.get("legacy_simulate", True)
        self.tests.clear()
        if self.defaults.get("load_demo", True):
            load_demo_tests(self.tests)
        if agents:
            self.store.delete_all()
            load_demo_agents(self.store)


def resolve_api_key(api_key: str | None = None) -> str:
    """The accepted key: the one given, else ELEVENLABS_API_KEY, else DEFAULT_API_KEY."""
    return api_key or os.environ.get("ELEVENLABS_API_KEY") or DEFAULT_API_KEY


def demo_agent_files() -> list[Path]:
    """The demo agents: packaged in the wheel, else the repository's config/agents."""
    try:
        packaged = resources.files("agents_mcp.sandbox") / "demo_agents"
        if packaged.is_dir():
            files = sorted(Path(str(p)) for p in packaged.iterdir() if p.name.endswith(".json"))
            if files:
                return files
    except (ModuleNotFoundError, OSError):
        pass
    repo = Path(__file__).resolve().parents[2] / "config" / "agents"
    return sorted(repo.glob("*.json")) if repo.is_dir() else []


DEMO_CREATED = 1735689600  # 2025-01-01: the demo agents' and tests' creation time


def load_demo_tests(book: TestBook) -> list[str]:
    """The demo agent tests (`tests/<agent_id>.json` beside the demo agents), with fixed ids;
    each agent's `platform_settings.testing.attached_tests` lists its own."""
    ids = []
    for path in demo_test_files():
        tests = json.loads(path.read_text(encoding="utf-8"))
        book.seed(tests, DEMO_CREATED)
        ids += [t["id"] for t in tests]
    return ids


def demo_test_files() -> list[Path]:
    agents = demo_agent_files()
    folder = agents[0].parent / "tests" if agents else None
    return sorted(folder.glob("*.json")) if folder and folder.is_dir() else []


def load_demo_agents(store: AgentStore) -> list[str]:
    loaded = []
    for path in demo_agent_files():
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc.setdefault(
            "metadata", {"created_at_unix_secs": DEMO_CREATED, "updated_at_unix_secs": DEMO_CREATED}
        )
        doc.setdefault("platform_settings", {})
        doc.setdefault("phone_numbers", [])
        doc.setdefault("tags", [])
        doc.setdefault("access_info", summary({"agent_id": "x"})["access_info"])
        assign_tool_ids(doc)
        loaded.append(store.put(doc, replace=False))
    return loaded
