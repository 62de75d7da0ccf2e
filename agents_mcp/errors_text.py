"""The one place that turns errors into the words the model reads: what happened, then what to
do next (whether retrying is safe, which setting to change, what to check first).

The errors carry facts (api/errors.py, errors.py); this module reads only those facts, never the
wording of a message. A text quotes the API's own message where it helps, clipped. Every text is
redacted again by the tool layer before it leaves the server. No mcp import: any layer may ask.

Rules the words follow: a request that was not sent says so; one that may have taken effect and
was not repeated says why not (a copy or a test may exist; a simulation costs credits); one that
took effect though its answer was unusable says not to repeat it; a retried request says how many
times it was tried; a refusal names the setting or the fields to fix.
"""

from __future__ import annotations

from agents_mcp.api.errors import (
    KEY_VAR,
    AgentNotFoundError,
    APIError,
    AuthenticationError,
    EndpointGoneError,
    InvalidIdError,
    Operation,
    RateLimitedError,
    RequestValidationError,
    ResourceNotFoundError,
    StreamError,
    UpstreamError,
)
from agents_mcp.api.failures import clip
from agents_mcp.errors import AgentsMCPError, JobBusyError, UnknownJobError

EXAMPLE_AGENT_ID = "agent_3201k60p4ctyfg4smr22n17n6vxy"
MAX_FIELD_ERRORS = 8
RESIDENCY_VAR = "ELEVENLABS_API_RESIDENCY"

# What each operation does, as the object of "trying to ..."; {id} is the operation's id.
_PHRASES = {
    "delete_agent": "delete agent {id}",
    "duplicate_agent": "duplicate agent {id}",
    "get_agent_link": "get the share link of agent {id}",
    "simulate": "simulate a conversation with agent {id}",
    "simulate_stream": "simulate a conversation with agent {id}",
    "create_test": "create a test",
    "get_test": "get test {id}",
    "update_test": "update test {id}",
    "delete_test": "delete test {id}",
    "list_tests": "list the tests",
    "run_tests": "run tests on agent {id}",
    "get_invocation": "get test invocation {id}",
    "list_invocations": "list the test invocations",
    "cancel_invocation": "cancel test invocation {id}",
    "resubmit_invocation": "resubmit test invocation {id}",
    "list_tools": "list the workspace tools",
    "list_agents": "list the agents",
}
_PAID = ("simulate", "simulate_stream", "run_tests", "resubmit_invocation")
# Why a request that may have taken effect was not sent again, and what to check first.
_NOT_SENT_AGAIN = {
    "duplicate_agent": (
        "a copy may have been created anyway: check the agent list before trying again"
    ),
    "create_test": "the test may have been created anyway: check the test list before trying again",
    **dict.fromkeys(_PAID, "a simulation costs credits; try again later"),
}
# A request that took effect, though its answer could not be used.
_DONE = {
    "delete_agent": "The agent was most likely deleted: do not retry.",
    "delete_test": "The test was most likely deleted: do not retry.",
    "duplicate_agent": (
        "A copy may have been created anyway: check the agent list before trying again."
    ),
    "create_test": "The test was most likely created: check the test list before trying again.",
    **dict.fromkeys(_PAID, "It most likely ran (and cost credits): do not repeat it blindly."),
}
# Where the id of a job comes from, and how to wait for one to finish.
_JOB_TOOLS = {"simulation": ("simulate_conversation", "get_simulation with wait_seconds")}


def error_text(exc: AgentsMCPError, *, tool: str | None = None, agent_id: str | None = None) -> str:
    """The words for `exc`: what happened, then what to do.

    `tool` and `agent_id` stand in for the operation when the error carries none (an error
    rebuilt from a stored record); the error's own facts win.
    """
    if isinstance(exc, APIError):
        op = exc.operation or _stand_in(tool, agent_id)
        return _api_text(exc, op)
    if isinstance(exc, JobBusyError):
        wait = _JOB_TOOLS.get(exc.kind, ("", "a status call"))[1]
        return (
            f"Too many {exc.kind}s at once: {exc.active} already started (at most {exc.running} "
            f"run at a time and {exc.queued} more wait their turn). Nothing was started. Wait "
            f"for one to finish ({wait}) and try again."
        )
    if isinstance(exc, UnknownJobError):
        source = _JOB_TOOLS.get(exc.kind, ("the call that started it", ""))[0]
        return (
            f"Unknown {exc.kind} id {exc.job_id!r}: no {exc.kind} with this id was run here (or "
            f"it was pruned). Ids come from {source}'s result."
        )
    return _sentence(str(exc))


