"""End-to-end tests: the real server as a process (stdio or the HTTP sidecar), replicas on a real
PostgreSQL, a real headless Chromium, the Node conformance suite and Inspector, the command line.

Every test under this folder carries the `e2e` marker (registered in pyproject.toml), so
`pytest -m "not e2e"` runs the fast unit tests alone.
"""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A conftest hook sees every collected item, not only this folder's: filter by path.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.e2e)
