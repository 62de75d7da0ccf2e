"""The roots of every error agents-mcp raises on purpose, importable by every layer (no mcp, no
httpx2 import here).

    AgentsMCPError
    ├── ConfigError (also ValueError)    a setting is wrong; `.setting` names it when one does
    │   ├── server.ConfigError           (the same class, re-exported)
    │   ├── settings.SettingsError
    │   └── sidecar.app.HTTPSettingsError
    ├── JobError                         a background job (a simulation, a test run) refused
    │   ├── JobBusyError                 too many jobs started; nothing was started
    │   └── UnknownJobError (KeyError)   no job with this id here
    └── api.errors.APIError              the API layer's tree (drawn in api/errors.py)

Rules: an error carries facts (counts, ids, the setting); `str(error)` is one short factual line
for logs, never advice. The words the model reads are written in one place,
agents_mcp/errors_text.py, so one clause per root maps every error of a kind to a tool error.
"""

from __future__ import annotations


class AgentsMCPError(Exception):
    """Base of the errors agents-mcp raises on purpose (anything else is a bug)."""


class ConfigError(AgentsMCPError, ValueError):
    """The settings ask for something the server cannot do; the message says what to change."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting  # e.g. "AGENTS_MCP_TOOLS", when one setting is at fault


class JobError(AgentsMCPError):
    """A background job could not be started or found. `kind` names the job ("simulation",
    "test run"), so one text fits every kind of job."""

    def __init__(self, message: str, *, kind: str = "simulation") -> None:
        super().__init__(message)
        self.kind = kind


class JobBusyError(JobError):
    """Too many jobs running and waiting: the new one was refused (nothing was started)."""

    def __init__(self, *, active: int, running: int, queued: int, kind: str = "simulation") -> None:
        super().__init__(
            f"too many {kind}s: {active} already started ({running} run at a time, {queued} more "
            "may wait); nothing was started",
            kind=kind,
        )
        self.active = active
        self.running = running  # at most this many run at once
        self.queued = queued  # at most this many more wait for a slot


class UnknownJobError(JobError, KeyError):
    """No job with this id was run here (or it was pruned from the store)."""

    def __init__(self, job_id: str, *, kind: str = "simulation") -> None:
        self.job_id = job_id[:40]  # the caller's text: never echoed at length
        super().__init__(f"unknown {kind} id {self.job_id!r}", kind=kind)

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return str(self.args[0])
