"""Memory of a server running on this machine: the process that listens, and its children.

vLLM's ``/metrics`` reports the resident memory of the API-server process alone; the
engine worker that holds the weights and the KV cache is a child process. When a
backend's URL is on loopback, the server is on this machine: the process listening on
its port is found from ``/proc/net/tcp`` and ``/proc/net/tcp6`` (the socket's inode)
and the ``/proc/<pid>/fd`` links that point at that socket; that process and every
process it started (by parent pid) are the server. Each process's name and memory
come from ``serving.procfs``. Linux ``/proc`` only; another user's processes are
invisible unless we are root.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from serving.procfs import PROC, ProcessStatus, mb, pids, read_status

__all__ = ["listening_inodes", "loopback_port", "server_memory", "server_processes"]

_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's "st" column


def loopback_port(base_url: str) -> int | None:
    """Return the port of ``base_url`` when its host is this machine's loopback, else None."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    try:
        local = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost
        local = False
    if not local:
        return None
    return parts.port or (443 if parts.scheme == "https" else 80)


def listening_inodes(port: int, proc: Path = PROC) -> set[int]:
    """Return the inodes of the TCP sockets (IPv4 and IPv6) listening on ``port``."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:  # no IPv6 on this machine
            continue
        for line in lines:
            # sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            fields = line.split()
            if len(fields) < 10 or fields[3] != _LISTEN:
                continue
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(int(fields[9]))
    return inodes


def _holders(inodes: set[int], proc: Path) -> set[int]:
    wanted = {f"socket:[{inode}]" for inode in inodes}
    holders = set()
    for pid in pids(proc):
        try:
            fds = list((proc / str(pid) / "fd").iterdir())
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if wanted.intersection(_link(fd) for fd in fds):
            holders.add(pid)
    return holders


def _link(fd: Path) -> str:
    try:
        return os.readlink(fd)
    except OSError:  # closed meanwhile (our own listing's descriptor, for one)
        return ""


def server_processes(port: int, proc: Path = PROC) -> list[ProcessStatus]:
    """Return the processes listening on ``port`` and all their descendants, by pid."""
    holders = _holders(listening_inodes(port, proc), proc)
    if not holders:
        return []
    table = {p.pid: p for p in (read_status(pid, proc) for pid in pids(proc)) if p is not None}
    found = {pid for pid in holders if pid in table}
    grew = True
    while grew:  # add children until none is new: the tree below the listeners
        new = {p.pid for p in table.values() if p.ppid in found and p.pid not in found}
        found |= new
        grew = bool(new)
    return [table[pid] for pid in sorted(found)]


def server_memory(base_url: str, proc: Path = PROC) -> dict[str, Any]:
    """Sum the memory of the server at ``base_url`` when it runs on this machine.

    Returns ``all_processes_rss_mb`` (now), ``all_processes_peak_rss_mb`` (the sum of
    each process's own peak, an upper bound of the tree's peak) and ``processes``; or a
    ``processes_note`` saying why the processes could not be measured.
    """
    port = loopback_port(base_url)
    if port is None:
        return {"processes_note": f"{base_url} is not on this machine's loopback: "
                                  "only the server's own report is available"}
    found = server_processes(port, proc)
    if not found:
        return {"processes_note": f"no process visible to us listens on port {port}"}
    if any(p.pid == os.getpid() for p in found):
        return {"processes_note": "the server runs inside this process (a test server)"}
    return {"all_processes_rss_mb": mb(sum(p.rss_kb for p in found)),
            "all_processes_peak_rss_mb": mb(sum(p.peak_rss_kb for p in found)),
            "processes": [{"pid": p.pid, "name": p.name, "rss_mb": mb(p.rss_kb),
                           "peak_rss_mb": mb(p.peak_rss_kb)} for p in found]}
