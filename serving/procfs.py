"""Processes as Linux ``/proc`` shows them: their ids, names and resident memory.

The one reader of ``/proc/<pid>/status`` for everything that measures a process: a
vLLM server's process group (``serving.vllm.process_group``), a local server's
process tree (``bench.local_server``) and the benchmark's own process
(``bench.engines``). Linux ``/proc`` only; another user's processes are invisible
unless we are root.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["PROC", "ProcessStatus", "mb", "pids", "read_status"]

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessStatus:
    """One process as ``/proc/<pid>/status`` shows it: its ids, name and memory."""

    pid: int
    ppid: int
    name: str
    rss_kb: int
    peak_rss_kb: int  # VmHWM: the most it has held since it started


def pids(proc: Path = PROC) -> list[int]:
    """Return the ids of the processes listed in ``proc``."""
    return [int(entry.name) for entry in proc.iterdir() if entry.name.isdigit()]


def read_status(pid: int, proc: Path = PROC) -> ProcessStatus | None:
    """Return process ``pid``'s status; None when it is gone, unreadable or a zombie."""
    try:
        text = (proc / str(pid) / "status").read_text()
    except OSError:  # gone meanwhile, or not ours to read
        return None
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    if fields.get("State", "").strip().startswith(("Z", "X")):
        return None

    def kb(key: str) -> int:  # kernel threads have no memory lines
        return int(fields[key].split()[0]) if key in fields else 0

    return ProcessStatus(pid, int(fields.get("PPid", "0")), fields.get("Name", "").strip(),
                         kb("VmRSS"), kb("VmHWM"))


def mb(kb: int) -> float:
    """Return ``kb`` kilobytes (KiB, as ``/proc`` counts) in MB, to one decimal."""
    return round(kb / 1024, 1)
