"""The Aegra server for the graphs: its settings, the migration, one instance's lifecycle.

Aegra (``aegra-api``, Apache-2.0) serves the LangGraph API from PostgreSQL, with Redis as
the run queue; every instance of a ``Deployment`` shares one database and one queue, so
instances can come and go. Aegra reads the same ``langgraph.json`` (or
``langgraph.auth.json``) as ``langgraph dev``: it takes ``graphs``, ``dependencies``,
``auth`` and ``http`` from it, with paths relative to the file, so the two servers have
one source of truth and no generated file (``AEGRA_CONFIG`` names the file).

* ``migrate`` runs ``serving.api.migrate`` (``aegra db upgrade``, then LangGraph's
  checkpoint and store tables) once per deployment, before its instances start;
  instances then skip their own start-up migration (``RUN_MIGRATIONS_ON_STARTUP=false``),
  as Aegra recommends with several instances.
* ``AegraServer`` runs one instance: uvicorn with ``aegra_api.main:app`` under the
  Python of Aegra's virtualenv (``serving.api.venv``), in a process group of its own
  (``serving.api.children``). ``wait_ready`` polls ``/ready`` (database and graphs up).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from backends.errors import EngineStartError
from serving.api.children import Child, log_tail
from serving.api.venv import project_root

__all__ = ["AegraServer", "Deployment", "aegra_command", "migrate"]

MIGRATE_TIMEOUT_S = 600.0
PROBE_TIMEOUT_S = 10.0
PROBE_INTERVAL_S = 0.25
# Aegra drains in-flight runs for WORKER_DRAIN_TIMEOUT (30 s) on SIGTERM, then hands
# them back to the queue; the grace before SIGKILL leaves room for that.
STOP_GRACE_S = 45.0


@dataclass(frozen=True)
class Deployment:
    """What the instances of one deployment share.

    Args:
        config: the langgraph.json-style file every instance serves.
        database_url: its PostgreSQL database (``postgresql://...``).
        redis_url: its Redis (``redis://host:port/db``).
        queue: prefix of its Redis keys and channels, so that deployments sharing a Redis
            never take each other's runs (Aegra's default is ``aegra``).
        settings: more of Aegra's environment variables, e.g. ``WORKER_COUNT`` or the
            lease timings (``LEASE_DURATION_SECONDS``, ``REAPER_INTERVAL_SECONDS``).
    """

    config: Path
    database_url: str
    redis_url: str
    queue: str = "aegra"
    settings: Mapping[str, str] = field(default_factory=dict)

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """Return ``base`` plus the variables every instance and the migration need.

        The checkout goes first on ``PYTHONPATH``: Aegra's virtualenv holds the project's
        dependencies but not the project (``serving.api.venv``).
        """
        path = os.pathsep.join(p for p in (str(project_root()), base.get("PYTHONPATH")) if p)
        return {
            **base,
            "PYTHONPATH": path,
            "AEGRA_CONFIG": str(self.config.resolve()),
            "DATABASE_URL": self.database_url,
            "REDIS_BROKER_ENABLED": "true",
            "REDIS_URL": self.redis_url,
            "WORKER_QUEUE_KEY": f"{self.queue}:jobs",
            "REDIS_CHANNEL_PREFIX": f"{self.queue}:run:",
            "RUN_MIGRATIONS_ON_STARTUP": "false",
            "PYTHONUNBUFFERED": "1",
            **self.settings,
        }


def aegra_command(python: Path, host: str, port: int) -> list[str]:
    """Return the command line of one instance: uvicorn serving Aegra's app."""
    return [str(python), "-m", "uvicorn", "aegra_api.main:app", "--host", host,
            "--port", str(port)]


def migrate(python: Path, deployment: Deployment, base_env: Mapping[str, str],
            log: Path) -> None:
    """Bring the deployment's database to what Aegra needs (``serving.api.migrate``).

    Safe to repeat: a database already migrated is left as it is.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    child = Child("the migration (python -m serving.api.migrate)",
                  [str(python), "-m", "serving.api.migrate"], log,
                  env=deployment.environment(base_env), cwd=deployment.config.resolve().parent)
    process = child.start()
    try:
        process.wait(timeout=MIGRATE_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise EngineStartError(child.failure(
            f"did not finish within {MIGRATE_TIMEOUT_S:.0f} s")) from exc
    finally:
        child.stop(grace_s=0)
    if process.returncode != 0:
        raise EngineStartError(child.failure("failed"))


@dataclass
class AegraServer:
    """One Aegra instance of ``deployment`` on ``host:port``; ``log`` gets its output."""

    python: Path
    deployment: Deployment
    port: int
    log: Path
    host: str = "127.0.0.1"
    base_env: Mapping[str, str] = field(default_factory=dict)
    child: Child | None = field(default=None, init=False)

    @property
    def base_url(self) -> str:
        """Return the instance's root URL."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> subprocess.Popen[bytes]:
        """Start the instance in a process group of its own (see ``wait_ready``)."""
        env = {**self.deployment.environment(self.base_env), "HOST": self.host,
               "PORT": str(self.port)}
        self.child = Child(f"Aegra on port {self.port}",
                           aegra_command(self.python, self.host, self.port), self.log, env=env,
                           cwd=self.deployment.config.resolve().parent)
        return self.child.start()

    def alive(self) -> bool:
        """Tell whether the instance's process is running."""
        return self.child is not None and self.child.alive()

    @property
    def pid(self) -> int | None:
        """Return the instance's pid (Aegra's worker names carry it), or None."""
        return self.child.pid if self.child is not None else None

    def wait_ready(self, timeout_s: float) -> None:
        """Poll ``/ready`` until it answers 200; raise if the instance exits or time is up."""
        deadline = time.monotonic() + timeout_s
        last = "no answer yet"
        while True:
            if not self.alive():
                raise EngineStartError(self._failure("exited before it was ready"))
            try:
                reply = httpx.get(f"{self.base_url}/ready", timeout=PROBE_TIMEOUT_S)
                if reply.status_code == 200:
                    return
                last = f"/ready answered {reply.status_code}"
            except httpx.TransportError as exc:
                last = f"not listening yet ({type(exc).__name__})"
            if time.monotonic() > deadline:
                raise EngineStartError(self._failure(
                    f"was not ready within {timeout_s:.0f} s ({last})"))
            time.sleep(PROBE_INTERVAL_S)  # between probes of /ready, the readiness signal

    def _failure(self, what: str) -> str:
        if self.child is None:
            return f"Aegra on port {self.port} {what}"
        return self.child.failure(what)

    def stop(self, grace_s: float = STOP_GRACE_S) -> int | None:
        """Stop the instance: SIGTERM (Aegra drains its runs), SIGKILL after ``grace_s``."""
        return self.child.stop(grace_s) if self.child is not None else None

    def kill(self) -> None:
        """SIGKILL the instance, as a crash would: its runs wait for another instance."""
        if self.child is not None:
            self.child.kill()

    def log_tail(self, lines: int = 60) -> str:
        """Return the end of the instance's log."""
        return log_tail(self.log, lines)
