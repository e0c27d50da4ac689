# Two commands matter: `make run` (answer a question on the embedded engine) and
# `make test` (the whole suite, offline). Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
Q ?= What is 17 * 23?

.PHONY: run test dev lint bench model postgres clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

model: $(VENV)/.installed
	$(BIN)/agent-router models pull

run: model
	$(BIN)/agent-router ask "$(Q)"

# The Postgres checkpointer test runs a real PostgreSQL (Debian's package). Installed
# here when missing and we are root; otherwise that test skips and says why.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] \
	    && command -v apt-get >/dev/null; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends postgresql >/dev/null; } \
	  || echo "PostgreSQL could not be installed: its test will skip and say why"; fi

test: $(VENV)/.installed-dev model postgres
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(VENV)/.installed-dev model
	$(BIN)/agent-router bench $(if $(BACKENDS),--backends $(BACKENDS)) $(if $(QUICK),--quick)

dev: $(VENV)/.installed-dev model
	$(BIN)/agent-router dev

clean:
	rm -rf $(VENV) .langgraph_api .pytest_cache .mypy_cache .ruff_cache
