"""What the servers' own virtualenvs (vLLM's, Aegra's) share: running their set-up steps.

Each server installs into a virtualenv of its own in the user cache, from its own
package list, and stamps it when done (``serving.vllm.setup``, ``serving.api.venv``).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from backends.errors import EngineStartError

__all__ = ["Runner", "run_command", "run_steps"]

# Runs a command line (``subprocess.run`` with ``check=True``); replaced in unit tests.
Runner = Callable[[Sequence[str]], Any]


def run_command(command: Sequence[str]) -> Any:
    """Run ``command``, raising ``CalledProcessError`` when it fails."""
    return subprocess.run(list(command), check=True)


def run_steps(server: str, venv: Path, steps: Sequence[Sequence[str]], run: Runner) -> None:
    """Run the set-up ``steps`` of ``server``'s virtualenv ``venv`` in order.

    Raises:
        EngineStartError: a step failed; the message names the step and how to start afresh.
    """
    for step in steps:
        try:
            run(step)
        except (subprocess.CalledProcessError, OSError) as exc:
            raise EngineStartError(
                f"setting up {server}'s virtualenv failed at `{' '.join(step[:6])} ...` "
                f"({exc}); see the output above, then retry (or delete {venv} to start "
                "afresh)") from exc
