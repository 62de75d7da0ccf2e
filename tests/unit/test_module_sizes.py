"""Small modules with one job: no agents_mcp module over MAX_LINES lines, generated code aside."""

from __future__ import annotations

from tests.support.paths import REPO

MAX_LINES = 600
PACKAGE = REPO / "agents_mcp"
# Written by datamodel-code-generator (scripts/), not by hand: their size follows the API's.
GENERATED = {"api/request_models.py", "api/agent_config_models.py"}


def line_counts() -> dict[str, int]:
    return {
        path.relative_to(PACKAGE).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def test_no_hand_written_module_passes_the_limit() -> None:
    counts = line_counts()
    too_long = {name: n for name, n in counts.items() if n > MAX_LINES and name not in GENERATED}
    assert not too_long, (
        f"modules over {MAX_LINES} lines (split a coherent part out into its own module): "
        + ", ".join(f"agents_mcp/{name} ({n})" for name, n in sorted(too_long.items()))
    )


def test_the_generated_exceptions_still_exist() -> None:
    """A renamed generated module must not leave a stale exception that would excuse another."""
    assert set(line_counts()) >= GENERATED
