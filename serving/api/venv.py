"""Aegra's own virtualenv: Python 3.12, installed from a hashed lock, the project on top.

Aegra 0.7 and later need Python 3.12 (under 3.11 pip silently resolves Aegra 0.6), and
the project stays on 3.11. So the server runs from a virtualenv of its own in the user
cache, ``<cache>/aegra-venv`` (``AGENT_ROUTER_AEGRA_VENV`` puts it elsewhere, e.g. under
``/opt`` for a service), as vLLM's does: every checkout on the machine shares it.

* **Interpreter.** ``find_python`` takes the one given, else the first Python 3.12 among
  ``python3.12`` on ``PATH``, pyenv's versions and the usual system paths; each is asked
  for its version (a pyenv shim of a version that is not selected answers nothing).
* **Packages.** ``requirements-aegra.lock`` pins, with sha256 hashes, the app's own
  requirements at the versions of ``requirements.lock`` plus ``aegra-api`` and
  ``aegra-cli`` (``AEGRA_VERSION``); ``make lock`` compiles it under Python 3.12. The
  project itself is not installed there: each server process gets the checkout on
  ``PYTHONPATH`` (``serving.api.aegra.Deployment.environment``), so the code served is
  the checkout's as it is now.
* **Stamp.** A file in the venv records the lock's sha256 and the Python version;
  while both match, ``ensure_venv`` does nothing.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from backends.config import cache_dir
from backends.errors import EngineStartError
from serving.virtualenv import Runner, run_command, run_steps

__all__ = [
    "AEGRA_VERSION",
    "LOCK",
    "PYTHON_VERSION",
    "Runner",
    "ensure_venv",
    "find_python",
    "project_root",
    "python_version",
    "venv_dir",
    "venv_python",
    "venv_ready",
]

AEGRA_VERSION = "0.11.0"  # aegra-api and aegra-cli; requirements-aegra.in pins the same
PYTHON_VERSION = (3, 12)
LOCK = "requirements-aegra.lock"
STAMP = "agent-router-aegra.json"
VENV_ENV = "AGENT_ROUTER_AEGRA_VENV"
_SEARCHED = ("python3.12", "~/.pyenv/versions/3.12*/bin/python3.12",
             "/usr/local/bin/python3.12", "/usr/bin/python3.12")
_VERSION_TIMEOUT_S = 60.0



def project_root() -> Path:
    """Return the checkout this package runs from (it holds ``langgraph.json``)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "langgraph.json").is_file():
        raise EngineStartError(
            f"{root} is not a checkout of the project (no langgraph.json): run the Aegra "
            "server from a clone, where `pip install -e .` installed the project")
    return root


def venv_dir() -> Path:
    """Return the folder of Aegra's virtualenv: ``AGENT_ROUTER_AEGRA_VENV``, else the cache's."""
    configured = os.environ.get(VENV_ENV)
    return Path(configured) if configured else cache_dir() / "aegra-venv"


def venv_python(venv: Path) -> Path:
    """Return the Python interpreter of the virtualenv at ``venv``."""
    return venv / "bin" / "python"


def python_version(python: str | Path) -> tuple[int, int] | None:
    """Return the (major, minor) version ``python`` reports, or None if it does not run."""
    try:
        done = subprocess.run(
            [str(python), "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True, text=True, timeout=_VERSION_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = done.stdout.split()
    if done.returncode != 0 or len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def _candidates(searched: Iterable[str]) -> list[str]:
    found: list[str] = []
    for pattern in searched:
        if "/" not in pattern:
            on_path = shutil.which(pattern)
            found += [on_path] if on_path else []
        else:
            found += sorted(glob.glob(str(Path(pattern).expanduser())), reverse=True)
    return found


def find_python(given: str | None = None, searched: Iterable[str] = _SEARCHED) -> Path:
    """Return a Python 3.12 interpreter: ``given``, else the first one found.

    Raises:
        EngineStartError: ``given`` is not Python 3.12, or none was found; the message
            names the fix.
    """
    wanted = ".".join(map(str, PYTHON_VERSION))
    if given:
        version = python_version(given)
        if version != PYTHON_VERSION:
            raise EngineStartError(
                f"{given} is Python {'.'.join(map(str, version)) if version else '?'}, and the "
                f"Aegra server needs Python {wanted} (its lock is compiled for it)")
        return Path(given)
    for candidate in _candidates(searched):
        if python_version(candidate) == PYTHON_VERSION:
            return Path(candidate)
    raise EngineStartError(
        f"no Python {wanted} found (looked for {', '.join(searched)}); the Aegra server "
        f"needs it: install it (`pyenv install {wanted}`, or your distribution's "
        f"python{wanted}) or name one with --python")


def _lock_sha256(lock: Path) -> str:
    try:
        return hashlib.sha256(lock.read_bytes()).hexdigest()
    except OSError as exc:
        raise EngineStartError(f"cannot read {lock} ({exc.strerror}); it comes with the "
                               "checkout: `git checkout -- requirements-aegra.lock`") from exc


def _wanted_stamp(lock: Path) -> dict[str, Any]:
    return {"lock_sha256": _lock_sha256(lock), "python": list(PYTHON_VERSION)}


def venv_ready(venv: Path, lock: Path) -> bool:
    """Tell whether ``venv`` was installed from ``lock`` as it is now (its stamp matches)."""
    try:
        stamp = json.loads((venv / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(stamp == _wanted_stamp(lock) and venv_python(venv).exists())


def ensure_venv(root: Path, python: Path, run: Runner = run_command,
                say: Callable[[str], None] = print) -> Path:
    """Install Aegra and the project's dependencies into Aegra's virtualenv unless done.

    Args:
        root: the checkout, holding ``requirements-aegra.lock``.
        python: a Python 3.12 interpreter (``find_python``) that creates the venv.
        run: runs a command line (tests replace it).
        say: prints progress.

    Returns:
        The virtualenv's Python interpreter.
    """
    venv, lock = venv_dir(), root / LOCK
    if venv_ready(venv, lock):
        return venv_python(venv)
    (venv / STAMP).unlink(missing_ok=True)
    say(f"installing aegra-api {AEGRA_VERSION} and the project's dependencies into {venv} "
        f"from {LOCK} "
        "(about 550 MB; a minute or two)...")
    pip = [str(venv_python(venv)), "-m", "pip", "install", "--quiet",
           "--disable-pip-version-check"]
    steps = [[str(python), "-m", "venv", "--clear", str(venv)],
             [*pip, "--require-hashes", "-r", str(lock)]]
    run_steps('Aegra', venv, steps, run)
    (venv / STAMP).write_text(json.dumps(_wanted_stamp(lock), indent=2) + "\n", encoding="utf-8")
    return venv_python(venv)
