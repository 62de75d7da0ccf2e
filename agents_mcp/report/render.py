"""One renderer, two wrappers: the MCP App viewer and the standalone HTML report.

The page is assembled once from three package files (viewer.html, viewer.css, viewer.js): plain
HTML, CSS and JS, no build step, nothing loaded from outside (hosts apply a CSP). The viewer is
the page with an empty data block; it follows the MCP Apps handshake and renders the tool result
the host hands it. A report is the same page with the data embedded as JSON in
<script type="application/json" id="report-data">, so it opens in any browser, offline.

Rules: the embedded JSON cannot close its <script> element (<, >, & and the JS line separators
are escaped); the page stays under MAX_BYTES.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib.resources import files
from typing import Any

from agents_mcp.jsontypes import JSONObject

MAX_BYTES = 150_000  # the viewer's size budget (the report adds the data)
_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _asset(name: str) -> str:
    return files("agents_mcp.report").joinpath(name).read_text(encoding="utf-8")


def _page(title: str, data: str) -> str:
    shell = _asset("viewer.html")
    # Each placeholder is replaced once, in order, so that no value is searched again.
    head, rest = shell.split("__TITLE__", 1)
    out = head + _html_text(title)
    for mark, value in (
        ("__STYLE__", _asset("viewer.css")),
        ("__DATA__", data),
        ("__SCRIPT__", _asset("viewer.js")),
    ):
        before, rest = rest.split(mark, 1)
        out += before + value
    return out + rest


def _html_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no "</script>", "<!--" or line separators survive."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


@cache
def viewer_html() -> str:
    """The MCP App: the page with no data; it waits for the host's tool result."""
    return _page("agents-mcp viewer", "")


def render_report(
    payload: Mapping[str, Any],
    transcript: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
    *,
    text: str | None = None,
) -> str:
    """A standalone HTML report of one tool result's structured content.

    `payload`: a simulation summary (simulate_conversation / get_simulation) or a test run
    (run_tests / get_test_results, see agents_mcp/testing/payload.py).
    `transcript`: for a simulation, its turns (condensed or the API's own shape); for a test run,
    {test name: {run number: [turns]}} to show the passing and failing runs side by side from
    the turn where they part. `text`: the result's text, shown when the payload is neither.
    """
    result: JSONObject = {"structuredContent": dict(payload)}
    if text is not None:
        result["content"] = [{"type": "text", "text": text}]
    data: JSONObject = {"result": result}
    if transcript is not None:
        data["transcript"] = (
            dict(transcript) if isinstance(transcript, Mapping) else list(transcript)
        )
    return _page(_title(payload), script_json(data))


def _title(payload: Mapping[str, Any]) -> str:
    if "run_id" in payload:
        return f"Test run {payload['run_id']} · agents-mcp"
    if "simulation_id" in payload:
        return f"Simulation {payload['simulation_id']} · agents-mcp"
    return "agents-mcp report"
