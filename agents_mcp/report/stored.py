"""`agents-mcp report ID --html PATH`: the HTML report of a stored simulation or test run.

Reads the store the server writes (the SQLite file in AGENTS_MCP_DATA_DIR, or the database of
AGENTS_MCP_DATABASE_URL), renders what a tool would return plus every turn, and writes one
self-contained HTML file. A simulation: its summary and transcript timeline. A test run: the
whole payload (every test, rate, failing condition, baseline delta) and every run's turns, so
the report shows a flaky test's passing and failing runs side by side from the turn where they
part (`test_run_report`, also used by `agents-mcp test --html`). Nothing is changed: a run still
going is reported as it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio

from agents_mcp.jsontypes import JSONObject
from agents_mcp.report.render import render_report
from agents_mcp.simulations.record import SimulationRecord, is_simulation_id
from agents_mcp.simulations.store import FILENAME, SimulationStore
from agents_mcp.simulations.summary import parse_analysis, summarize
from agents_mcp.simulations.views import transcript_pages
from agents_mcp.stores import Store, StoreError, make_store
from agents_mcp.testing import analysis, views
from agents_mcp.testing.record import TestRunRecord, is_run_id
from agents_mcp.testing.store import StoredTestRuns

T = TypeVar("T")


class ReportError(ValueError):
    """The report cannot be written; the message says why and what to do."""


def simulation_report(record: SimulationRecord) -> str:
    """The report of one simulation: its summary, and all its turns as a timeline.

    A report is read by a person, not a model: the summary's clipped texts (the transcript
    summary, each criterion's rationale) are given in full.
    """
    view = summarize(record)
    payload: JSONObject = dict(view.structured)
    analysis = parse_analysis(record.analysis)
    if analysis is not None:
        if analysis.transcript_summary:
            payload["summary"] = analysis.transcript_summary
        results = analysis.evaluation_criteria_results
        rationale = {(r.criteria_id or key): r.rationale for key, r in results.items()}
        if "criteria" in payload:
            payload["criteria"] = [
                {**c, "why": rationale[c["id"]]} if rationale.get(c["id"]) else c
                for c in payload["criteria"]
            ]
    turns = [turn for page in transcript_pages(record) for turn in page]
    return render_report(payload, turns, text=view.text)


def test_run_transcripts(record: TestRunRecord) -> dict[str, dict[str, list[Any]]]:
    """{test name: {run number: [turns as the API sent them]}} for every test that ran."""
    out: dict[str, dict[str, list[Any]]] = {}
    for test in record.tests:
        runs = analysis.runs_by_test(record.invocation, test.test_id)
        if runs:
            out[test.name] = {
                str(number): list(analysis.turns_of(run)) for number, run in enumerate(runs, 1)
            }
    return out


def test_run_report(record: TestRunRecord) -> str:
    """The report of one test run: the unclipped payload and every run's transcript."""
    return render_report(views.payload(record), test_run_transcripts(record))


def _read(
    data_dir: Path, database_url: str | None, read: Callable[[Store], Awaitable[T | None]]
) -> T | None:
    if not database_url and not (data_dir / FILENAME).exists():
        raise ReportError(
            f"No stored simulations or test runs in {data_dir} (set AGENTS_MCP_DATA_DIR, or "
            "AGENTS_MCP_DATABASE_URL when the server keeps them in a database)."
        )

    async def main() -> T | None:
        store = make_store(data_dir, database_url)
        await store.open()
        try:
            return await read(store)
        finally:
            await store.close()

    try:
        return anyio.run(main)
    except StoreError as exc:
        raise ReportError(str(exc)) from None


def _load_simulation(
    simulation_id: str, data_dir: Path, database_url: str | None = None
) -> SimulationRecord:
    async def read(store: Store) -> SimulationRecord | None:
        return await SimulationStore(store).get(simulation_id)

    record = _read(data_dir, database_url, read)
    if record is None:
        raise ReportError(f"Unknown simulation id {simulation_id!r} in {data_dir}.")
    return record


def _load_run(run_id: str, data_dir: Path, database_url: str | None = None) -> TestRunRecord:
    async def read(store: Store) -> TestRunRecord | None:
        return await StoredTestRuns(store).get(run_id)

    record = _read(data_dir, database_url, read)
    if record is None:
        where = "the database" if database_url else str(data_dir)
        raise ReportError(f"Unknown test run id {run_id!r} in {where}.")
    return record


def write_report(
    report_id: str, path: Path, *, data_dir: Path, database_url: str | None = None
) -> Path:
    """Write the report of `report_id` (sim_… or run_…) to `path`; returns the path written."""
    if is_simulation_id(report_id):
        html = simulation_report(_load_simulation(report_id, data_dir, database_url))
    elif is_run_id(report_id):
        html = test_run_report(_load_run(report_id, data_dir, database_url))
    else:
        raise ReportError(
            f"{report_id[:40]!r} is not a simulation id (sim_0123456789abcdef) or a test run id "
            "(run_0123456789abcdef)."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"Cannot write {path}: {exc.strerror or exc}") from None
    return path
