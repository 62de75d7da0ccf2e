"""`agents-mcp test SUITE`: run a suite file for CI and gate on pass rates.

Exit codes: 0 every test reached --min-pass-rate; 1 one did not, or the run did not finish
within --timeout (it is then cancelled upstream); 2 a bad suite file (nothing is sent), bad
arguments, bad settings or an API error. A progress line goes to stderr while the run goes; the
pass-rate table to stdout at the end. --junit / --json / --html write reports (--html: the
report of `agents-mcp report`, agents_mcp/report/stored.py). The run is kept in the data
directory (or the database of AGENTS_MCP_DATABASE_URL) like the server's runs, so a later
`--baseline-run RUN_ID` can compare with it and `agents-mcp report RUN_ID` can render it.
AGENTS_MCP_MAX_RUNS does not apply: the suite file is the user's decision.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
DEFAULT_TIMEOUT = 1800.0


def add_parser(sub: Any) -> None:
    """The `test` subcommand's arguments (sub: argparse's subparsers)."""
    test = sub.add_parser("test", help="run a test suite file (CI): exit 0 pass, 1 fail, 2 error")
    test.add_argument("suite", type=Path, help="suite file (.yaml, .yml or .json)")
    test.add_argument("--agent-id", help="the agent (default: the suite's agent_id)")
    test.add_argument("--repeat", type=int, help="runs per test (default: the suite's, else 1)")
    test.add_argument("--branch-id", help="run on this branch of the agent")
    test.add_argument("--baseline-run", metavar="RUN_ID", help="compare with this stored run")
    test.add_argument(
        "--min-pass-rate",
        type=float,
        default=1.0,
        help="pass rate every test must reach, 0 to 1 (default 1.0)",
    )
    test.add_argument("--junit", type=Path, metavar="PATH", help="write JUnit XML here")
    test.add_argument("--html", type=Path, metavar="PATH", help="write the HTML report here")
    test.add_argument("--json", type=Path, metavar="PATH", help="write the result JSON here")
    test.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds to wait")
    test.add_argument(
        "--sandbox", action="store_true", help="run on an embedded offline sandbox, not the API"
    )
    test.add_argument("--config", type=Path, help="TOML settings file (environment wins)")


def _fail(message: str) -> int:
    from agents_mcp.logs import redact

    print(f"agents-mcp test: {redact(message)}", file=sys.stderr)
    return EXIT_ERROR


def _check_arguments(args: argparse.Namespace) -> str | None:
    if args.repeat is not None and not 1 <= args.repeat <= 50:
        return "--repeat must be 1 to 50"
    if not 0.0 <= args.min_pass_rate <= 1.0:
        return "--min-pass-rate must be between 0 and 1"
    if args.timeout <= 0:
        return "--timeout must be positive"
    return None


class ProgressLine:
    """A one-line progress bar on stderr (rewritten in place on a terminal, else a line per
    change)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = ""

    async def __call__(self, done: int, total: int, message: str) -> None:
        width = 24
        filled = width * done // total if total else 0
        line = f"[{'#' * filled}{'.' * (width - filled)}] {message}"
        if line == self.last:
            return
        self.last = line
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.tty and self.last:
            self.stream.write("\n")
            self.stream.flush()


def table(payload: Any, min_pass_rate: float) -> str:
    """The pass-rate table printed at the end."""
    from agents_mcp.testing.junit import meets

    rows = [("", "test", "pass rate", "baseline", "notes")]
    for t in payload["tests"]:
        mark = "ok" if meets(t, min_pass_rate) else "FAIL"
        notes = [t["change"]] if t["change"] else []
        if t["flaky"]:
            notes.append("flaky")
        notes += [f"[{h['kind']}] {h['hint']}" for h in t["triage"][:1]]
        base = t["baseline"]["rate"] if t["baseline"] else "-"
        rows.append((mark, t["name"][:48], t["rate"], base, "; ".join(notes)[:70]))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows]
    runs = payload["runs"]
    lines.append(
        f"run {payload['run_id']}: {payload['status']}, {runs['passed']}/{runs['done']} runs "
        f"passed, {payload['credits_used']} credits"
    )
    return "\n".join(line.rstrip() for line in lines)


