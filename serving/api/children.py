"""Servers run as children: each leads a process group of its own, which is what stops.

PostgreSQL, Redis and every Aegra instance that ``serve api`` (and the tests) start are
a ``Child``: started in a new session (``start_new_session=True``), so the child and
whatever it forks form one group; stopped by its own stop signal to the whole group
(PostgreSQL's fast shutdown is SIGINT, the others' SIGTERM), then SIGKILL after a
grace period. ``kill`` is SIGKILL at once, the crash the scale-out tests simulate.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serving.vllm.process_group import group_members

__all__ = ["Child", "log_tail"]

_POLL_S = 0.05
_KILL_WAIT_S = 10.0


def log_tail(log: Path, lines: int = 40) -> str:
    """Return the last ``lines`` lines of ``log`` (empty if it is unreadable)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Child:
    """One server process and its group; ``log`` gets its stdout and stderr."""

    name: str
    command: Sequence[str]
    log: Path
    stop_signal: int = signal.SIGTERM
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    popen: Mapping[str, Any] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> subprocess.Popen[bytes]:
        """Start the command in a new session, appending its output to ``log``."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                list(self.command), stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, env=dict(self.env) if self.env is not None else None,
                cwd=self.cwd, start_new_session=True, **self.popen)
        return self.process

    def alive(self) -> bool:
        """Tell whether the leader is still running."""
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        """Return the leader's pid (also its group's id), or None before ``start``."""
        return self.process.pid if self.process is not None else None

    def _group_gone(self, deadline: float) -> bool:
        assert self.process is not None
        while True:
            self.process.poll()  # reap the leader: a zombie does not count
            if self.process.returncode is not None and not group_members(self.process.pid):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_S)

    def _signal(self, sig: int) -> None:
        assert self.process is not None
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    def stop(self, grace_s: float) -> int | None:
        """Stop the whole group: its stop signal, ``grace_s`` seconds, then SIGKILL.

        Safe to call again and after the process has exited. Returns the exit status.
        """
        if self.process is None:
            return None
        if not self._group_gone(time.monotonic()):
            self._signal(self.stop_signal)
            if not self._group_gone(time.monotonic() + grace_s):
                self._signal(signal.SIGKILL)
                self._group_gone(time.monotonic() + _KILL_WAIT_S)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=_KILL_WAIT_S)
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL the whole group at once, as a crash would end it, and reap it."""
        if self.process is None:
            return
        self._signal(signal.SIGKILL)
        self._group_gone(time.monotonic() + _KILL_WAIT_S)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=_KILL_WAIT_S)

    def failure(self, what: str) -> str:
        """Describe why the child is not serving: ``what`` and the end of its log."""
        status = ("" if self.process is None or self.process.returncode is None
                  else f" (it exited with {self.process.returncode})")
        return f"{self.name} {what}{status}; the end of {self.log}:\n{log_tail(self.log)}"
