"""A server's whole process group: who is in it, what memory it holds, how to end it.

A server started with ``start_new_session=True`` leads a process group that also holds
every worker it forks (vLLM's engine core, for one), so the group is what to measure
and what to stop. Linux ``/proc`` only; memory is read by ``serving.procfs``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from serving.procfs import PROC, mb, pids, read_status

__all__ = ["group_members", "group_rss_mb", "stop_group"]


def group_members(pgid: int, proc: Path = PROC) -> list[int]:
    """Return the ids of the live (not zombie) processes in process group ``pgid``."""
    members = []
    for pid in pids(proc):
        try:
            stat = (proc / str(pid) / "stat").read_text()
        except OSError:
            continue  # the process ended while we looked
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        state, _, group = stat[stat.rindex(")") + 2:].split()[:3]
        if int(group) == pgid and state != "Z":
            members.append(pid)
    return members


def group_rss_mb(pgid: int, proc: Path = PROC) -> float:
    """Return the resident memory, in MB, of every process in process group ``pgid``.

    vLLM's ``/metrics`` reports only the API server; the engine worker that holds the
    weights and the KV cache is a child process in the same group.
    """
    statuses = (read_status(pid, proc) for pid in group_members(pgid, proc))
    return mb(sum(status.rss_kb for status in statuses if status is not None))


def stop_group(leader: subprocess.Popen[bytes], grace_s: float) -> None:
    """End ``leader``'s process group: SIGTERM, then SIGKILL after ``grace_s``; reap it."""
    pgid = leader.pid
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and _alive(pgid, leader):
            time.sleep(0.1)
        if not _alive(pgid, leader):
            break
    leader.wait()


def _alive(pgid: int, leader: subprocess.Popen[bytes]) -> bool:
    leader.poll()  # reap the leader: a zombie does not count
    return bool(group_members(pgid))
