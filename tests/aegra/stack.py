"""Aegra for the tests: one PostgreSQL and one Redis per session, instances on demand.

Every process starts through the product's own code (``serving.api``: the same
commands ``agent-router serve api`` runs) and is registered with ``tests/procs.py`` at
once, so the signal handlers, the ``atexit`` hook and the session-end check for
processes left behind cover it; each is also stopped in a ``finally``.

* ``AegraStack`` (the session fixture ``aegra_stack`` in ``tests/aegra/fixtures.py``):
  a throwaway cluster (fsync off) and a Redis without persistence, on free loopback
  ports, their files in a temporary folder.
* ``AegraStack.deployment`` makes a database of its own, migrates it with
  ``aegra db upgrade`` and returns the ``Deployment``; its Redis keys carry the same
  name, so deployments sharing the Redis never take each other's runs.
* ``aegra_instance`` runs one instance of a deployment on a free port until the block
  ends, and yields it once ``/ready`` answers.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from serving.api.aegra import AegraServer, Deployment, migrate
from serving.api.children import Child
from serving.api.stack import LocalPostgres, LocalRedis, free_port
from tests import procs

SERVICE_TIMEOUT_S = 300.0
READY_TIMEOUT_S = 600.0  # graphs load in seconds; far more when 2 busy cores are shared
STOP_GRACE_S = 60.0
# Short leases: a killed instance's run is free again after ~LEASE s (not Aegra's 30),
# found by a reaper that looks every 2 s (not 15). Heartbeats every 3 s leave 4 missed
# beats before a healthy worker could lose its lease on a loaded machine.
FAST_RECOVERY = {"LEASE_DURATION_SECONDS": "12", "HEARTBEAT_INTERVAL_SECONDS": "3",
                 "REAPER_INTERVAL_SECONDS": "2"}
_names = itertools.count(1)
# What the tier measured, printed in the session summary (tests/aegra/conftest.py). A
# plain module, imported once, unlike a conftest that a test module imports again.
MEASURED: dict[str, str] = {}


def track(child: Child) -> None:
    """Hand ``child``'s process group to tests/procs.py (signals, atexit, leftovers)."""
    assert child.process is not None
    procs.track(child.process, stop_signal=child.stop_signal)


@dataclass
class AegraStack:
    """The session's PostgreSQL and Redis, and the Python of Aegra's virtualenv."""

    python: Path
    root: Path
    postgres: LocalPostgres = field(init=False)
    redis: LocalRedis = field(init=False)

    def __post_init__(self) -> None:
        self.postgres = LocalPostgres(self.root / "pg", free_port(), self.root / "postgres.log",
                                      durable=False)
        self.redis = LocalRedis(self.root / "redis", free_port(), self.root / "redis.log",
                                durable=False)

    def start(self) -> None:
        for service in (self.postgres, self.redis):
            try:
                service.start(SERVICE_TIMEOUT_S)
            finally:  # tracked even when it failed to become ready
                if service.child is not None and service.child.process is not None:
                    track(service.child)

    def stop(self) -> None:
        self.redis.stop()
        self.postgres.stop()

    def deployment(self, config: Path, *, name: str | None = None,
                   settings: Mapping[str, str] | None = None,
                   env: Mapping[str, str] | None = None) -> Deployment:
        """Create and migrate a database of its own; return its deployment of ``config``."""
        name = name or f"deploy_{next(_names)}"
        deployment = Deployment(config=config, database_url=self.postgres.create_database(name),
                                redis_url=self.redis.url(), queue=f"test-{name}",
                                settings=dict(settings or {}))
        migrate(self.python, deployment, {**os.environ, **(env or {})},
                self.root / f"migrate-{name}.log")
        return deployment


def make_stack(python: Path) -> AegraStack:
    """Return a stack in a fresh temporary folder (not yet started)."""
    # As root the cluster runs as `postgres`, which cannot enter pytest's 0700 folders.
    root = Path(tempfile.mkdtemp(prefix="agent-router-aegra-"))
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres", group="postgres")
        root.chmod(0o755)
    return AegraStack(python=python, root=root)


def remove_stack(stack: AegraStack) -> None:
    shutil.rmtree(stack.root, ignore_errors=True)


@contextmanager
def aegra_instance(stack: AegraStack, deployment: Deployment, log: Path, *,
                   env: Mapping[str, str] | None = None,
                   port: int | None = None) -> Iterator[AegraServer]:
    """Run one instance of ``deployment`` for the block; yield it when ``/ready``."""
    server = AegraServer(stack.python, deployment, port or free_port(), log,
                         base_env={**os.environ, **(env or {})})
    try:
        server.start()
        assert server.child is not None
        track(server.child)
        server.wait_ready(READY_TIMEOUT_S)
        yield server
    finally:
        server.stop(STOP_GRACE_S)


def kill(server: AegraServer) -> None:
    """SIGKILL ``server``'s whole group, the crash the takeover test needs."""
    assert server.child is not None and server.child.process is not None
    server.kill()
    # Reaped already; what procs tracks is now a finished process.
    assert server.child.process.returncode == -signal.SIGKILL
