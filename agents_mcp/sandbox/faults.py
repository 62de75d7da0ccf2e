"""Fault injection for tests: armed through `/_sandbox/faults` or one request's `x-sandbox-fault`.

Nothing here can be triggered on the real API; every fault is off until a test asks for it.
See docs/sandbox.md for what each fault does on the wire.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any

from agents_mcp.jsontypes import JSONObject


class FaultName(StrEnum):
    """Every fault the sandbox knows (a StrEnum: each member equals its wire name)."""

    HTTP_500 = "http_500"
    HTTP_502 = "http_502"
    HTTP_503 = "http_503"
    HTTP_422 = "http_422"
    RATE_LIMIT = "rate_limit"
    DROP_CONNECTION = "drop_connection"
    DROP_MID_STREAM = "drop_mid_stream"
    MALFORMED_FRAME = "malformed_frame"
    NO_ANALYSIS = "no_analysis"
    STALL = "stall"
    HUGE_RESPONSE = "huge_response"


class Effect(Enum):
    """Where a fault acts."""

    STATUS = "answers with an error instead of the route"
    DROP = "closes the connection (after the route ran, with after_processing)"
    STALL = "waits before the route, or mid-body with after_frames"
    CUT = "sends after_frames body chunks, then half of the next, then drops"
    CONTENT = "the route alters what it sends (missing analysis, padding, broken JSON)"


@dataclass(frozen=True)
class FaultKind:
    effect: Effect
    params: dict[str, type | tuple[type, ...]]


# The one table of faults: what each does and the parameters it accepts (with their types).
FAULTS: dict[FaultName, FaultKind] = {
    FaultName.HTTP_500: FaultKind(Effect.STATUS, {}),
    FaultName.HTTP_502: FaultKind(Effect.STATUS, {}),
    FaultName.HTTP_503: FaultKind(Effect.STATUS, {}),
    # FastAPI's list form, naming `field` (default "name")
    FaultName.HTTP_422: FaultKind(Effect.STATUS, {"field": str}),
    FaultName.RATE_LIMIT: FaultKind(Effect.STATUS, {"retry_after": (int, float, str), "code": str}),
    FaultName.DROP_CONNECTION: FaultKind(Effect.DROP, {"after_processing": bool}),
    FaultName.DROP_MID_STREAM: FaultKind(Effect.CUT, {"after_frames": int}),
    FaultName.MALFORMED_FRAME: FaultKind(Effect.CONTENT, {"after_frames": int}),
    FaultName.NO_ANALYSIS: FaultKind(Effect.CONTENT, {}),
    FaultName.STALL: FaultKind(Effect.STALL, {"seconds": (int, float), "after_frames": int}),
    FaultName.HUGE_RESPONSE: FaultKind(Effect.CONTENT, {"bytes": int}),
}
HEADER = "x-sandbox-fault"
MAX_STALL = 3600.0
MAX_HUGE = 256 * 1024 * 1024
RATE_LIMIT_CODES = (
    "too_many_concurrent_requests",
    "rate_limit_exceeded",
    "system_busy",
    "concurrent_limit_exceeded",
)


class FaultError(ValueError):
    """A fault specification is invalid; the message says why."""


@dataclass
class Fault:
    name: FaultName
    params: JSONObject = field(default_factory=dict)
    method: str | None = None
    path_suffix: str | None = None
    path_contains: str | None = None
    times: int | None = 1  # None: until cleared
    skip: int = 0  # let this many matching requests through first

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path_suffix and not path.endswith(self.path_suffix):
            return False
        return not (self.path_contains and self.path_contains not in path)

    @property
    def effect(self) -> Effect:
        return FAULTS[self.name].effect

    def public(self) -> JSONObject:
        match = {
            k: v
            for k, v in (
                ("method", self.method),
                ("path_suffix", self.path_suffix),
                ("path_contains", self.path_contains),
            )
            if v
        }
        return {
            "fault": str(self.name),
            "match": match,
            "times": self.times,
            "skip": self.skip,
            **self.params,
        }

    def param(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)


def parse_spec(spec: Any) -> Fault:
    """A fault from the JSON body of `POST /_sandbox/faults`."""
    if not isinstance(spec, dict):
        raise FaultError('the body must be a JSON object like {"fault": "http_500"}')
    spec = dict(spec)
    name = spec.pop("fault", None)
    match = spec.pop("match", None) or {}
    times = spec.pop("times", 1)
    skip = spec.pop("skip", 0)
    if not isinstance(match, dict) or set(match) - {"method", "path_suffix", "path_contains"}:
        raise FaultError("match may only have method, path_suffix and path_contains")
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        raise FaultError("times must be a positive integer, or null for 'until cleared'")
    if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
        raise FaultError("skip must be a non-negative integer")
    checked = _check_name(name)
    fault = Fault(
        name=checked,
        params=_check_params(checked, spec),
        method=_opt_str(match, "method"),
        path_suffix=_opt_str(match, "path_suffix"),
        path_contains=_opt_str(match, "path_contains"),
        times=times,
        skip=skip,
    )
    return fault


def parse_header(value: str) -> Fault:
    """A one-shot fault from `x-sandbox-fault: name; key=value; key=value`."""
    parts = [p.strip() for p in value.replace(",", ";").split(";") if p.strip()]
    if not parts:
        raise FaultError(f"{HEADER} is empty")
    name, params = parts[0], {}
    for part in parts[1:]:
        key, sep, raw = part.partition("=")
        if not sep:
            raise FaultError(f"{HEADER}: expected key=value, got {part!r}")
        params[key.strip()] = _scalar(raw.strip())
    checked = _check_name(name)
    return Fault(name=checked, params=_check_params(checked, params))


def _check_name(name: Any) -> FaultName:
    if not isinstance(name, str) or name not in FaultName.__members__.values():
        raise FaultError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
    return FaultName(name)


def _check_params(name: FaultName, params: JSONObject) -> JSONObject:
    allowed = FAULTS[name].params
    for key, value in params.items():
        if key not in allowed:
            extra = f"; it takes {', '.join(allowed)}" if allowed else "; it takes none"
            raise FaultError(f"fault {name!r} has no parameter {key!r}{extra}")
        kind = allowed[key]
        types = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in types:
            raise FaultError(f"{key} must be {' or '.join(t.__name__ for t in types)}")
        if not isinstance(value, types):
            raise FaultError(f"{key} must be {' or '.join(t.__name__ for t in types)}")
    if params.get("after_frames", 0) < 0:
        raise FaultError("after_frames must be >= 0")
    seconds = params.get("seconds", 1.0)
    if not 0 <= seconds <= MAX_STALL:
        raise FaultError(f"seconds must be between 0 and {MAX_STALL:g}")
    size = params.get("bytes", 1)
    if not 1 <= size <= MAX_HUGE:
        raise FaultError(f"bytes must be between 1 and {MAX_HUGE}")
    if params.get("code", RATE_LIMIT_CODES[0]) not in RATE_LIMIT_CODES:
        raise FaultError(f"code must be one of {', '.join(RATE_LIMIT_CODES)}")
    return dict(params)


def _opt_str(match: JSONObject, key: str) -> str | None:
    value = match.get(key)
    if value is not None and not isinstance(value, str):
        raise FaultError(f"match.{key} must be a string")
    return value or None


def _scalar(raw: str) -> Any:
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw


class FaultBook:
    """The armed faults, first armed first served."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def arm(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def armed(self) -> list[JSONObject]:
        with self._lock:
            return [f.public() for f in self._faults]

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if one is armed for it (counts it as used)."""
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, path):
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None
