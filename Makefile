# Two commands matter: `make run` (answer a question on the embedded engine) and
# `make test` (the whole suite, offline). Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
Q ?= What is 17 * 23?

.PHONY: run test dev lint bench model clean

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

test: $(VENV)/.installed-dev model
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

dev: $(VENV)/.installed-dev model
	$(BIN)/agent-router dev

clean:
	rm -rf $(VENV) .langgraph_api .pytest_cache .mypy_cache .ruff_cache