def _stand_in(tool: str | None, agent_id: str | None) -> Operation | None:
    if tool is None and agent_id is None:
        return None
    name = {"simulate_conversation": "simulate_stream", "get_simulation": "simulate_stream"}.get(
        tool or "", tool or "simulate_stream"
    )
    return Operation(name, agent_id or "", idempotent=name in ("delete_agent", "get_agent_link"))


def _api_text(exc: APIError, op: Operation | None) -> str:
    if isinstance(exc, InvalidIdError):
        like = f" (like {EXAMPLE_AGENT_ID})" if exc.subject == "agent" else ""
        article = "an" if exc.subject[:1] in ("a", "e", "i", "o", "u") else "a"
        return (
            f"Invalid {exc.subject} id {exc.value}: {article} {exc.subject} id has 1 to 128 "
            f"letters, digits, '_' or '-'{like}. Nothing was sent. Check the id and call again."
        )
    if isinstance(exc, AuthenticationError):
        return _auth_text(exc, op)
    if isinstance(exc, AgentNotFoundError | ResourceNotFoundError):
        return _not_found_text(exc, op)
    if isinstance(exc, RequestValidationError):
        return _invalid_text(exc, op)
    if isinstance(exc, RateLimitedError):
        return _rate_text(exc, op)
    if isinstance(exc, EndpointGoneError):
        return _gone_text(exc, op)
    if isinstance(exc, StreamError):
        return _stream_text(exc)
    if isinstance(exc, UpstreamError):
        return _upstream_text(exc, op)
    return f"The ElevenLabs API refused to {_doing(op)} ({_said(exc)}{_rid(exc)})."


# --- pieces --------------------------------------------------------------------------------------


def _doing(op: Operation | None) -> str:
    if op is None:
        return "carry out the request"
    template = _PHRASES.get(op.name, op.name.replace("_", " ") + " {id}")
    return template.format(id=op.agent_id).strip()


def _said(exc: APIError) -> str:
    """'HTTP 401 invalid_api_key: Invalid API key', from what the API said."""
    head = f"HTTP {exc.status}" if exc.status is not None else ""
    if exc.code:
        head = f"{head} {exc.code}".strip()
    if head and exc.detail:
        return f"{head}: {clip(exc.detail)}"
    return head or clip(exc.detail) or "no detail"


def _rid(exc: APIError) -> str:
    return f"; request id {exc.request_id}" if exc.request_id else ""


def _tries(exc: APIError) -> str:
    return f" ({exc.attempts} attempts)" if exc.attempts > 1 else ""


def _after_failure(exc: APIError, op: Operation | None) -> str:
    """What to do after a failure the arguments did not cause: whether sending again is safe."""
    if exc.not_sent_again and op is not None:
        why = _NOT_SENT_AGAIN.get(op.name, "check whether it happened before trying again")
        return f" It may have taken effect, so it was not sent again: {why}."
    if exc.effect == "done":
        return " " + _DONE.get(op.name if op else "", "Retrying is unlikely to help.")
    tried = f" It was tried {exc.attempts} times." if exc.attempts > 1 else ""
    return (
        f"{tried} This is not caused by the arguments: retry in a minute; if it persists, check "
        f"the network and ELEVENLABS_BASE_URL / {RESIDENCY_VAR}."
    )


