"""Where the tests find the repository and their data files, wherever a test module sits."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
DATA = TESTS / "data"  # API payloads, stream captures, test-run fixtures
SNAPSHOTS = TESTS / "__toolsnaps__"  # the server instructions as sent (tools: the catalogue)
