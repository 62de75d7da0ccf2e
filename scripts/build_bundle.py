"""Build dist/agents-mcp.mcpb, the Claude Desktop bundle (`make bundle`).

Stages what `uv run --directory <bundle> agents-mcp serve` needs (pyproject.toml, README.md,
LICENSE, the agents_mcp package, the demo agents) with a manifest made from config/manifest.json
whose `tools` are the server's own tool definitions (names and the descriptions tools/list
sends, in order), validates it with `mcpb validate`, packs it with `mcpb pack` and checks the
size. mcpb comes from scripts/ci_node.sh (.cache/node) unless MCPB names another binary.

    python scripts/build_bundle.py [--output PATH]    # dist/agents-mcp.mcpb

config/manifest.json keeps its own `tools` list for readers (tests/unit/test_config_files.py checks
its names against the definitions); the bundle always ships the generated one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "config" / "manifest.json"
STAGE = ROOT / "build" / "mcpb"
OUTPUT = ROOT / "dist" / "agents-mcp.mcpb"
MAX_BYTES = 5 * 1024 * 1024
FILES = ("pyproject.toml", "README.md", "LICENSE")
TREES = ("agents_mcp", "config/agents")  # config/agents: the wheel's demo agents (pyproject)
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".DS_Store")
sys.path.insert(0, str(ROOT))  # this checkout's agents_mcp, whatever the venv has installed


def tool_entries() -> list[dict[str, str]]:
    """Every tool the server can offer, as tools/list names and describes it."""
    from agents_mcp.tools.registry import all_tools

    return [{"name": t.name, "description": t.wire_description()} for t in all_tools()]


def bundle_manifest() -> dict[str, Any]:
    from agents_mcp import __version__

    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    manifest["version"] = __version__
    manifest["tools"] = tool_entries()
    manifest["prompts_generated"] = True  # the server's prompts take arguments: listed at run time
    return manifest


def mcpb_command() -> list[str]:
    named = os.environ.get("MCPB")
    if named:
        return [named]
    cached = ROOT / ".cache" / "node" / "node_modules" / ".bin" / "mcpb"
    if cached.is_file():
        return [str(cached)]
    found = shutil.which("mcpb")
    if found:
        return [found]
    sys.exit("build_bundle: mcpb not found; run `bash scripts/ci_node.sh` first")


def stage(manifest: dict[str, Any]) -> Path:
    if STAGE.exists():
        shutil.rmtree(STAGE)
    STAGE.mkdir(parents=True)
    for name in FILES:
        shutil.copy2(ROOT / name, STAGE / name)
    for tree in TREES:
        shutil.copytree(ROOT / tree, STAGE / tree, ignore=IGNORED)
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (STAGE / "manifest.json").write_text(text, encoding="utf-8")
    return STAGE


def node_env() -> dict[str, str]:
    """mcpb runs on the cached Node 22 when there is one (its shebang finds `node` on PATH)."""
    env = dict(os.environ)
    bin_dir = ROOT / ".cache" / "node" / "node_modules" / ".bin"
    if bin_dir.is_dir():
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def run(*args: str) -> None:
    proc = subprocess.run([*mcpb_command(), *args], capture_output=True, text=True, env=node_env())
    if proc.returncode != 0:
        sys.exit(f"build_bundle: mcpb {args[0]} failed:\n{proc.stdout}{proc.stderr}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)

    manifest = bundle_manifest()
    staged = stage(manifest)
    run("validate", str(staged / "manifest.json"))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.unlink(missing_ok=True)
    run("pack", str(staged), str(args.output))
    size = args.output.stat().st_size
    if size > MAX_BYTES:
        sys.exit(f"build_bundle: {args.output} is {size} bytes, over the {MAX_BYTES} limit")
    print(
        f"{args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}: "
        f"{size} bytes, {len(manifest['tools'])} tools"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
