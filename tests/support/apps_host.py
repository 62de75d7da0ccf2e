"""A minimal MCP Apps host for the viewer tests: a page that embeds a view and plays the host.

The view runs in a sandboxed iframe (`allow-scripts` only: an opaque origin, as hosts do) under
a strict CSP (nothing may load from anywhere), answers `ui/initialize` with the host context the
test gives, sends `tool-input` and `tool-result` once the view says `initialized`, forwards the
view's `tools/call` to `window.mcpCallTool` (the test exposes the real MCP client there), and
sizes the iframe from `size-changed`. `window.hostLog` keeps every message the view sent.
"""

from __future__ import annotations

from typing import Any

VIEW_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"
)

HOST_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><style>
  html, body { margin: 0; background: Canvas; color-scheme: light dark; }
  iframe { border: 0; width: 100%; height: 200px; display: block; }
</style></head>
<body><iframe id="view" sandbox="allow-scripts"></iframe>
<script>
  window.hostLog = [];
  var view = document.getElementById("view");
  var setup = null;
  function send(message) { view.contentWindow.postMessage(message, "*"); }
  window.addEventListener("message", async function (ev) {
    if (ev.source !== view.contentWindow) return;
    var m = ev.data;
    window.hostLog.push(m);
    if (m.method === "ui/initialize") {
      send({jsonrpc: "2.0", id: m.id, result: {
        protocolVersion: "2026-01-26",
        hostInfo: {name: "test-host", version: "1"},
        hostCapabilities: setup.capabilities,
        hostContext: setup.context}});
    } else if (m.method === "ui/notifications/initialized") {
      send({jsonrpc: "2.0", method: "ui/notifications/tool-input",
            params: {arguments: setup.input}});
      send({jsonrpc: "2.0", method: "ui/notifications/tool-result", params: setup.result});
    } else if (m.method === "tools/call") {
      try {
        var r = await window.mcpCallTool(m.params.name, m.params.arguments);
        send({jsonrpc: "2.0", id: m.id, result: r});
      } catch (e) {
        send({jsonrpc: "2.0", id: m.id, error: {code: -32000, message: String(e)}});
      }
    } else if (m.method === "ui/notifications/size-changed") {
      view.style.height = m.params.height + "px";
    }
  });
  window.startView = function (s) { setup = s; view.srcdoc = s.html; };
</script></body></html>"""

# A host's own palette, given as MCP Apps theme variables (light-dark() like real hosts).
HOST_VARIABLES = {
    "--color-background-primary": "light-dark(#fdfcf9, #1f1e1d)",
    "--color-text-primary": "light-dark(#1f1e1d, #f5f4ef)",
    "--font-sans": "DejaVu Sans, sans-serif",
}


def with_csp(html: str) -> str:
    """The view's HTML with the CSP a host's sandbox applies."""
    meta = f'<meta http-equiv="Content-Security-Policy" content="{VIEW_CSP}">'
    return html.replace("<head>", "<head>" + meta, 1)


def setup(
    html: str,
    result: dict[str, Any],
    *,
    theme: str,
    arguments: dict[str, Any] | None = None,
    server_tools: bool = True,
) -> dict[str, Any]:
    """What `startView` takes: the view, the tool call, and the host's capabilities/context."""
    return {
        "html": with_csp(html),
        "input": arguments or {},
        "result": result,
        "capabilities": {"serverTools": {}} if server_tools else {},
        "context": {
            "theme": theme,
            "styles": {"variables": HOST_VARIABLES},
            "displayMode": "inline",
            "platform": "web",
        },
    }
