"""Fixtures of the reliability tests (fault matrix, canary secrets, leaks, fuzzing).

`sandbox` here replaces the session sandbox of tests/conftest.py: each module gets its own
recording sandbox (canary API key, every request it saw kept), so what one module arms or
records never reaches another.
"""

from collections.abc import Iterator

import pytest

from tests.support.reliability import RecordingSandbox, recording_sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RecordingSandbox]:
    """A recording sandbox for the module (real HTTP on 127.0.0.1)."""
    with recording_sandbox() as sb:
        yield sb
