"""Reports: the MCP App viewer shown beside simulation and test results, and the same page as a
standalone HTML file (`agents-mcp report ID --html PATH`).

`VIEWER_META` is the `_meta` a tool carries to be shown in the viewer; `viewer_extension()` is the
MCP Apps extension that serves the viewer resource and advertises the capability.
"""

from agents_mcp.report.app import VIEWER_META, VIEWER_URI, viewer_extension
from agents_mcp.report.render import render_report, viewer_html

__all__ = ["VIEWER_META", "VIEWER_URI", "render_report", "viewer_extension", "viewer_html"]
