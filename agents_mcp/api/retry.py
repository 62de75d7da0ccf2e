"""When to wait before trying again: Retry-After parsing and bounded exponential backoff.

What may be retried at all is decided in client.py (it knows which operations are idempotent);
this module only computes how long to wait.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date; None if absent
    or unreadable. Dates in the past give 0."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # reject nan/inf and negatives rather than waiting forever or not at all by accident
        return seconds if 0 <= seconds < float("inf") else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT; be lenient about a missing zone
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


@dataclass
class Backoff:
    """Exponential backoff with "equal jitter": attempt n waits between d/2 and d, where
    d = min(max_delay, base * 2**n). Jitter spreads out clients that failed together."""

    base: float = 0.5
    max_delay: float = 8.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.max_delay, self.base * (2.0 ** min(attempt, 30)))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)
