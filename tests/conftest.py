"""Fixtures shared by every test: a clean environment, the model, the engine's config.

The tests of mechanics run on the fast catalogue model (``FAST_MODEL``) unless
``AGENT_ROUTER_MODEL`` says otherwise; tests/engine/test_default_model.py runs
end-to-end questions on the default model. Child processes inherit the choice.

Child processes: every test starts its processes through ``tests/procs.py``. SIGTERM and
SIGHUP to pytest unwind like Ctrl-C, so finalizers stop the children. When the session
ends, any process still alive that descends from pytest or belongs to a group started
through ``tests/procs.py`` is killed, named, and fails the run.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from backends.config import load_config
from backends.errors import ModelFileError
from backends.model_file import resolve_model_path
from backends.settings import BackendConfig
from tests import procs

FAST_MODEL = "smollm2-135m"
os.environ.setdefault("AGENT_ROUTER_MODEL", FAST_MODEL)

# The session's Aegra stack (PostgreSQL + Redis), shared by tests/aegra and tests/engine.
pytest_plugins = ("tests.aegra.fixtures",)


def pytest_configure(config: pytest.Config) -> None:
    procs.install_signal_handlers()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Generator[None]:
    # Outermost wrapper: runs after session fixtures are torn down and the summary printed.
    result = yield
    left = procs.leftovers()
    procs.stop_all(grace=0)
    procs.kill_leftovers(left)
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = [f"{len(left)} process(es) left running by the tests (now killed):",
                 *(f"  {leftover}" for leftover in left),
                 "Start every test process through tests/procs.py (started/spawn/run)."]
        if reporter is not None:
            reporter.write_sep("=", "processes left behind", red=True, bold=True)
            for line in lines:
                reporter.write_line(line, red=True)
        else:
            print("\n".join(lines))
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    return result


@pytest.fixture(autouse=True)
def restore_environ() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def model_path() -> Path:
    try:
        return resolve_model_path()
    except ModelFileError as exc:
        pytest.fail(f"{exc}. `make test` pulls it first.", pytrace=False)


@pytest.fixture(scope="session")
def embedded_cfg(model_path: Path) -> BackendConfig:
    return load_config().backend("embedded", key="tests")
