"""Command line: parse arguments, load settings, hand over. No logic lives here.

Heavy modules (mcp, httpx2, the sandbox) are imported inside the subcommand that needs them, so
`agents-mcp --help` and the stdio start-up stay fast. `serve` and `test` tune the process first
(agents_mcp/runtime.py: short GIL turns, big buffers returned to the system).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agents_mcp import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agents-mcp",
        description="MCP server for ElevenLabs voice agents (delete, duplicate, share, simulate).",
    )
    parser.add_argument("--version", action="version", version=f"agents-mcp {__version__}")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="run the MCP server (stdio by default)")
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    serve.add_argument(
        "--sandbox", action="store_true", help="talk to an embedded offline sandbox, not the API"
    )
    serve.add_argument("--config", type=Path, help="TOML settings file (environment wins)")
    serve.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    sandbox = sub.add_parser("sandbox", help="run the offline emulator of the Agents API")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8787)
    sandbox.add_argument("--data", type=Path, help="keep agents in SQLite here (default: memory)")
    sandbox.add_argument(
        "--turn-delay", type=float, default=0.0, help="seconds between streamed turns (default 0)"
    )
    sandbox.add_argument(
        "--max-concurrent",
        type=int,
        default=10,
        help="simulations at once before it answers 429, like the real API (default 10)",
    )
    sandbox.add_argument(
        "--run-delay",
        type=float,
        default=1.5,
        help="seconds an agent-test run stays pending before it finishes (default 1.5)",
    )
    sandbox.add_argument(
        "--legacy-simulate",
        choices=["on", "off"],
        default="on",
        help="'off': the simulate-conversation endpoints answer 404, as after their removal",
    )

    from agents_mcp.testing.command import add_parser as add_test_parser

    add_test_parser(sub)

    demo = sub.add_parser("demo", help="run the whole product end to end, offline")
    demo.add_argument("--turn-delay", type=float, default=0.15, help="sandbox pacing per turn")
    report = sub.add_parser(
        "report", help="write the HTML report of a stored simulation or test run"
    )
    report.add_argument("id", help="simulation id (sim_...) or test run id (run_...)")
    report.add_argument("--html", type=Path, required=True, help="where to write the report")
    report.add_argument("--config", type=Path, help="TOML settings file (environment wins)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    command = args.command or "serve"
    if command == "serve" and args.command is None:
        args = _parser().parse_args(["serve", *(argv or [])])

    if command == "sandbox":
        from agents_mcp.sandbox import run_sandbox

        run_sandbox(
            host=args.host,
            port=args.port,
            data_dir=args.data,
            turn_delay=args.turn_delay,
            max_concurrent=args.max_concurrent,
            run_delay=args.run_delay,
            legacy_simulate=args.legacy_simulate == "on",
        )
        return
    if command in ("serve", "test"):
        from agents_mcp.runtime import tune_process

        tune_process()  # short GIL turns, big buffers returned to the system
    if command == "test":
        from agents_mcp.testing.command import run_test_command

        sys.exit(run_test_command(args))
    if command == "demo":
        from agents_mcp.demo import run_demo

        sys.exit(run_demo(turn_delay=args.turn_delay))

    from agents_mcp.settings import SettingsError, load_settings

    try:
        settings = load_settings(args.config, log_level=getattr(args, "log_level", None))
    except SettingsError as exc:
        print(f"agents-mcp: {exc}", file=sys.stderr)
        sys.exit(2)
    if command == "report":
        from agents_mcp.report.stored import ReportError, write_report

        try:
            url = settings.database_url.get_secret_value() if settings.database_url else None
            path = write_report(
                args.id, args.html, data_dir=settings.simulation_data_dir, database_url=url
            )
        except ReportError as exc:
            print(f"agents-mcp: {exc}", file=sys.stderr)
            sys.exit(2)
        print(f"report written to {path}")
        return
    if args.transport == "http":
        from agents_mcp.http_app import run_http

        sys.exit(run_http(settings, host=args.host, port=args.port, sandbox=args.sandbox))
    from agents_mcp.handshake import answer_early

    early = answer_early(settings)  # before the SDK's import: a client sees the tools at once
    from agents_mcp.server import run_stdio

    sys.exit(run_stdio(settings, sandbox=args.sandbox, early=early))
