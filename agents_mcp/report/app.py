"""The viewer as an MCP App (`io.modelcontextprotocol/ui`): its resource and the tool `_meta`.

A tool that names VIEWER_URI in `_meta.ui.resourceUri` is shown in the viewer by hosts that
render MCP Apps (Claude, VS Code, ChatGPT, Goose, Cursor); others show the tool result's text,
which stays complete on its own. The viewer calls get_simulation through the host to load a
transcript, so the tools it needs are the server's ordinary ones: none is added for it.
"""

from __future__ import annotations

from mcp.server.apps import Apps

from agents_mcp.jsontypes import JSONObject
from agents_mcp.report.render import viewer_html

VIEWER_URI = "ui://agents-mcp/viewer.html"
VIEWER_META: JSONObject = {"ui": {"resourceUri": VIEWER_URI}}
# The tools whose results the viewer renders (run_tests / get_test_results join when they exist).
VIEWER_TOOLS: frozenset[str] = frozenset(
    {"simulate_conversation", "get_simulation", "run_tests", "get_test_results"}
)


def viewer_extension() -> Apps:
    """The MCP Apps extension serving the viewer: pass it to `MCPServer(extensions=[...])`."""
    apps = Apps()
    apps.add_html_resource(
        VIEWER_URI,
        viewer_html(),
        name="viewer",
        title="agents-mcp viewer",
        description="Simulations and test runs: criteria, transcripts, pass rates, flaky tests",
        prefers_border=True,
    )
    return apps