def _auth_text(exc: AuthenticationError, op: Operation | None) -> str:
    var = exc.setting or KEY_VAR
    said = _said(exc)
    restart = "in the MCP server's environment and restart the server"
    code = (exc.code or "").lower()
    if code == "missing_api_key" and exc.sent is False:
        return (
            f"No API key is set, so nothing was sent (the API would refuse to {_doing(op)}). "
            f"Set {var} {restart} (or api_key in its config file)."
        )
    if code == "missing_api_key":
        # the API's own words here name its header, not the setting: leave them out
        status = f" (HTTP {exc.status})" if exc.status is not None else ""
        return (
            f"No API key was sent, so the API refused to {_doing(op)}{status}. Set {var} "
            f"{restart} (or api_key in its config file)."
        )
    if code == "invalid_api_key":
        return (
            f"The API refused the API key in {var} as invalid ({said}). Set {var} to a valid key "
            f"(elevenlabs.io, Settings > API keys) {restart}. Retrying will not help."
        )
    if code == "quota_exceeded":
        return (
            f"The account of the API key in {var} is out of quota ({said}). Top up the account, "
            f"or set {var} to a key of another account {restart}."
        )
    if exc.status == 403:
        return (
            f"The API key in {var} is not allowed to {_doing(op)} ({said}). Set {var} to a key "
            f"with access to ElevenLabs Agents (Conversational AI) {restart}."
        )
    return (
        f"The API refused the API key in {var} ({said}): missing, wrong, or without access to "
        f"Agents. Set {var} to a valid key {restart}. Retrying will not help."
    )


def _not_found_text(exc: APIError, op: Operation | None) -> str:
    subject = op.subject if op is not None and op.subject else "agent"
    the_id = op.agent_id if op is not None and op.agent_id else ""
    named = f"{subject} {the_id}" if the_id else f"such {subject}"
    if exc.earlier and op is not None and op.name.startswith("delete"):
        # A retried delete found nothing: the first attempt, whose answer was lost, did it.
        return (
            f"The {named} no longer exists: an earlier attempt of this delete lost its answer "
            f"({exc.earlier}) and most likely deleted it (the retry found no such {subject}). "
            "Do not retry."
        )
    if (exc.code or "").lower() == "branch_not_found":
        return (
            f"Unknown branch: the API has no such branch of {named} ({_said(exc)}). Check the "
            "branch_id, or leave it out to use the agent's main branch."
        )
    if subject != "agent":
        return (
            f"Unknown {subject}: the API has no {named} ({_said(exc)}). It may have been "
            f"deleted, or belong to another workspace or region ({RESIDENCY_VAR}). Check the id."
        )
    return (
        f"Unknown agent: the API has no {named} ({_said(exc)}). It may have been deleted, or "
        f"belong to another workspace or region ({RESIDENCY_VAR}). Check the agent id (ids look "
        f"like {EXAMPLE_AGENT_ID})."
    )


def _fields(exc: RequestValidationError) -> str:
    shown = exc.errors[:MAX_FIELD_ERRORS]
    text = "; ".join(f"{e.location}: {clip(e.reason, 120)}" for e in shown)
    more = len(exc.errors) - len(shown)
    return text + (f"; and {more} more" if more > 0 else "")


def _invalid_text(exc: RequestValidationError, op: Operation | None) -> str:
    fix = " Fix these fields and call again."
    if exc.sent is False:
        listed = _fields(exc) if exc.errors else clip(exc.detail) or "no detail given"
        return f"The request to {_doing(op)} is invalid, so it was not sent: {listed}.{fix}"
    status = f" (HTTP {exc.status})" if exc.status is not None else ""
    head = f"The request to {_doing(op)} was refused as invalid{status}"
    if exc.errors and exc.code:  # the API's own message, and the field it names
        field = "fields" if len(exc.errors) > 1 else "field"
        said = f"{exc.code}: {clip(exc.detail)}" if exc.detail else exc.code
        return f"{head}: {said} ({field} {_fields(exc)}).{fix}"
    if exc.errors:
        return f"{head}: {_fields(exc)}.{fix}"
    given = f"{exc.code}: {exc.detail}" if exc.code and exc.detail else exc.detail or exc.code
    return f"{head}: {_sentence(clip(given or 'no detail given'))} Fix the request and call again."


