"""A PostgreSQL and a Redis of our own for the Aegra server, as children on 127.0.0.1.

``agent-router serve api`` (``make serve``), the benchmark and the tests start them when
no ``--database-url`` / ``--redis-url`` is given. Both run in the foreground as children
(``serving.api.children``), so they stop with the command, on Ctrl-C too.

* **PostgreSQL** (Debian's ``postgresql``): ``initdb`` once into the data folder (trust
  authentication, which is safe because it listens on 127.0.0.1 only), then ``postgres``
  on the given port with its socket in the data folder. ``initdb`` and ``postgres``
  refuse root, so as root the cluster belongs to the ``postgres`` user and its data
  folder must be reachable by that user (``postgres_data_dir`` picks one).
  ``create_database`` makes a database unless it exists. ``durable=False`` turns
  ``fsync`` off, for throwaway test clusters.
* **Redis** (Debian's ``redis-server``): bound to 127.0.0.1, with append-only
  persistence in its folder when durable, none otherwise.

Readiness is a successful connection (``psycopg``) or a ``PONG``, never a fixed delay.
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import psycopg
from psycopg import sql

from backends.errors import EngineStartError
from serving.api.children import Child

__all__ = ["LocalPostgres", "LocalRedis", "find_postgres_bin", "free_port", "postgres_data_dir"]

_POLL_S = 0.2
_CONNECT_TIMEOUT_S = 10
_INITDB_TIMEOUT_S = 300.0
STOP_GRACE_S = 30.0


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def find_postgres_bin() -> Path:
    """Return the newest ``/usr/lib/postgresql/<version>/bin``; raise naming the fix."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[3]) if Path(p).parts[3].isdigit() else 0)
    if not found:
        raise EngineStartError(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): `apt-get "
            "install postgresql` (`make postgres` does it as root), or name a running one "
            "with --database-url")
    return Path(found[-1]).parent


def _as_root() -> bool:
    return os.geteuid() == 0


def postgres_data_dir(state: Path) -> Path:
    """Return where the cluster of ``state`` keeps its data.

    That is under ``state``, or as root in the ``postgres`` user's home: root's own
    folders are closed to that user.
    """
    if _as_root():
        try:
            home = Path(pwd.getpwnam("postgres").pw_dir)
        except KeyError:
            raise EngineStartError(
                "there is no `postgres` user, which PostgreSQL runs as when we are root: "
                "`apt-get install postgresql` (`make postgres` does it), or name a running "
                "one with --database-url") from None
        key = hashlib.sha256(str(state.resolve()).encode()).hexdigest()[:16]
        return home / "llm-agent-router" / key
    return state / "postgres"


def _owner_popen() -> dict[str, Any]:
    if not _as_root():
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


@dataclass
class LocalPostgres:
    """A PostgreSQL cluster in ``data`` served on ``127.0.0.1:port``; ``log`` gets its output."""

    name: ClassVar[str] = "PostgreSQL"
    data: Path
    port: int
    log: Path
    durable: bool = True
    child: Child | None = field(default=None, init=False)

    def url(self, database: str = "postgres") -> str:
        """Return the URL of ``database`` on this cluster, as user ``postgres``."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _initdb(self, bin_dir: Path) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        if _as_root():
            shutil.chown(self.data, user="postgres", group="postgres")
        command = [str(bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                   "-E", "UTF8", *([] if self.durable else ["--no-sync"])]
        init = Child("initdb", command, self.log, cwd=self.data, popen=_owner_popen())
        process = init.start()
        try:
            process.wait(timeout=_INITDB_TIMEOUT_S)
        finally:
            init.stop(grace_s=0)
        if process.returncode != 0:
            raise EngineStartError(init.failure(f"failed to create the cluster in {self.data}"))

    def start(self, timeout_s: float) -> None:
        """Create the cluster unless it exists, start it and wait until it accepts."""
        bin_dir = find_postgres_bin()
        if not (self.data / "PG_VERSION").is_file():
            self._initdb(bin_dir)
        command = [str(bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port),
                   "-k", str(self.data), "-c", "listen_addresses=127.0.0.1"]
        if not self.durable:
            command += ["-c", "fsync=off", "-c", "synchronous_commit=off"]
        # SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to leave.
        self.child = Child(self.name, command, self.log, stop_signal=signal.SIGINT,
                           cwd=self.data, popen=_owner_popen())
        self.child.start()
        deadline = time.monotonic() + timeout_s
        while True:
            if not self.child.alive():
                raise EngineStartError(self.child.failure("did not start"))
            try:
                with psycopg.connect(self.url(), connect_timeout=_CONNECT_TIMEOUT_S):
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise EngineStartError(self.child.failure(
                        f"accepted no connection within {timeout_s:.0f} s ({exc})")) from exc
            time.sleep(_POLL_S)  # between connection attempts: the readiness signal

    def create_database(self, name: str) -> str:
        """Create database ``name`` unless it exists; return its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if found.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop the cluster (fast shutdown, then SIGKILL after ``grace_s``)."""
        if self.child is not None:
            self.child.stop(grace_s)


def _pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=_CONNECT_TIMEOUT_S) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class LocalRedis:
    """A Redis server keeping its files in ``directory``, on ``127.0.0.1:port``."""

    name: ClassVar[str] = "Redis"
    directory: Path
    port: int
    log: Path
    durable: bool = True
    child: Child | None = field(default=None, init=False)

    def url(self, db: int = 0) -> str:
        """Return the URL of database ``db`` on this server."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout_s: float) -> None:
        """Start ``redis-server`` and wait until it answers PING."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise EngineStartError(
                "redis-server is not installed: `apt-get install redis-server` (`make redis` "
                "does it as root), or name a running Redis with --redis-url")
        self.directory.mkdir(parents=True, exist_ok=True)
        persistence = (["--appendonly", "yes", "--appendfsync", "everysec"] if self.durable
                       else ["--appendonly", "no"])
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--daemonize", "no",
                   "--protected-mode", "yes", "--dir", str(self.directory), "--save", "",
                   *persistence]
        self.child = Child(self.name, command, self.log, cwd=self.directory)
        self.child.start()
        deadline = time.monotonic() + timeout_s
        while not _pong(self.port):
            if not self.child.alive():
                raise EngineStartError(self.child.failure("did not start"))
            if time.monotonic() > deadline:
                raise EngineStartError(self.child.failure(
                    f"answered no PING within {timeout_s:.0f} s"))
            time.sleep(_POLL_S)  # between PINGs: the readiness signal

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop Redis (SIGTERM, then SIGKILL after ``grace_s``)."""
        if self.child is not None:
            self.child.stop(grace_s)
