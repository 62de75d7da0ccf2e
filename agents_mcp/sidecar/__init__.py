"""The HTTP sidecar: streamable HTTP MCP at /mcp wrapped in small pure-ASGI layers.

Public entry points live in `agents_mcp.http_app` (`build_http_app`, `run_http`). Layers, outermost
first: request log (request id) -> drain gate (SIGTERM) -> probes (/healthz, /readyz, no auth) ->
bearer auth -> the MCP SDK app (Host/Origin checks, body-size limit, sessions).
"""
