"""Which code a measurement ran: the commit that benchmark and eval results record."""

from __future__ import annotations

import subprocess

__all__ = ["commit"]


def commit() -> str:
    """Return the checked-out commit's short hash, ``-dirty`` if tracked files differ
    from it (the run measured code no commit holds), or ``unknown`` outside git."""
    done = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=7",
                           "--exclude", "*"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"