def _rate_text(exc: RateLimitedError, op: Operation | None) -> str:
    after = f" after {exc.attempts} attempts" if exc.attempts > 1 else ""
    text = f"Rate limited by the ElevenLabs API while trying to {_doing(op)} ({_said(exc)}){after}."
    if exc.max_concurrent:
        text += f" The account allows {exc.max_concurrent} concurrent requests"
        text += f" and {exc.in_use} are in use." if exc.in_use else "."
    calls = "simulations" if op is not None and op.name in _PAID else "calls"
    if exc.retry_after is None:
        return f"{text} Wait a few seconds, then retry; run fewer {calls} at the same time."
    seconds = max(1, round(exc.retry_after))
    return f"{text} Retry in {seconds} s; run fewer {calls} at the same time."


def _gone_text(exc: EndpointGoneError, op: Operation | None) -> str:
    if op is None or op.is_simulation:
        return (
            f"The simulate-conversation endpoint is gone ({_said(exc)}). ElevenLabs deprecated "
            "the simulate-conversation endpoints (their removal was announced for 31 Oct 2026) "
            "in favour of the agent-testing API (POST /v1/convai/agent-testing/create, then "
            "POST /v1/convai/agents/{agent_id}/run-tests). Nothing was simulated and no credits "
            "were used; tell the user."
        )
    return (
        f"The API no longer offers the endpoint to {_doing(op)} ({_said(exc)}); tell the user. "
        "Retrying will not help."
    )


def _stream_text(exc: StreamError) -> str:
    counts = ""
    if exc.frames is not None:
        counts = f" after {exc.frames} frames and {exc.turns or 0} turns, with no analysis"
    seconds = f"{exc.timeout:g} s" if exc.timeout is not None else "too long"
    setting = f" ({exc.setting})" if exc.setting else ""
    if exc.kind == "stall":
        text = f"The simulation stream stalled: no bytes for {seconds}{setting}{counts}."
    elif exc.kind == "timeout":
        text = f"The simulation took longer than {seconds}{setting}{counts}."
    elif exc.kind == "no_analysis":
        text = (
            f"The simulation stream ended without an analysis after {exc.frames or 0} frames and "
            f"{exc.turns or 0} turns: the API stopped early."
        )
    else:
        text = f"The simulation stream broke: {_sentence(exc.detail + counts)}"
    if exc.effect == "unknown":
        text += " It was not sent again because a simulation costs credits."
    return text + " Retry the simulation if its result is still needed."


def _upstream_text(exc: UpstreamError, op: Operation | None) -> str:
    doing = _doing(op)
    if exc.kind == "connect":
        return (
            f"Could not connect to the ElevenLabs API at {exc.url} to {doing} ({exc.detail})"
            f"{_tries(exc)}, so it could not answer. Nothing was sent. This is not caused by the "
            f"arguments: retry in a minute; if it persists, check the network, "
            f"{exc.setting or 'ELEVENLABS_BASE_URL'} and {RESIDENCY_VAR}."
        )
    if exc.kind == "redirect":
        return (
            f"The API answered {doing} with a redirect (HTTP {exc.status} to {exc.url}), which is "
            f"not followed (the key must not go elsewhere). Check {exc.setting}."
        )
    if exc.kind == "timeout":
        within = f" within {exc.timeout:g} s" if exc.timeout else ""
        head = f"The ElevenLabs API did not answer{within} while trying to {doing} ({exc.detail})"
        return head + _tries(exc) + "." + _after_failure(exc, op)
    if exc.kind == "broken":
        head = f"The connection to the ElevenLabs API broke while trying to {doing} ({exc.detail})"
        return head + _tries(exc) + "." + _after_failure(exc, op)
    if exc.kind == "too_large":
        return (
            f"The ElevenLabs API carried out the request to {doing} (HTTP {exc.status}), but its "
            f"answer is larger than {exc.limit} bytes and was not read." + _after_failure(exc, op)
        )
    if exc.kind == "body":
        return (
            f"The API answered {doing} with an unexpected body ({exc.detail}): it went through, "
            "but its answer could not be read." + _after_failure(exc, op)
        )
    return (
        f"The ElevenLabs API could not answer the request to {doing} ({_said(exc)}{_rid(exc)})."
        + _after_failure(exc, op)
    )


def _sentence(text: str) -> str:
    """`text` ending with a full stop (texts are joined into sentences)."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."
