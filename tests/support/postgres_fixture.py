"""A real PostgreSQL for the tests: initdb into a temp dir, served on 127.0.0.1 (free port), its
unix socket in the temp dir, stopped and removed at the end.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the
`postgres` user (or `nobody`) through setuid in the child. Missing binaries fail the fixture with
a message saying how to install them (scripts/ci_install.sh): never a skip.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found in /usr/lib/postgresql/*/bin or "
    "on PATH. Install them: `bash scripts/ci_install.sh` (apt-get install -y postgresql)."
)


def find_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _demote() -> tuple[Callable[[], None] | None, int | None]:
    """(preexec_fn, uid) that run the child as an unprivileged user when we are root."""
    if os.geteuid() != 0:
        return None, None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue

        def demote(uid: int = entry.pw_uid, gid: int = entry.pw_gid) -> None:
            os.setgid(gid)
            os.setuid(uid)

        return demote, entry.pw_uid
    raise RuntimeError("running as root and neither a `postgres` nor a `nobody` user exists")


class PostgresServer:
    """One PostgreSQL cluster; `url(db)` is a libpq URL on 127.0.0.1."""

    def __init__(self, bindir: Path | None = None) -> None:
        bindir = bindir or find_bindir()
        if bindir is None:
            raise RuntimeError(INSTALL_HINT)
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="agents-mcp-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._demote, uid = _demote()
        if uid is not None:
            os.chown(self.root, uid, -1)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--no-instructions")  # fmt: skip

    def _run(self, tool: str, *args: str, timeout: float = 60) -> str:
        done = subprocess.run(
            [str(self.bindir / tool), *args],
            preexec_fn=self._demote,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}")
        return done.stdout

    def start(self) -> PostgresServer:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        log = str(self.root / "server.log")
        data = str(self.data)
        self._run("pg_ctl", "start", "-w", "-t", "30", "-D", data, "-o", options, "-l", log)
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "stop", "-w", "-t", "30", "-D", str(self.data), "-m", mode)

    def cleanup(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A fresh database (one per test); returns its URL."""
        name = "t_" + secrets.token_hex(6)
        deadline = time.monotonic() + 10
        while True:
            try:
                with psycopg.connect(self.url(), autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
                return self.url(name)
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
