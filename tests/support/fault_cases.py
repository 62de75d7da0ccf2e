"""The fault matrix as data: every (fault, tool) pair with its expected outcome, written down.

This table is the single source of tests/e2e/reliability/test_fault_matrix.py (which runs every
case against the real server process and the sandbox) and of docs/fault-matrix.md (rendered by
scripts/gen_fault_matrix.py; a test keeps the committed file equal to the rendering).

An outcome says: whether the server retried, how many requests reached the sandbox, whether the
model gets a tool error, substrings of the text the model reads, and what was stored afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The settings every configuration runs with (tests/support/reliability.py server_env).
MAX_RETRIES = 2
ATTEMPTS = MAX_RETRIES + 1
# Short enough to keep the matrix fast, long enough that a busy machine never trips them.
REQUEST_TIMEOUT = 1.5  # AGENTS_MCP_REQUEST_TIMEOUT: delete, duplicate, link
STALL_TIMEOUT = 1.0  # AGENTS_MCP_STALL_TIMEOUT: no byte on the simulation stream for this long
STALL_SECONDS = 4.0  # how long the sandbox stalls: well past both timeouts
HUGE_BYTES = 9_000_000  # a response this big: over the 1 MiB answer limit and the 8 MiB frame limit
STREAM_FRAMES = 3  # mid-stream faults strike after this many frames

TOOLS = (
    "get_agent_link",
    "delete_agent",
    "duplicate_agent",
    "simulate_conversation",
    "get_simulation",
)

# What "stored" may say, and what the test checks for each.
STORED = {
    "nothing": "no state to check (nothing is stored by this call)",
    "agent kept": "the target agent still exists in the sandbox",
    "agent deleted": "the target agent no longer exists in the sandbox",
    "no copy": "no agent with the copy's name exists in the sandbox",
    "one copy": "exactly one agent with the copy's name exists in the sandbox",
    "done": "the stored simulation is done, with turns and an analysis",
    "failed, no turns": "the stored simulation failed and has no turns",
    "failed, partial turns": "the stored simulation failed and keeps the turns received",
}


@dataclass(frozen=True)
class Fault:
    key: str
    label: str  # the docs' name for it
    how: str  # how the test produces it
    config: str = "main"  # which server configuration (see CONFIGS)
    arm: dict[str, Any] | None = None  # sandbox fault for delete/duplicate/link
    arm_stream: dict[str, Any] | None = None  # sandbox fault for the simulation stream
    times: int | None = None  # None: every matching request; 1: only the first
    missing_agent: bool = False  # target an agent id that does not exist
    echo_key: bool = False  # the test proxy quotes the received key in a 400 error

    def spec(self, streamed: bool) -> dict[str, Any] | None:
        return (self.arm_stream or self.arm) if streamed else self.arm


CONFIGS = {
    "main": "canary key accepted by the sandbox",
    "bad_key": "ELEVENLABS_API_KEY is a key the sandbox refuses",
    "no_key": "ELEVENLABS_API_KEY unset",
    "refused": "ELEVENLABS_BASE_URL points at a closed loopback port",
}

_S = STREAM_FRAMES
FAULTS: dict[str, Fault] = {
    f.key: f
    for f in (
        Fault("bad_key", "401 bad key", "server configured with a wrong key", config="bad_key"),
        Fault("no_key", "401 missing key", "server configured without a key", config="no_key"),
        Fault("not_found", "404 unknown agent", "a well-formed id of no agent", missing_agent=True),
        Fault("http_422", "422 invalid body", "sandbox fault http_422", arm={"fault": "http_422"}),
        Fault(
            "rate_limit_retry_after",
            "429 with Retry-After: 1",
            "sandbox fault rate_limit, retry_after=1, every request",
            arm={"fault": "rate_limit", "retry_after": 1},
        ),
        Fault(
            "rate_limit_long",
            "429 with Retry-After: 120",
            "sandbox fault rate_limit, retry_after=120 (longer than the client waits)",
            arm={"fault": "rate_limit", "retry_after": 120},
        ),
        Fault(
            "rate_limit",
            "429 without Retry-After",
            "sandbox fault rate_limit, every request",
            arm={"fault": "rate_limit"},
        ),
        Fault(
            "rate_limit_once",
            "429 once, then OK",
            "sandbox fault rate_limit, first request only",
            arm={"fault": "rate_limit"},
            times=1,
        ),
        Fault(
            "http_500", "500", "sandbox fault http_500, every request", arm={"fault": "http_500"}
        ),
        Fault(
            "http_500_once",
            "500 once, then OK",
            "sandbox fault http_500, first request only",
            arm={"fault": "http_500"},
            times=1,
        ),
        Fault("http_502", "502 (HTML page)", "sandbox fault http_502", arm={"fault": "http_502"}),
        Fault("http_503", "503", "sandbox fault http_503", arm={"fault": "http_503"}),
        Fault(
            "refused",
            "connection refused",
            "server pointed at a closed port",
            config="refused",
        ),
        Fault(
            "drop_before_response",
            "connection dropped before the response",
            "sandbox fault drop_connection (request not processed)",
            arm={"fault": "drop_connection"},
        ),
        Fault(
            "drop_after_processing",
            "connection dropped after processing",
            "sandbox fault drop_connection, after_processing (the request took effect)",
            arm={"fault": "drop_connection", "after_processing": True},
        ),
        Fault(
            "drop_mid_response",
            "connection dropped mid-response / mid-stream",
            f"sandbox fault drop_mid_stream: half the body (stream: after {_S} frames)",
            arm={"fault": "drop_mid_stream", "after_frames": 0},
            arm_stream={"fault": "drop_mid_stream", "after_frames": _S},
        ),
        Fault(
            "malformed",
            "malformed body / frame",
            f"sandbox fault malformed_frame: truncated JSON (stream: a broken frame after {_S})",
            arm={"fault": "malformed_frame"},
            arm_stream={"fault": "malformed_frame", "after_frames": _S},
        ),
        Fault(
            "no_analysis",
            "stream ends without analysis",
            "sandbox fault no_analysis",
            arm_stream={"fault": "no_analysis"},
        ),
        Fault(
            "stall",
            "stall longer than the timeout",
            f"sandbox fault stall {STALL_SECONDS:g} s (before the answer; stream: after {_S} "
            f"frames) vs request timeout {REQUEST_TIMEOUT:g} s / stall timeout {STALL_TIMEOUT:g} s",
            arm={"fault": "stall", "seconds": STALL_SECONDS},
            arm_stream={"fault": "stall", "seconds": STALL_SECONDS, "after_frames": _S},
        ),
        Fault(
            "huge_response",
            "response far larger than expected",
            f"sandbox fault huge_response, {HUGE_BYTES:,} bytes",
            arm={"fault": "huge_response", "bytes": HUGE_BYTES},
        ),
        Fault(
            "echo_key",
            "error body quoting the API key",
            "test proxy in front of the sandbox answers 400 quoting the received xi-api-key",
            echo_key=True,
        ),
    )
}


@dataclass(frozen=True)
class Case:
    fault: str
    tool: str
    retried: bool
    requests: int  # requests that reached the sandbox
    is_error: bool
    says: tuple[str, ...]  # substrings of what the model reads
    stored: str  # a key of STORED
    min_seconds: float = 0.0  # the call cannot have been faster (honoured waits)
    timeout: float = 20.0  # the case fails if the call takes longer
    note: str = ""

    @property
    def id(self) -> str:
        return f"{self.fault}-{self.tool}"


def _cases() -> list[Case]:
    n = ATTEMPTS
    c = Case
    out: list[Case] = []
    add = out.append

    # --- authentication ------------------------------------------------------------------------
    for fault, says in (
        ("bad_key", ("refused the API key", "ELEVENLABS_API_KEY")),
        ("no_key", ("No API key was sent", "ELEVENLABS_API_KEY")),
    ):
        add(c(fault, "get_agent_link", False, 1, True, says, "nothing"))
        add(c(fault, "delete_agent", False, 1, True, says, "agent kept"))
        add(c(fault, "duplicate_agent", False, 1, True, says, "no copy"))
        add(c(fault, "simulate_conversation", False, 1, True, says, "failed, no turns"))

    # --- 404 and 422 ---------------------------------------------------------------------------
    says = ("Unknown agent",)
    add(c("not_found", "get_agent_link", False, 1, True, says, "nothing"))
    add(c("not_found", "delete_agent", False, 1, True, says, "nothing"))
    add(c("not_found", "duplicate_agent", False, 1, True, says, "no copy"))
    add(c("not_found", "simulate_conversation", False, 1, True, says, "failed, no turns"))
    says = ("refused as invalid", "name: Value error")
    add(c("http_422", "get_agent_link", False, 1, True, says, "nothing"))
    add(c("http_422", "delete_agent", False, 1, True, says, "agent kept"))
    add(c("http_422", "duplicate_agent", False, 1, True, says, "no copy"))
    add(c("http_422", "simulate_conversation", False, 1, True, says, "failed, no turns"))

    # --- 429 -----------------------------------------------------------------------------------
    # A 429 means the API refused the request: sending it again is safe for every operation.
    waited = 2 * 1.0  # two honoured Retry-After waits of 1 s
    says = ("Rate limited", "Retry in 1 s")
    for tool, stored in (
        ("get_agent_link", "nothing"),
        ("delete_agent", "agent kept"),
        ("duplicate_agent", "no copy"),
        ("simulate_conversation", "failed, no turns"),
    ):
        add(c("rate_limit_retry_after", tool, True, n, True, says, stored, min_seconds=waited))
        add(c("rate_limit_long", tool, False, 1, True, ("Rate limited", "Retry in 120 s"), stored))
        add(c("rate_limit", tool, True, n, True, ("Rate limited", "Wait a few seconds"), stored))
    add(
        c(
            "rate_limit",
            "get_simulation",
            True,
            n,
            False,
            ("failed", "Rate limited"),
            "failed, no turns",
        )
    )
    add(c("rate_limit_once", "get_agent_link", True, 2, False, ("Talk to agent",), "nothing"))
    add(c("rate_limit_once", "delete_agent", True, 2, False, ("Deleted agent",), "agent deleted"))
    add(c("rate_limit_once", "duplicate_agent", True, 2, False, ("Created agent",), "one copy"))
    add(c("rate_limit_once", "simulate_conversation", True, 2, False, ("done",), "done"))

    # --- 5xx: retried only where sending again is safe (link, delete) ----------------------------
    not_again_copy = "copy may have been created anyway"
    not_again_sim = "a simulation costs credits"
    lost = "may have taken effect, so it was not sent again"  # a create or a paid run
    for fault, said in (
        ("http_500", "HTTP 500"),
        ("http_502", "502 Bad Gateway"),
        ("http_503", "HTTP 503"),
    ):
        add(c(fault, "get_agent_link", True, n, True, (said, f"tried {n} times"), "nothing"))
        add(c(fault, "delete_agent", True, n, True, (said, f"tried {n} times"), "agent kept"))
        add(c(fault, "duplicate_agent", False, 1, True, (said, lost, not_again_copy), "no copy"))
        add(
            c(
                fault,
                "simulate_conversation",
                False,
                1,
                True,
                (said, lost, not_again_sim),
                "failed, no turns",
            )
        )
    add(
        c("http_500", "get_simulation", False, 1, False, ("failed", "HTTP 500"), "failed, no turns")
    )
    add(c("http_500_once", "get_agent_link", True, 2, False, ("Talk to agent",), "nothing"))
    add(c("http_500_once", "delete_agent", True, 2, False, ("Deleted agent",), "agent deleted"))
    add(
        c(
            "http_500_once",
            "duplicate_agent",
            False,
            1,
            True,
            ("HTTP 500", lost, not_again_copy),
            "no copy",
        )
    )
    add(
        c(
            "http_500_once",
            "simulate_conversation",
            False,
            1,
            True,
            ("HTTP 500", lost, not_again_sim),
            "failed, no turns",
        )
    )

    # --- connections ---------------------------------------------------------------------------
    says = ("Could not connect", "Nothing was sent", f"{n} attempts")
    add(c("refused", "get_agent_link", True, 0, True, says, "nothing"))
    add(c("refused", "delete_agent", True, 0, True, says, "nothing"))
    add(c("refused", "duplicate_agent", True, 0, True, says, "nothing"))
    add(c("refused", "simulate_conversation", True, 0, True, says, "failed, no turns"))
    add(c("refused", "get_simulation", True, 0, False, ("failed", *says), "failed, no turns"))

    broke = "connection to the ElevenLabs API broke"
    add(
        c(
            "drop_before_response",
            "get_agent_link",
            True,
            n,
            True,
            (broke, f"{n} attempts"),
            "nothing",
        )
    )
    add(c("drop_before_response", "delete_agent", True, n, True, (broke,), "agent kept"))
    add(
        c(
            "drop_before_response",
            "duplicate_agent",
            False,
            1,
            True,
            (broke, lost, not_again_copy),
            "no copy",
        )
    )
    add(
        c(
            "drop_before_response",
            "simulate_conversation",
            False,
            1,
            True,
            (broke, lost, not_again_sim),
            "failed, no turns",
        )
    )
    add(c("drop_after_processing", "get_agent_link", True, n, True, (broke,), "nothing"))
    add(
        c(
            "drop_after_processing",
            "delete_agent",
            True,
            n,
            True,
            (broke,),
            "agent deleted",
            note="deleted by the first request; its answer was lost",
        )
    )
    add(
        c(
            "drop_after_processing",
            "duplicate_agent",
            False,
            1,
            True,
            (broke, lost, not_again_copy),
            "one copy",
            note="the copy exists; it was not made twice",
        )
    )
    add(
        c(
            "drop_after_processing",
            "simulate_conversation",
            False,
            1,
            True,
            (broke, lost, not_again_sim),
            "failed, no turns",
        )
    )

    add(c("drop_mid_response", "get_agent_link", True, n, True, (broke,), "nothing"))
    add(
        c(
            "drop_mid_response",
            "delete_agent",
            True,
            2,
            True,
            ("no longer exists", "earlier attempt"),
            "agent deleted",
            note="the retry finds no agent: the first request deleted it",
        )
    )
    add(
        c(
            "drop_mid_response",
            "duplicate_agent",
            False,
            1,
            True,
            (broke, lost, not_again_copy),
            "one copy",
        )
    )
    says = ("connection broke", "Partial transcript kept")
    add(
        c(
            "drop_mid_response",
            "simulate_conversation",
            False,
            1,
            True,
            says,
            "failed, partial turns",
        )
    )
    add(c("drop_mid_response", "get_simulation", False, 1, False, says, "failed, partial turns"))

    # --- broken bodies and streams -------------------------------------------------------------
    add(c("malformed", "get_agent_link", False, 1, True, ("unexpected body",), "nothing"))
    add(
        c(
            "malformed",
            "delete_agent",
            False,
            1,
            False,
            ("Deleted agent",),
            "agent deleted",
            note="a 2xx with any body is a successful delete",
        )
    )
    add(
        c(
            "malformed",
            "duplicate_agent",
            False,
            1,
            True,
            ("unexpected body", not_again_copy),
            "one copy",
        )
    )
    says = ("malformed frame", "Partial transcript kept")
    add(c("malformed", "simulate_conversation", False, 1, True, says, "failed, partial turns"))
    add(c("malformed", "get_simulation", False, 1, False, says, "failed, partial turns"))
    says = ("ended without an analysis", "Partial transcript kept")
    add(c("no_analysis", "simulate_conversation", False, 1, True, says, "failed, partial turns"))
    add(c("no_analysis", "get_simulation", False, 1, False, says, "failed, partial turns"))

    t = f"within {REQUEST_TIMEOUT:g} s"
    add(c("stall", "get_agent_link", False, 1, True, ("did not answer", t), "nothing"))
    add(
        c(
            "stall",
            "delete_agent",
            False,
            1,
            True,
            ("did not answer", t),
            "agent kept",
            note="checked when the call returns; the sandbox may still act on it later",
        )
    )
    add(
        c(
            "stall",
            "duplicate_agent",
            False,
            1,
            True,
            ("did not answer", lost, not_again_copy),
            "no copy",
        )
    )
    says = ("stalled", f"{STALL_TIMEOUT:g} s", "Partial transcript kept")
    add(c("stall", "simulate_conversation", False, 1, True, says, "failed, partial turns"))
    add(c("stall", "get_simulation", False, 1, False, says, "failed, partial turns"))

    big = "larger than 1048576 bytes"
    add(c("huge_response", "get_agent_link", False, 1, True, (big,), "nothing"))
    add(
        c(
            "huge_response",
            "delete_agent",
            False,
            1,
            True,
            (big, "most likely deleted: do not retry"),
            "agent deleted",
            note="the answer was 200: the model is told the delete went through",
        )
    )
    add(c("huge_response", "duplicate_agent", False, 1, True, (big, not_again_copy), "one copy"))
    says = ("larger than the limit", "Partial transcript kept")
    add(c("huge_response", "simulate_conversation", False, 1, True, says, "failed, partial turns"))
    add(c("huge_response", "get_simulation", False, 1, False, says, "failed, partial turns"))

    says = ("refused as invalid", "[redacted]")
    add(c("echo_key", "get_agent_link", False, 1, True, says, "nothing"))
    add(c("echo_key", "delete_agent", False, 1, True, says, "agent kept"))
    add(c("echo_key", "duplicate_agent", False, 1, True, says, "no copy"))
    add(c("echo_key", "simulate_conversation", False, 1, True, says, "failed, no turns"))
    order = list(FAULTS)
    return sorted(out, key=lambda case: (order.index(case.fault), TOOLS.index(case.tool)))


CASES: list[Case] = _cases()


def check_table() -> None:
    """The table is consistent: known faults, tools and stored states; ids unique."""
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    for case in CASES:
        assert case.fault in FAULTS, case.id
        assert case.tool in TOOLS, case.id
        assert case.stored in STORED, case.id
        assert case.retried == (case.requests > 1) or FAULTS[case.fault].config == "refused", (
            case.id
        )


check_table()
