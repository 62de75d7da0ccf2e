"""Property-based fuzzing of every tool's arguments, through the MCP client, against one real
server process (stdio) and a recording sandbox.

For any arguments at all (hostile strings, path tricks, unicode, huge strings, wrong types,
missing and extra fields, huge numbers) a call ends in a result or a clear tool error: never a
protocol error, never the generic "internal error", never a crash. The server stays up, no
request reaches a URL other than the known routes with a well-formed agent id, and the canary key
and token appear nowhere (results, resources, stderr).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp.shared.exceptions import MCPError

from tests.support.mcp_fixture import text_of
from tests.support.reliability import (
    DEMO_AGENT,
    McpProcess,
    RecordingSandbox,
    assert_no_canary,
    recording_sandbox,
    server_env,
    unexpected_paths,
)

# per tool; every example is one real call over stdio. More for a longer hunt:
# AGENTS_MCP_FUZZ_EXAMPLES=2000 pytest tests/e2e/reliability/test_fuzz_tools.py
EXAMPLES = int(os.environ.get("AGENTS_MCP_FUZZ_EXAMPLES", "200"))
pytestmark = pytest.mark.timeout(300)

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # nothing written to the repo (CI: derandomized, see conftest.py)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- strategies ----------------------------------------------------------------------------------

HOSTILE = [
    "",
    " ",
    ".",
    "..",
    "../",
    "../../v1/user",
    "agent_demo_support/../../../v1/user",
    "..%2F..%2Fv1%2Fuser",
    "%2F",
    "%2e%2e%2f",
    "agent%2Fduplicate",
    "agent_demo_support/duplicate",
    "agent_demo_support?force=true",
    "agent_demo_support#frag",
    "?",
    "#",
    "&force=true",
    "agent_demo_support%00",
    "agent\x00demo",
    "agent\r\nX-Injected: 1",
    "agent demo",
    "http://evil.example/x",
    "//evil.example",
    "@evil.example",
    "\\..\\..\\",
    "ünïcødé_agent",
    "agent_😀",
    "\u202eagent",  # right-to-left override
    "agent_" + "a" * 123,  # 129 characters: one too many
    "a" * 128,  # the longest valid id
    "x" * 100_000,  # huge
    "[turns=7]",
    "{{user_name}}",
    "'; DROP TABLE agents; --",
    "sim_0123456789abcdef",
    "sim_../../etc/passwd",
]
DEMO_AGENTS = ["agent_demo_support", "agent_demo_booking", "agent_demo_faq"]
VALID_ID = st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True)
TEXT = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
)
AGENT_ID = st.one_of(st.just(DEMO_AGENT), VALID_ID, TEXT)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**31, 2**63, 10**30, -(10**30)]),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JUNK = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


def _plain(value: Any) -> bool:
    return value is not None and not isinstance(value, float)


def _maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field's value: mostly of the right kind, sometimes junk of any type."""
    return st.one_of(value, value, JUNK)


def arguments(
    required: dict[str, st.SearchStrategy[Any]],
    optional: dict[str, st.SearchStrategy[Any]],
    plausible: dict[str, st.SearchStrategy[Any]] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """Argument objects. Hostile ones (two in three): required fields usually present, optional
    ones sometimes, any of them junk of any type, extra keys sometimes. Plausible ones (one in
    three): the `plausible` strategies for their fields (a real agent id...), so that the fuzzing
    also goes down the paths that succeed."""
    plausible = plausible or {}

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if draw(st.integers(0, 2)) == 0:
            for name, strategy in required.items():
                args[name] = draw(plausible.get(name, strategy))
            for name, strategy in optional.items():
                if draw(st.integers(0, 2)) == 0:
                    args[name] = draw(plausible.get(name, strategy))
            return args
        for name, strategy in required.items():
            if draw(st.integers(0, 9)) > 0:  # missing one time in ten
                args[name] = draw(_maybe(strategy))
        for name, strategy in optional.items():
            if draw(st.booleans()):
                args[name] = draw(_maybe(strategy))
        if draw(st.integers(0, 5)) == 0:
            extra = draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in args))
            args[extra] = draw(JUNK)
        return args

    return build()


REAL_AGENT = st.sampled_from(DEMO_AGENTS)
PROMPT = st.sampled_from(["An impatient caller", "A confused customer [turns=4]", "ünïcødé ✓"])