async def _run(args: argparse.Namespace, settings: Any, suite: Any, progress: ProgressLine) -> Any:
    from contextlib import AsyncExitStack

    from agents_mcp.api import AgentsAPI, create_http_client
    from agents_mcp.stores import make_store
    from agents_mcp.testing.runner import TestRunManager
    from agents_mcp.testing.store import StoredTestRuns

    async with AsyncExitStack() as stack:
        if args.sandbox:
            from pydantic import SecretStr

            from agents_mcp.sandbox import DEFAULT_API_KEY, SandboxServer

            key = settings.api_key.get_secret_value() if settings.api_key else DEFAULT_API_KEY
            sandbox = stack.enter_context(SandboxServer(api_key=key))
            update = {"base_url": sandbox.base_url, "api_key": SecretStr(key)}
            settings = settings.model_copy(update=update)
        http = create_http_client(settings)
        stack.push_async_callback(http.aclose)
        api = AgentsAPI.from_settings(settings, http=http)
        url = settings.database_url.get_secret_value() if settings.database_url else None
        store = await StoredTestRuns(make_store(settings.simulation_data_dir, url)).open()
        stack.push_async_callback(store.close)
        manager = await stack.enter_async_context(
            TestRunManager(api, store, poll_seconds=settings.poll_seconds, run_timeout=args.timeout)
        )
        plan = await manager.prepare(
            args.agent_id or suite.agent_id,
            suite.tests,
            repeat=args.repeat or suite.repeat,
            branch_id=args.branch_id,
            baseline_run_id=args.baseline_run,
        )
        record = await manager.launch(plan)
        record = await manager.wait(record.run_id, args.timeout + 5, progress)
        if not record.finished:
            record = await manager.stop(
                record.run_id,
                f"The run did not finish within {args.timeout:g} s; it was cancelled.",
            )
        return record


def run_test_command(args: argparse.Namespace) -> int:
    """The whole command; returns the exit code."""
    from agents_mcp.api.errors import APIError
    from agents_mcp.settings import SettingsError, load_settings
    from agents_mcp.stores import StoreError
    from agents_mcp.testing import views
    from agents_mcp.testing.agent_config import OverrideError
    from agents_mcp.testing.junit import junit_xml, meets
    from agents_mcp.testing.suite import SuiteError, load_suite

    problem = _check_arguments(args)
    if problem:
        return _fail(problem)
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        return _fail(str(exc))
    try:
        suite = load_suite(args.suite)
    except SuiteError as exc:
        return _fail(str(exc))
    if not (args.agent_id or suite.agent_id):
        return _fail(f"{args.suite}: agent_id: missing (in the suite file or --agent-id)")
    if settings.api_key is None and not args.sandbox:
        return _fail("ELEVENLABS_API_KEY is not set (or use --sandbox)")

    from agents_mcp.logs import setup_logging
    from agents_mcp.server import run_async

    secrets = [settings.api_key.get_secret_value()] if settings.api_key else []
    secrets.append(urlsplit(settings.api_base_url).password or "")  # a proxy's, in the URL
    setup_logging("WARNING", json=settings.log_json, secrets=secrets)
    progress = ProgressLine(sys.stderr)
    outcome: dict[str, Any] = {}

    async def main() -> None:
        outcome["record"] = await _run(args, settings, suite, progress)

    try:
        run_async(main)
    except (SuiteError, OverrideError) as exc:
        return _fail(str(exc))
    except StoreError as exc:
        return _fail(str(exc))
    except APIError as exc:
        from agents_mcp.errors_text import error_text

        return _fail(error_text(exc, agent_id=args.agent_id or suite.agent_id))
    finally:
        progress.end()
    record = outcome["record"]
    payload = views.payload(record)
    print(table(payload, args.min_pass_rate))
    if args.json is not None:
        args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    if args.junit is not None:
        args.junit.write_text(junit_xml(payload, args.min_pass_rate), encoding="utf-8")
    if args.html is not None:
        from agents_mcp.report.stored import test_run_report

        args.html.write_text(test_run_report(record), encoding="utf-8")
    if record.status != "done":
        print(f"agents-mcp test: the run {record.status}: {record.error or ''}", file=sys.stderr)
        return EXIT_FAILED
    passed = all(meets(t, args.min_pass_rate) for t in payload["tests"])
    return EXIT_OK if passed else EXIT_FAILED
