"""The Claude Desktop bundle: scripts/build_bundle.py (`make bundle`) packs it with mcpb; it is
unpacked with mcpb, its manifest validates, and the server is started from the unpacked files
(the real MCP client over stdio) with the environment the manifest's user config produces: it
lists exactly the tools the manifest names.

Claude Desktop runs the manifest's `uv run --directory <bundle> agents-mcp serve`; uv would
install the dependencies from PyPI, so here the bundle's own code runs on this venv's
dependencies instead (PYTHONPATH = the unpacked bundle, checked below).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters, stdio_client

from agents_mcp.tools.registry import mutating_tools, tool_names
from tests.support.mcp_fixture import text_of
from tests.support.node_tools import node_env, node_tool
from tests.support.paths import REPO

pytestmark = pytest.mark.anyio

MAX_BYTES = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory) -> Path:
    mcpb = node_tool("mcpb")
    out = tmp_path_factory.mktemp("bundle")
    bundle = out / "agents-mcp.mcpb"
    build = subprocess.run(
        [sys.executable, "scripts/build_bundle.py", "--output", str(bundle)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=node_env(),
    )
    assert build.returncode == 0, build.stdout + build.stderr
    assert 10_000 < bundle.stat().st_size <= MAX_BYTES
    target = out / "unpacked"
    unpack = subprocess.run(
        [str(mcpb), "unpack", str(bundle), str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        env=node_env(),
    )
    assert unpack.returncode == 0, unpack.stdout + unpack.stderr
    return target


def manifest_of(unpacked: Path) -> dict:
    return json.loads((unpacked / "manifest.json").read_text(encoding="utf-8"))


def server_env(manifest: dict, sandbox, data_dir: Path, **user: str) -> dict[str, str]:
    """The manifest's env with ${user_config.X} filled in as Claude Desktop would."""
    values = {
        "api_key": sandbox.api_key,
        "residency": "global",
        "read_only": "false",
        "data_dir": str(data_dir),
        **user,
    }
    env = {}
    for name, template in manifest["server"]["mcp_config"]["env"].items():
        env[name] = re.sub(r"\$\{user_config\.(\w+)\}", lambda m: values[m.group(1)], template)
    env["ELEVENLABS_BASE_URL"] = sandbox.base_url  # the sandbox instead of the real API
    return env


def params(unpacked: Path, env: dict[str, str]) -> StdioServerParameters:
    full = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "PYTHONPATH": str(unpacked),
        "PYTHONDONTWRITEBYTECODE": "1",
        **env,
    }
    return StdioServerParameters(
        command=sys.executable, args=["-m", "agents_mcp", "serve"], env=full, cwd=unpacked
    )


def test_bundle_contents_and_manifest(unpacked):
    validate = subprocess.run(
        [str(node_tool("mcpb")), "validate", str(unpacked / "manifest.json")],
        capture_output=True,
        text=True,
        timeout=60,
        env=node_env(),
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    manifest = manifest_of(unpacked)
    assert [t["name"] for t in manifest["tools"]] == list(tool_names())
    assert set(manifest["user_config"]) >= {"api_key", "residency", "read_only"}
    assert manifest["user_config"]["api_key"]["sensitive"] is True
    config = manifest["server"]["mcp_config"]
    assert config["command"] == "uv" and "${__dirname}" in config["args"]
    for needed in ("pyproject.toml", "LICENSE", "agents_mcp/__main__.py", "config/agents"):
        assert (unpacked / needed).exists(), needed
    assert not list(unpacked.rglob("__pycache__"))
    # the code that runs is the bundle's, not the repository's
    where = subprocess.run(
        [sys.executable, "-c", "import agents_mcp; print(agents_mcp.__file__)"],
        cwd=unpacked,
        env={**os.environ, "PYTHONPATH": str(unpacked)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert Path(where.stdout.strip()).is_relative_to(unpacked), where.stdout + where.stderr


async def test_server_from_the_bundle_lists_the_manifest_tools(unpacked, sandbox, tmp_path):
    manifest = manifest_of(unpacked)
    env = server_env(manifest, sandbox, tmp_path)
    with (tmp_path / "stderr.log").open("w") as errlog:
        async with Client(stdio_client(params(unpacked, env), errlog=errlog)) as client:
            tools = (await client.list_tools()).tools
            described = {t["name"]: t["description"] for t in manifest["tools"]}
            assert {t.name: t.description for t in tools} == described
            link = await client.call_tool("get_agent_link", {"agent_id": "agent_demo_faq"})
            assert not link.is_error, text_of(link)
    assert sandbox.api_key not in (tmp_path / "stderr.log").read_text()


async def test_read_only_user_config_hides_the_mutating_tools(unpacked, sandbox, tmp_path):
    env = server_env(manifest_of(unpacked), sandbox, tmp_path, read_only="true")
    with (tmp_path / "stderr.log").open("w") as errlog:
        async with Client(stdio_client(params(unpacked, env), errlog=errlog)) as client:
            names = {t.name for t in (await client.list_tools()).tools}
    assert names == set(tool_names()) - mutating_tools()