SIMULATION_ID = st.one_of(st.sampled_from(["sim_0123456789abcdef", "sim_"]), TEXT)
TOOL_ARGS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "get_agent_link": arguments({"agent_id": AGENT_ID}, {}, {"agent_id": REAL_AGENT}),
    "delete_agent": arguments(
        {"agent_id": AGENT_ID},
        {"confirm": st.booleans(), "force": st.booleans()},
        {"agent_id": REAL_AGENT},
    ),
    "duplicate_agent": arguments({"agent_id": AGENT_ID}, {"name": TEXT}, {"agent_id": REAL_AGENT}),
    "simulate_conversation": arguments(
        {"agent_id": AGENT_ID, "user_prompt": TEXT},
        {
            "first_message": TEXT,
            "language": st.sampled_from(["en", "de", "xx", "", "en-US"]) | TEXT,
            "user_llm": st.sampled_from(["gpt-4o", "gemini-2.0-flash", "nope"]) | TEXT,
            "criteria": st.lists(
                st.one_of(
                    TEXT,
                    st.fixed_dictionaries({"id": TEXT, "name": TEXT, "goal": TEXT}),
                    st.dictionaries(st.sampled_from(["id", "name", "goal", "x"]), TEXT),
                ),
                max_size=3,
            ),
            "tool_mocks": st.dictionaries(
                TEXT,
                st.one_of(
                    st.fixed_dictionaries({"return": TEXT, "is_error": st.booleans()}),
                    st.dictionaries(st.text(max_size=8), JUNK, max_size=3),
                ),
                max_size=2,
            ),
            "dynamic_variables": st.dictionaries(TEXT, SCALAR, max_size=3),
            "max_turns": st.integers(min_value=-5, max_value=10**12),
            "wait_seconds": st.one_of(st.floats(-10, 2), st.sampled_from([0, 601, 10**9])),
            "advanced": st.one_of(
                st.dictionaries(
                    st.sampled_from(
                        [
                            "partial_conversation_history",
                            "new_turns_limit",
                            "simulation_specification",
                            "extra_evaluation_criteria",
                            "tool_mock_config",
                            "unknown_field",
                        ]
                    ),
                    JUNK,
                    max_size=3,
                ),
                JUNK,
            ),
        },
        {
            "agent_id": REAL_AGENT,
            "user_prompt": PROMPT,
            "max_turns": st.integers(1, 30),
            "wait_seconds": st.sampled_from([0, 0.05, 5]),
            "advanced": st.just({"new_turns_limit": 6}),
            "dynamic_variables": st.dictionaries(
                st.from_regex(r"[a-z_]{1,10}", fullmatch=True), SCALAR.filter(_plain), max_size=3
            ),
        },
    ),
    "get_simulation": arguments(
        {"simulation_id": SIMULATION_ID},
        {
            "detail": st.sampled_from(["summary", "transcript", "full", "FULL", "raw"]) | TEXT,
            "wait_seconds": st.one_of(st.floats(-1, 0.2), st.sampled_from([601, 10**9])),
            "page": st.one_of(st.integers(-3, 5), st.sampled_from([2**31, 10**18, 10**30])),
        },
    ),
    "cancel_simulation": arguments({"simulation_id": SIMULATION_ID}, {}),
}

# --- the run -------------------------------------------------------------------------------------


class FuzzRun:
    def __init__(self, sandbox: RecordingSandbox, server: McpProcess) -> None:
        self.sandbox = sandbox
        self.server = server
        self.calls: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.simulation_ids: list[str] = []
        self.upstream: dict[str, int] = {}  # requests that reached the sandbox, per tool

    def call(self, tool: str, args: dict[str, Any]) -> None:
        if not all(self.sandbox.agent_exists(agent) for agent in DEMO_AGENTS):
            self.sandbox.reset(agents=True)  # a fuzzed delete_agent(confirm=true) removed one
        self.sandbox.clear_seen()
        try:
            result = self.server.call(tool, args, timeout=30)
        except MCPError as exc:  # a JSON-RPC error: the model would see nothing at all
            pytest.fail(f"protocol error for {tool}({_short(args)}): {exc}")
        self.calls[tool] = self.calls.get(tool, 0) + 1
        text = text_of(result)
        if result.is_error:
            self.errors[tool] = self.errors.get(tool, 0) + 1
            _assert_clear_error(tool, text, args)
        sim_id = (result.structured_content or {}).get("simulation_id")
        if isinstance(sim_id, str) and sim_id not in self.simulation_ids:
            self.simulation_ids.append(sim_id)
        seen = self.sandbox.seen()
        self.upstream[tool] = self.upstream.get(tool, 0) + len(seen)
        bad = unexpected_paths(seen)
        assert not bad, f"{tool}({_short(args)}) reached unexpected URLs: {bad}"


def _short(args: dict[str, Any]) -> str:
    text = repr(args)
    return text if len(text) < 300 else text[:300] + "..."


