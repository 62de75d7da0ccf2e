"""The files users copy: every JSON/TOML under config/ parses, the example TOML loads through
load_settings and documents every setting, and the client snippets point at the real command."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest

from agents_mcp import __version__
from agents_mcp.settings import ENV_VARS, Settings, load_settings
from agents_mcp.tools.registry import tool_names
from tests.support.paths import REPO

ROOT = REPO
CONFIG = ROOT / "config"
JSON_FILES = sorted(p for p in CONFIG.glob("*.json"))
EXAMPLE = CONFIG / "agents-mcp.example.toml"


def test_there_are_snippets_for_each_client():
    names = {p.name for p in JSON_FILES}
    assert {
        "claude_desktop_config.json",
        "cursor-mcp.json",
        "cursor-mcp-http.json",
        "vscode-mcp.json",
        "vscode-mcp-http.json",
        "manifest.json",
    } <= names
    assert (CONFIG / "claude-code.md").exists()


@pytest.mark.parametrize("path", JSON_FILES, ids=lambda p: p.name)
def test_json_files_parse(path: Path):
    assert isinstance(json.loads(path.read_text(encoding="utf-8")), dict)


def test_every_toml_file_parses():
    tomls = sorted(CONFIG.glob("*.toml"))
    assert EXAMPLE in tomls
    for path in tomls:
        tomllib.loads(path.read_text(encoding="utf-8"))


def test_example_toml_loads_through_load_settings_and_keeps_defaults():
    settings = load_settings(EXAMPLE, env={})
    assert settings == Settings()  # the example shows the defaults, it changes nothing


def test_example_toml_documents_every_setting_with_its_variable():
    text = EXAMPLE.read_text(encoding="utf-8")
    keys = set(re.findall(r"^#? ?([a-z_]+) = ", text, re.M))
    assert keys == set(Settings.model_fields)
    for field, var in ENV_VARS.items():
        assert var in text, f"{field}: {var} is not mentioned"


def test_example_toml_secrets_stay_commented_out():
    parsed = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert not {"api_key", "auth_token", "request_state_keys"} & parsed.keys()


def _servers(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    return data.get("mcpServers") or data["servers"]


@pytest.mark.parametrize(
    "name", ["claude_desktop_config.json", "cursor-mcp.json", "vscode-mcp.json"]
)
def test_stdio_snippets_run_the_serve_command(name: str):
    for server in _servers(CONFIG / name).values():
        assert server["command"] == "agents-mcp"
        assert server["args"][0] == "serve"
        assert set(server["args"][1:]) <= {"--sandbox"}
        if "--sandbox" not in server["args"]:
            assert "ELEVENLABS_API_KEY" in server["env"]


@pytest.mark.parametrize("name", ["cursor-mcp-http.json", "vscode-mcp-http.json"])
def test_http_snippets_send_the_bearer_token_to_mcp(name: str):
    for server in _servers(CONFIG / name).values():
        assert server["url"].endswith("/mcp")
        assert server["headers"]["Authorization"].startswith("Bearer ${")


def test_vscode_inputs_are_passwords():
    for name in ("vscode-mcp.json", "vscode-mcp-http.json"):
        data = json.loads((CONFIG / name).read_text(encoding="utf-8"))
        ids = {i["id"] for i in data["inputs"] if i["password"] is True}
        text = json.dumps(data["servers"])
        assert ids and all(f"${{input:{i}}}" in text for i in ids)


def test_claude_code_commands_parse_and_use_real_flags():
    text = (CONFIG / "claude-code.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    assert len(blocks) >= 3
    commands = [shlex.split(b.replace("\\\n", " ")) for b in blocks]
    for argv in commands:
        assert argv[:3] == ["claude", "mcp", "add"]
    stdio = [a for a in commands if "--" in a]
    http = [a for a in commands if "--transport" in a]
    assert stdio and http
    for argv in stdio:
        assert argv[argv.index("--") + 1 :][:2] == ["agents-mcp", "serve"]
    for argv in http:
        assert argv[argv.index("--transport") + 1] == "http"
        assert any(a.endswith("/mcp") for a in argv)
        assert any(a.startswith("Authorization: Bearer ") for a in argv)


# --- MCPB manifest (checked against the rules of the MCPB 0.4 manifest schema) -------------------


def test_mcpb_manifest():
    manifest = json.loads((CONFIG / "manifest.json").read_text(encoding="utf-8"))
    allowed_top = {
        "$schema", "manifest_version", "name", "display_name", "version", "description",
        "long_description", "author", "repository", "homepage", "documentation", "support",
        "icon", "icons", "screenshots", "localization", "server", "tools", "tools_generated",
        "prompts", "prompts_generated", "keywords", "license", "privacy_policies",
        "compatibility", "user_config", "_meta",
    }  # fmt: skip
    assert set(manifest) <= allowed_top
    assert {"name", "version", "description", "author", "server"} <= set(manifest)
    assert manifest["manifest_version"] == "0.4"  # the `uv` server type needs 0.4
    assert manifest["version"] == __version__
    assert set(manifest["author"]) <= {"name", "email", "url"} and manifest["author"]["name"]

    server = manifest["server"]
    assert server["type"] in ("python", "uv")
    assert set(server) <= {"type", "entry_point", "mcp_config"}
    assert (ROOT / server["entry_point"]).is_file()
    config = server["mcp_config"]
    assert set(config) <= {"command", "args", "env", "platform_overrides"}
    assert "agents-mcp" in config["args"] and "serve" in config["args"]
    env = config["env"]
    assert all(isinstance(v, str) for v in env.values())
    assert set(env) <= set(ENV_VARS.values())

    user_config = manifest["user_config"]
    for key, option in user_config.items():
        assert {"type", "title", "description"} <= set(option), key
        assert option["type"] in ("string", "number", "boolean", "directory", "file")
        assert set(option) <= {
            "type", "title", "description", "required", "default", "multiple", "sensitive",
            "min", "max",
        }  # fmt: skip
        assert f"${{user_config.{key}}}" in json.dumps(config), f"{key} is never used"
    api_key = user_config["api_key"]
    assert api_key["type"] == "string" and api_key["sensitive"] is True
    assert env["ELEVENLABS_API_KEY"] == "${user_config.api_key}"

    # the bundle lists every tool, in the order of the definitions
    assert [t["name"] for t in manifest["tools"]] == list(tool_names())
    assert set(manifest["compatibility"]["platforms"]) <= {"darwin", "win32", "linux"}
