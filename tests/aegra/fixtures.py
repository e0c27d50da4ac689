"""The session's Aegra stack, for the Aegra tier and the server tests parametrized over it.

A plugin module (``tests/conftest.py`` names it in ``pytest_plugins``), so that both
``tests/aegra/`` and ``tests/engine/`` can use the session fixture ``aegra_stack``.

It skips, saying why, when ``AGENT_ROUTER_SKIP_AEGRA`` is set (``make test SKIP_AEGRA=1``),
when Debian's ``postgresql`` or ``redis-server`` is missing (``make test`` installs both
as root) or when no Python 3.12 is found; it fails, naming the fix, when Aegra's
virtualenv is not ready (``make test`` prepares it through ``make aegra-env``).
"""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.errors import EngineStartError
from serving.api.venv import (
    LOCK,
    find_python,
    project_root,
    venv_dir,
    venv_python,
    venv_ready,
)
from tests.aegra.stack import AegraStack, make_stack, remove_stack

SKIP_ENV = "AGENT_ROUTER_SKIP_AEGRA"


def skip_reason() -> str | None:
    """Return why the Aegra tests cannot run here, or None."""
    if os.environ.get(SKIP_ENV):
        return f"{SKIP_ENV} is set (make test SKIP_AEGRA=1)"
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return "PostgreSQL is not installed (`make postgres` installs it as root)"
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (`make redis` installs it as root)"
    try:
        find_python()
    except EngineStartError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def aegra_python() -> Path:
    """Return the Python of Aegra's virtualenv; skip or fail (saying why) without one."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    root = project_root()
    if not venv_ready(venv_dir(), root / LOCK):
        pytest.fail(f"Aegra's virtualenv {venv_dir()} is missing or older than {LOCK}: "
                    "run `make aegra-env` (make test does), or skip the Aegra tests with "
                    "make test SKIP_AEGRA=1", pytrace=False)
    return venv_python(venv_dir())


@pytest.fixture(scope="session")
def aegra_stack(aegra_python: Path) -> Iterator[AegraStack]:
    stack = make_stack(aegra_python)
    try:
        try:
            stack.start()
        except EngineStartError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield stack
    finally:
        stack.stop()
        remove_stack(stack)