_GENERIC = re.compile(r"^Error executing tool \w+\s*:?\s*$")


def _assert_clear_error(tool: str, text: str, args: dict[str, Any]) -> None:
    assert text.strip(), f"{tool}({_short(args)}): an error without any text"
    assert not _GENERIC.match(text), f"{tool}({_short(args)}): an error without detail: {text!r}"
    assert "Unexpected internal error" not in text, f"{tool}({_short(args)}) crashed: {text}"
    assert "Traceback" not in text, text
    assert len(text) < 4000, f"{tool}: an error of {len(text)} characters"


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzRun]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    with (
        recording_sandbox() as sandbox,
        McpProcess(server_env(sandbox.base_url, root), log_dir=root) as server,
    ):
        run = FuzzRun(sandbox, server)
        yield run
        assert server.alive(), "the server died during the fuzz run"
        print(
            f"\nfuzz: {sum(run.calls.values())} calls {run.calls}; tool errors {run.errors}; "
            f"requests that reached the sandbox {run.upstream}, all on known routes"
        )
    log = server.stderr()
    assert_no_canary(log, "the server's stderr")
    assert "Traceback" not in log and "failed unexpectedly" not in log, log[-3000:]


@pytest.mark.parametrize("tool", list(TOOL_ARGS))
def test_fuzz_tool_arguments(tool: str, fuzz: FuzzRun) -> None:
    @FUZZ
    @given(args=TOOL_ARGS[tool])
    def run(args: dict[str, Any]) -> None:
        fuzz.call(tool, args)

    run()
    assert fuzz.calls.get(tool, 0) >= EXAMPLES // 2
    assert fuzz.server.alive()
    if tool in ("get_simulation", "cancel_simulation"):  # the server's own jobs: never the API
        assert fuzz.upstream.get(tool, 0) == 0
    else:  # the URL check really looked at traffic, and some calls went all the way through
        assert fuzz.upstream.get(tool, 0) > 0
        assert fuzz.errors.get(tool, 0) < fuzz.calls[tool], f"{tool} never succeeded"


def test_fuzz_get_simulation_on_real_ids(fuzz: FuzzRun) -> None:
    """Pages, details and waits on simulations that exist (started by the fuzz run)."""
    fuzz.call("simulate_conversation", {"agent_id": DEMO_AGENT, "user_prompt": "hi"})
    ids = fuzz.simulation_ids
    assert ids

    @FUZZ
    @given(
        sim=st.sampled_from(ids),
        detail=st.sampled_from(["summary", "transcript", "full"]),
        page=st.one_of(st.integers(-1, 6), st.sampled_from([10**9, 10**30])),
        wait=st.sampled_from([0, 0.1]),
    )
    def run(sim: str, detail: str, page: int, wait: float) -> None:
        fuzz.call(
            "get_simulation",
            {"simulation_id": sim, "detail": detail, "page": page, "wait_seconds": wait},
        )

    run()


def test_fuzz_simulation_resource(fuzz: FuzzRun) -> None:
    """simulation://{id} with any id: its content or a clear resource error, never a crash."""

    @settings(max_examples=60, deadline=None, database=None)
    @given(sim=SIMULATION_ID)
    def run(sim: str) -> None:
        try:
            text = fuzz.server.read_resource(f"simulation://{sim}")
        except MCPError as exc:
            assert str(exc).strip(), "a resource error without a message"
            assert "Traceback" not in str(exc)
            assert_no_canary(str(exc), "a resource error")
        else:
            assert '"simulation_id"' in text

    run()
    assert fuzz.server.alive()


@pytest.mark.parametrize(
    ("method", "raw_path", "query"),
    [
        ("GET", "/v1/convai/agents/../../v1/user/link", ""),
        ("GET", "/v1/convai/agents/a%2Fb/link", ""),
        ("GET", "/v1/convai/agents/agent_x/link", "force=true"),
        ("POST", "/v1/convai/agents/agent_x/link", ""),
        ("DELETE", "/v1/convai/agents/agent_x/duplicate", ""),
        ("GET", "/v1/user", ""),
        ("GET", "/v1/convai/agents/" + "a" * 129 + "/link", ""),
    ],
)
def test_path_check_flags_unexpected_urls(method: str, raw_path: str, query: str) -> None:
    """The fuzz run's URL check is not vacuous: these requests would be flagged."""
    entry = {"method": method, "raw_path": raw_path, "query": query}
    assert unexpected_paths([entry]) == [entry]
    ok = {"method": "DELETE", "raw_path": "/v1/convai/agents/agent_x", "query": "force=true"}
    assert unexpected_paths([ok]) == []
