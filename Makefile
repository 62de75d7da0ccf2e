# Two jobs on a fresh machine with Python 3.11+: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test services bench soak bundle node-tools clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/agents-mcp demo

# What the end-to-end tests run for real: Chromium, PostgreSQL, Node 22 + the MCP tools.
# Each script is a no-op when its part is already there (Debian packages need root or sudo).
services:
	for script in scripts/ci_*.sh; do bash "$$script" || exit 1; done

test: $(BIN)/.installed services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check agents_mcp tests bench scripts
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

# Each benchmark prints its figures; the soak runs separately (minutes, not seconds).
bench: $(BIN)/.installed
	for b in bench/bench_*.py; do \
	  [ "$$b" = bench/bench_soak.py ] && continue; \
	  echo "== $$b"; $(BIN)/python $$b || exit 1; \
	done

soak: $(BIN)/.installed
	$(BIN)/python bench/bench_soak.py

# Node 22 and the npm tools (conformance suite, Inspector CLI, mcpb) in .cache/node.
node-tools:
	bash scripts/ci_node.sh

# The Claude Desktop bundle: dist/agents-mcp.mcpb (manifest tools from the tool definitions).
bundle: $(BIN)/.installed node-tools
	$(BIN)/python scripts/build_bundle.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist
