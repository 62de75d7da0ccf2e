"""`python -m agents_mcp` is the `agents-mcp` command."""

from agents_mcp.cli import main

if __name__ == "__main__":
    main()
