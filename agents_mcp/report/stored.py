"""`agents-mcp report ID --html PATH`: the HTML report of a stored simulation (or test run).

Reads the local store (AGENTS_MCP_DATA_DIR), renders the summary a tool would return plus every
turn of the transcript, and writes one self-contained HTML file. Test runs join once the suites
store exists: a run id is recognised and refused with a clear message until then.
"""

from __future__ import annotations

from pathlib import Path

import anyio

from agents_mcp.jsontypes import JSONObject
from agents_mcp.report.render import render_report
from agents_mcp.simulations.record import SimulationRecord, is_simulation_id
from agents_mcp.simulations.store import FILENAME, SimulationStore
from agents_mcp.simulations.summary import parse_analysis, summarize, transcript_pages


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


def _load_simulation(simulation_id: str, data_dir: Path) -> SimulationRecord:
    if not (data_dir / FILENAME).exists():
        raise ReportError(f"No stored simulations in {data_dir} (set AGENTS_MCP_DATA_DIR).")

    async def read() -> SimulationRecord | None:
        store = await SimulationStore(data_dir).open()
        try:
            return await store.get(simulation_id)
        finally:
            await store.close()

    record = anyio.run(read)
    if record is None:
        raise ReportError(f"Unknown simulation id {simulation_id!r} in {data_dir}.")
    return record


def write_report(report_id: str, path: Path, *, data_dir: Path) -> Path:
    """Write the report of `report_id` (sim_…) to `path`; returns the path written."""
    if is_simulation_id(report_id):
        html = simulation_report(_load_simulation(report_id, data_dir))
    elif report_id.startswith("run_"):
        raise ReportError(
            f"{report_id!r} is a test run: reports of stored test runs are not available yet."
        )
    else:
        raise ReportError(
            f"{report_id[:40]!r} is not a simulation id (sim_0123456789abcdef) or a test run id."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"Cannot write {path}: {exc.strerror or exc}") from None
    return path
