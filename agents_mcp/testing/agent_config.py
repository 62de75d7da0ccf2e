"""The agent's stored config as run-tests needs it: candidate overrides merged onto it, and the
tests attached to it.

run-tests' `agent_config_override` must be a WHOLE config (both `conversation_config` and
`platform_settings`); callers give a partial one (the change they want to try). It is deep-merged
onto the agent's stored config (objects key by key; lists and values replaced, as PATCH does).
The override's fields are checked like update_agent's changes (a typo is refused, not run).
`fetch_agent` is a minimal GET of the agent: when AgentsAPI.get_agent exists (branch `agentview`)
it is used instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents_mcp.api import AgentsAPI

PARTS = ("conversation_config", "platform_settings")


class OverrideError(ValueError):
    """An override that cannot be sent; the message names the field."""


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict: `base` with `extra` merged in (objects merge key by key; anything else in
    `extra`, lists included, replaces)."""
    out = dict(base)
    for key, value in extra.items():
        current = out.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            out[key] = deep_merge(current, value)
        elif isinstance(value, Mapping):
            out[key] = deep_merge({}, value)
        else:
            out[key] = value
    return out


def check_override(partial: object, where: str = "agent_config_override") -> dict[str, Any]:
    """The partial override, checked: an object with only conversation_config and
    platform_settings, each an object."""
    if not isinstance(partial, Mapping):
        raise OverrideError(
            f"{where}: must be an object {{conversation_config, platform_settings}}"
        )
    unknown = sorted(set(partial) - set(PARTS))
    if unknown:
        raise OverrideError(
            f"{where}: unknown key(s) {unknown}; only conversation_config and platform_settings "
            "can be overridden in a test run"
        )
    for part in PARTS:
        if part in partial and not isinstance(partial[part], Mapping):
            raise OverrideError(f"{where}.{part}: must be an object")
    _check_fields(partial, where)
    return dict(partial)


def _check_fields(partial: Mapping[str, Any], where: str) -> None:
    """The override's fields checked against the agent config models, as update_agent checks
    its changes: a mistyped field or a wrong type is refused before any run spends credits."""
    from agents_mcp.api.agent_config import validate_changes
    from agents_mcp.api.errors import RequestValidationError

    if not partial:
        return
    try:
        validate_changes(partial)
    except RequestValidationError as exc:
        listed = "; ".join(
            f"{where}{e.location.removeprefix('changes')}: {e.reason}" for e in exc.errors[:8]
        )
        raise OverrideError(listed or f"{where}: {exc}") from None


def override_config(stored: Mapping[str, Any], partial: Mapping[str, Any]) -> dict[str, Any]:
    """The whole config to send: the stored conversation_config and platform_settings with the
    partial override merged in."""
    out: dict[str, Any] = {}
    for part in PARTS:
        base = stored.get(part)
        merged = deep_merge(base if isinstance(base, Mapping) else {}, partial.get(part) or {})
        out[part] = merged
    return out


def attached_test_ids(stored: Mapping[str, Any]) -> list[str]:
    """The ids of the tests attached to the agent (platform_settings.testing.attached_tests)."""
    platform = stored.get("platform_settings")
    testing = platform.get("testing") if isinstance(platform, Mapping) else None
    attached = testing.get("attached_tests") if isinstance(testing, Mapping) else None
    out: list[str] = []
    for item in attached if isinstance(attached, list) else []:
        test_id = item.get("test_id") if isinstance(item, Mapping) else None
        if isinstance(test_id, str) and test_id and test_id not in out:
            out.append(test_id)
    return out


async def fetch_agent(
    api: AgentsAPI, agent_id: str, branch_id: str | None = None
) -> dict[str, Any]:
    """The agent's stored document (raw dict)."""
    getter = getattr(api, "get_agent", None)
    if getter is not None:  # AgentsAPI.get_agent (branch agentview), once merged
        document = await getter(agent_id, branch_id=branch_id)
        return dict(document) if isinstance(document, Mapping) else {}
    from agents_mcp.api.client import validate_agent_id
    from agents_mcp.api.failures import Operation
    from agents_mcp.api.testing import validate_id

    op = Operation("get_agent", validate_agent_id(agent_id), idempotent=True)
    params = {"branch_id": validate_id(branch_id, "branch")} if branch_id else None
    body = await api._call(op, "GET", api._url(agent_id), params=params, limit=8 * 1024 * 1024)
    document = json.loads(body or b"{}")
    return document if isinstance(document, dict) else {}
