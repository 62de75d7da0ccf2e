"""The MCP tools. A tool is one `ToolDefinition` value: its name, handler, title, annotations,
whether it changes agents, its sentence in the server instructions and its row in the README.

Each tool module defines its handlers and a `TOOLS` tuple of definitions; `registry.py` gathers
every module's `TOOLS` into the one list the server, read-only mode, `AGENTS_MCP_TOOLS`, the
instructions and the README table are derived from. Importing the package imports nothing (the
catalogue is read before the MCP SDK is imported: agents_mcp/handshake.py); the definitions
are in `definition.py`, the tool modules are only imported by the registry.
"""
