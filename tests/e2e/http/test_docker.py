"""The Dockerfile, tested without Docker (it cannot run here): its instructions are parsed, the
exact ENTRYPOINT + CMD it runs is started locally (on loopback, with a token and --sandbox), and
its HEALTHCHECK command is run against that server."""

from __future__ import annotations

import fnmatch
import json
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import anyio
import httpx2
from mcp.types import CallToolResult

from tests.support.http_sidecar import TOKEN, Sidecar, clean_env, mcp_client
from tests.support.paths import REPO

ROOT = REPO
DOCKERFILE = ROOT / "Dockerfile"
BIN = Path(sys.executable).parent


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def exec_form(word: str) -> list[str]:
    (args,) = [rest for w, rest in final_stage() if w == word]
    value = json.loads(args)  # exec form: no shell in between, signals reach the server
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in final_stage():
        if word == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def healthcheck_command() -> list[str]:
    (rest,) = [rest for w, rest in final_stage() if w == "HEALTHCHECK"]
    _, _, command = rest.partition("CMD ")
    return json.loads(command)


# --- static checks -----------------------------------------------------------------------------


def test_image_is_small_non_root_http_by_default():
    steps = final_stage()
    assert steps[0] == ("FROM", "python:3.12-slim")
    users = [rest for w, rest in steps if w == "USER"]
    assert users and users[-1] not in ("root", "0")
    runs = " ".join(rest for w, rest in steps if w == "RUN")
    assert "--no-cache-dir" in runs
    assert ("EXPOSE", "8000") in steps
    command = exec_form("ENTRYPOINT") + exec_form("CMD")
    assert command[:2] == ["agents-mcp", "serve"]
    assert command[command.index("--transport") + 1] == "http"
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert command[command.index("--port") + 1] == "8000"
    # secrets come from the environment at run time, never from the image
    env = image_env()
    assert not {"ELEVENLABS_API_KEY", "AGENTS_MCP_AUTH_TOKEN"} & env.keys()
    assert "ARG" not in {w for w, _ in instructions()}
    assert healthcheck_command()[0] == "python"  # no curl in slim images


def test_build_context_has_everything_the_wheel_needs():
    """What `pip wheel .` in the build stage reads must be COPYed and not .dockerignored."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    needed = {"pyproject.toml", pyproject["project"]["readme"]}
    needed |= set(pyproject["project"].get("license-files", []))
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed |= set(wheel.get("packages", []))
    needed |= set(wheel.get("force-include", {}))
    copied: list[str] = []
    for word, rest in instructions():
        if word == "COPY" and not rest.startswith("--from"):
            copied += shlex.split(rest)[:-1]
    ignore = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def included(path: str) -> bool:
        keep = True
        for pattern in ignore:
            negate = pattern.startswith("!")
            bare = pattern.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, bare) or path.startswith(bare + "/"):
                keep = negate
        return keep

    for path in needed:
        assert (ROOT / path).exists(), path
        assert any(path == c.rstrip("/") or path.startswith(c.rstrip("/") + "/") for c in copied)
        assert included(path), f"{path} is excluded by .dockerignore"


# --- the command the image runs ----------------------------------------------------------------


def local_command(port: str = "0") -> list[str]:
    """ENTRYPOINT + CMD, with the installed console script, on loopback, with --sandbox."""
    argv = exec_form("ENTRYPOINT") + exec_form("CMD")
    argv[0] = str(BIN / argv[0])
    argv[argv.index("--host") + 1] = "127.0.0.1"  # tests only ever listen on loopback
    argv[argv.index("--port") + 1] = port
    return [*argv, "--sandbox"]


def local_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = clean_env(**image_env())
    env["AGENTS_MCP_DATA_DIR"] = str(tmp_path)  # the image's /data volume
    env.update(extra)
    return env


def run_healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    command = healthcheck_command()
    command[0] = sys.executable
    command = [c.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for c in command]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


async def _share_link(url: str) -> CallToolResult:
    async with mcp_client(url) as client:
        return await client.call_tool("get_agent_link", {"agent_id": "agent_demo_support"})


def test_the_image_command_serves_and_its_healthcheck_passes(tmp_path):
    assert (BIN / "agents-mcp").exists(), "the console script is installed with the package"
    env = local_env(tmp_path, AGENTS_MCP_AUTH_TOKEN=TOKEN)
    with Sidecar(local_command(), env) as server:
        health = httpx2.get(f"{server.base}/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        check = run_healthcheck(server.port)
        assert check.returncode == 0, check.stderr
        link = anyio.run(_share_link, server.url)
        assert not link.is_error, link.content
        lines = [json.loads(line) for line in server.lines if line.startswith("{")]
        assert lines and all("message" in entry for entry in lines)  # AGENTS_MCP_LOG_JSON=1
        code, elapsed = server.stop()
    assert code == 0 and elapsed < 10
    down = run_healthcheck(server.port)
    assert down.returncode != 0  # and it fails once the server is gone


def test_the_image_command_refuses_to_start_without_a_token(tmp_path):
    argv = exec_form("ENTRYPOINT") + exec_form("CMD")  # exactly as in the image: 0.0.0.0:8000
    argv[0] = str(BIN / argv[0])
    done = subprocess.run(argv, env=local_env(tmp_path), capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "AGENTS_MCP_AUTH_TOKEN" in done.stderr and "0.0.0.0" in done.stderr
