# catalog-ops: `make test` and `make demo` do all set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export GOTOOLCHAIN ?= auto
export GOFLAGS ?= -buildvcs=false

.PHONY: help venv tools test lint typecheck workflows-lint demo clean

help:
	@echo "make test   - venv + pinned tools + full test suite (ruff, mypy, actionlint, zizmor, shellcheck, pytest)"
	@echo "make demo   - run the main job (release -> rollout) on the bundled example with the local forge"
	@echo "make tools  - install/reuse pinned tools in ~/.cache/catalog-ops/tools"
	@echo "make venv   - the virtualenv (.venv, with the dev tools) and the test-only npm packages"

# .venv/.base: the package and its runtime dependencies (all `make demo` needs);
# .venv/.installed: plus the dev tools (pytest, ruff, mypy, zizmor, shellcheck) for `make test`.
$(VENV)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade "pip>=24,<26"
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed: $(VENV)/.base
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

# GitHub's OpenAPI description (@octokit/openapi) and GraphQL schema (@octokit/graphql-schema),
# pinned in tests/openapi/package-lock.json, for the emulator's conformance checks (tests only).
OPENAPI_STAMP := tests/openapi/node_modules/.package-lock.json
$(OPENAPI_STAMP): tests/openapi/package.json tests/openapi/package-lock.json
	npm ci --prefix tests/openapi --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

venv: $(VENV)/.installed $(OPENAPI_STAMP)

tools: venv
	$(BIN)/python scripts/install_tools.py

lint: venv
	$(BIN)/ruff check scripts tests benchmarks
	$(BIN)/ruff format --check scripts tests benchmarks

typecheck: venv
	$(BIN)/mypy

test: venv tools lint typecheck
	$(BIN)/python -m pytest -q

# The demo runs only terraform (from PATH; without one, the pinned OpenTofu is built, and says why).
demo: $(VENV)/.base
	$(BIN)/python scripts/install_tools.py terraform
	$(BIN)/python examples/demo.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/openapi/node_modules
