"""Child processes for tests: each in its own process group, registered, always stopped.

Every process a test starts goes through this module: ``started`` (a server for the
length of a ``with`` block), ``spawn`` + ``stop`` (when a fixture needs the two apart)
or ``run`` (a command that finishes, like ``subprocess.run``); ``track`` registers a
child that product code started in a session of its own. Each child leads a new
session (``start_new_session=True``), so it and whatever it forks form one process
group, which ``stop`` ends as a whole: the child's stop signal (SIGTERM unless given)
to the group, a grace period, then SIGKILL to the group.

The paths a test run can end on, and what stops the children on each:

- pass, fail, timeout: ``started`` stops in its ``finally``; ``run`` stops on a timeout
  or any exception, and after a normal exit ends what the command left in its group;
- Ctrl-C: ``KeyboardInterrupt`` unwinds through the same ``finally`` blocks;
- SIGTERM or SIGHUP to pytest: ``install_signal_handlers`` turns the first into
  ``KeyboardInterrupt``, so fixtures finalize as on Ctrl-C; a second one kills every
  group at once and lets the signal end the process;
- any other normal end of the interpreter: an ``atexit`` hook stops every group.

Only SIGKILL of pytest itself escapes all of these. A child must therefore run its
server in the foreground: one that daemonizes (``setsid`` again, like ``pg_ctl start``)
leaves the group and cannot be tracked.

``leftovers`` lists the live processes that descend from this one or belong to a group
started here; tests/conftest.py fails the session when any remain.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = [
    "KILL_WAIT_S",
    "STOP_GRACE_S",
    "Leftover",
    "install_signal_handlers",
    "kill_leftovers",
    "leftovers",
    "run",
    "spawn",
    "started",
    "stop",
    "stop_all",
    "track",
]

STOP_GRACE_S = 20.0  # generous: a loaded 2-core machine is slow to shut a server down
KILL_WAIT_S = 10.0
_POLL_S = 0.05

# Reentrant: the signal handlers run in the main thread, maybe while it holds the lock.
_lock = threading.RLock()
_running: dict[int, tuple[subprocess.Popen[Any], int]] = {}  # pid -> (process, stop signal)
# Groups started here and not yet seen empty: what outlives its leader is found by them.
# A group seen empty is dropped, since its id may then go to someone else's process.
_groups: set[int] = set()


class _Signals:
    """A signal that arrives while the main thread spawns waits until the child is known."""

    spawning = False
    deferred: int | None = None


@dataclass(frozen=True)
class Leftover:
    """A live process that should not be: what the session-end check reports."""

    pid: int
    ppid: int
    pgid: int
    sid: int
    command: str

    def __str__(self) -> str:
        return f"pid {self.pid} (ppid {self.ppid}, group {self.pgid}): {self.command}"


@dataclass(frozen=True)
class _Stat:
    pid: int
    state: str
    ppid: int
    pgid: int
    sid: int


def _stat(pid: int) -> _Stat | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone meanwhile
        return None
    # The command name in parentheses may hold spaces and ')'; the fields follow the last ')'.
    fields = raw.rpartition(")")[2].split()
    return _Stat(pid, fields[0], int(fields[1]), int(fields[2]), int(fields[3]))


def _live_processes() -> list[_Stat]:
    found = (_stat(int(entry)) for entry in os.listdir("/proc") if entry.isdigit())
    return [s for s in found if s is not None and s.state not in ("Z", "X")]


def _command(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part) or "?"


def _group_alive(pgid: int) -> bool:
    return any(s.pgid == pgid for s in _live_processes())


def _signal_group(pgid: int, sig: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _reap(process: subprocess.Popen[Any], timeout: float) -> None:
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=max(timeout, 0.0))


def _wait_group(process: subprocess.Popen[Any], deadline: float) -> bool:
    """Wait until the leader has exited and its group is empty; tell whether it did."""
    while True:
        if process.poll() is not None and not _group_alive(process.pid):
            with _lock:
                _groups.discard(process.pid)
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if process.returncode is None:
            _reap(process, min(_POLL_S, remaining))
        else:
            time.sleep(min(_POLL_S, remaining))


def spawn(args: Sequence[str], *, stop_signal: int = signal.SIGTERM,
          **popen_kwargs: Any) -> subprocess.Popen[Any]:
    """Start ``args`` as the leader of a new session and register it until ``stop``.

    ``stop_signal`` is what asks the child to shut down (PostgreSQL's fast shutdown is
    SIGINT, for instance). Other keyword arguments go to ``subprocess.Popen``.
    """
    if popen_kwargs.pop("start_new_session", True) is not True or "process_group" in popen_kwargs:
        raise ValueError("procs.spawn always starts the child in a new session of its own")
    main = threading.current_thread() is threading.main_thread()
    try:
        with _lock:
            _Signals.spawning = main
            process = subprocess.Popen(list(args), start_new_session=True, **popen_kwargs)
            _running[process.pid] = (process, stop_signal)
            _groups.add(process.pid)
    finally:
        if main:
            _Signals.spawning = False
            if (signum := _Signals.deferred) is not None:
                _Signals.deferred = None
                _interrupt(signum)  # the child is registered: stop_all will end it
    return process


def track(process: subprocess.Popen[Any], *,
          stop_signal: int = signal.SIGTERM) -> subprocess.Popen[Any]:
    """Register a child that other code started in a session of its own; return it.

    For servers whose own code starts them (``serving.vllm.server.VLLMServer``):
    once tracked, ``stop``, ``stop_all``, the signal handlers and ``leftovers`` treat it
    as if ``spawn`` had started it, its group included. Call again after a restart.
    """
    if os.getsid(process.pid) != process.pid:
        raise ValueError(f"pid {process.pid} does not lead a session of its own "
                         "(start it with start_new_session=True)")
    with _lock:
        _running[process.pid] = (process, stop_signal)
        _groups.add(process.pid)
    return process


def _end_group(process: subprocess.Popen[Any], grace: float) -> None:
    with _lock:
        _, stop_signal = _running.get(process.pid, (process, signal.SIGTERM))
    if not _wait_group(process, time.monotonic()):
        _signal_group(process.pid, stop_signal)
        if not _wait_group(process, time.monotonic() + grace):
            _signal_group(process.pid, signal.SIGKILL)
            _wait_group(process, time.monotonic() + KILL_WAIT_S)
    _reap(process, KILL_WAIT_S)


def stop(process: subprocess.Popen[Any], grace: float = STOP_GRACE_S) -> int | None:
    """End ``process`` and its whole group: stop signal, ``grace`` seconds, then SIGKILL.

    Safe to call again, and on a process that has exited. Closes the pipes to it (read
    what you need first). Returns its exit status.
    """
    _end_group(process, grace)
    with _lock:
        _running.pop(process.pid, None)
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            with suppress(OSError):
                pipe.close()
    return process.returncode


@contextmanager
def started(args: Sequence[str], *, stop_signal: int = signal.SIGTERM, grace: float = STOP_GRACE_S,
            **popen_kwargs: Any) -> Iterator[subprocess.Popen[Any]]:
    """Run ``args`` (see ``spawn``) for the block; stop its group however the block ends."""
    process = spawn(args, stop_signal=stop_signal, **popen_kwargs)
    try:
        yield process
    finally:
        stop(process, grace)


def run(args: Sequence[str], *, timeout: float, input: str | bytes | None = None,
        capture_output: bool = False, check: bool = False,
        **popen_kwargs: Any) -> subprocess.CompletedProcess[Any]:
    """Do what ``subprocess.run`` does, with the command in a group of its own.

    On a timeout, an interrupt or any other error the whole group is killed (not only
    the command, as ``subprocess.run`` does), and ``TimeoutExpired`` carries the output
    read so far. After a normal exit, whatever the command left in its group is ended.
    """
    if capture_output:
        popen_kwargs.setdefault("stdout", subprocess.PIPE)
        popen_kwargs.setdefault("stderr", subprocess.PIPE)
    if input is not None:
        popen_kwargs.setdefault("stdin", subprocess.PIPE)
    process = spawn(args, **popen_kwargs)
    try:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            _end_group(process, grace=0)
            exc.stdout, exc.stderr = process.communicate()
            raise
    finally:
        stop(process, grace=0 if process.returncode is None else STOP_GRACE_S)
    done = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    if check:
        done.check_returncode()
    return done


def stop_all(grace: float = STOP_GRACE_S) -> None:
    """Stop every child still registered (the atexit hook, and the session-end check)."""
    with _lock:
        processes = [process for process, _ in _running.values()]
    for process in processes:
        stop(process, grace)


def leftovers() -> list[Leftover]:
    """List live processes descending from this one or in a group started here."""
    me = os.getpid()
    processes = _live_processes()
    children: dict[int, list[_Stat]] = {}
    for s in processes:
        children.setdefault(s.ppid, []).append(s)
    found: dict[int, _Stat] = {}
    pending = [me]
    while pending:
        for child in children.get(pending.pop(), []):
            if child.pid not in found:
                found[child.pid] = child
                pending.append(child.pid)
    with _lock:
        groups = set(_groups)
    found.update({s.pid: s for s in processes
                  if s.pid != me and (s.pgid in groups or s.sid in groups)})
    return [Leftover(s.pid, s.ppid, s.pgid, s.sid, _command(s.pid))
            for s in sorted(found.values(), key=lambda s: s.pid)]


def kill_leftovers(found: Sequence[Leftover]) -> None:
    """SIGKILL each of ``found`` and its group (unless that is this process's own group)."""
    own = os.getpgrp()
    for leftover in found:
        if leftover.pgid != own:
            _signal_group(leftover.pgid, signal.SIGKILL)
        with suppress(ProcessLookupError, PermissionError):
            os.kill(leftover.pid, signal.SIGKILL)
    deadline = time.monotonic() + KILL_WAIT_S
    pids = {leftover.pid for leftover in found}
    while time.monotonic() < deadline:
        for pid in pids:  # our own children would stay zombies until reaped
            with suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        if not pids & {s.pid for s in _live_processes()}:
            return
        time.sleep(_POLL_S)


def _kill_everything() -> None:
    with _lock:
        groups = list(_running)
    for pgid in groups:
        _signal_group(pgid, signal.SIGKILL)


def _interrupt(signum: int) -> None:
    # The first signal unwinds the test like Ctrl-C, so every finalizer stops its child;
    # a second one during that unwinding kills all groups and ends pytest with the signal.
    for handled in _HANDLED:
        signal.signal(handled, _on_second_signal)
    raise KeyboardInterrupt(f"pytest received {signal.Signals(signum).name}")


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _Signals.spawning:
        _Signals.deferred = signum
    else:
        _interrupt(signum)


def _on_second_signal(signum: int, frame: FrameType | None) -> None:
    _kill_everything()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


_HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def install_signal_handlers() -> None:
    """Make SIGTERM and SIGHUP stop the children as Ctrl-C does (main thread only).

    Ctrl-C keeps raising ``KeyboardInterrupt``, except while a child is being spawned
    (then it waits until the child is registered); a second of any of these signals
    kills every group at once and ends the process with that signal.
    """
    if threading.current_thread() is threading.main_thread():
        for signum in _HANDLED:
            signal.signal(signum, _on_signal)


atexit.register(stop_all, 5.0)
