"""agents-mcp: an MCP server for ElevenLabs voice agents."""

__version__ = "0.1.0"
