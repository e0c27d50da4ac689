"""``agent-router serve api`` (``make serve``): the graphs on Aegra, on this machine, for real.

One command: install Aegra's virtualenv unless done (``serving.api.venv``), start a
PostgreSQL and a Redis of our own unless URLs are given (``serving.api.stack``; their
data stays in ``<cache>/aegra`` between runs), create the database and migrate it
(``serving.api.aegra.migrate``), start ``instances`` Aegra instances on one database and
one queue, print their URLs and how to stop, and hold until Ctrl-C or SIGTERM. Then every
instance drains and stops, then Redis, then PostgreSQL; the same happens when any of
them dies, and at interpreter exit.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from backends.config import cache_dir, server_api_keys
from backends.errors import EngineStartError
from serving.api.aegra import AegraServer, Deployment, migrate
from serving.api.stack import LocalPostgres, LocalRedis, free_port, postgres_data_dir
from serving.api.venv import AEGRA_VERSION, ensure_venv, find_python, project_root, venv_dir

__all__ = ["DATABASE", "ServeOptions", "local_postgres", "local_redis", "local_services",
           "running_instances", "serve"]

DATABASE = "agent_router"
SERVICE_TIMEOUT_S = 300.0
READY_TIMEOUT_S = 600.0  # graphs load in seconds; far more on a loaded 2-core machine
_WATCH_S = 0.5
_stoppers: list[Callable[[], object]] = []


@atexit.register
def _stop_everything() -> None:
    for stop in reversed(_stoppers):
        stop()


@dataclass(frozen=True)
class ServeOptions:
    """What ``serve api`` was asked for; None means "start or choose one ourselves"."""

    instances: int = 1
    port: int = 0
    host: str = "127.0.0.1"
    config: Path | None = None
    database_url: str | None = None
    redis_url: str | None = None
    python: str | None = None
    prepare_only: bool = False


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def local_postgres(state: Path, *, durable: bool = True) -> LocalPostgres:
    """Return (not start) the PostgreSQL of ``state``: data kept there between runs."""
    return LocalPostgres(postgres_data_dir(state), free_port(), state / "logs" / "postgres.log",
                         durable=durable)


def local_redis(state: Path, *, durable: bool = True) -> LocalRedis:
    """Return (not start) the Redis of ``state``."""
    return LocalRedis(state / "redis", free_port(), state / "logs" / "redis.log",
                      durable=durable)


@contextmanager
def local_services(services: Sequence[LocalPostgres | LocalRedis],
                   timeout_s: float = SERVICE_TIMEOUT_S) -> Iterator[None]:
    """Run ``services`` (started in order, ready) for the block; stop them in reverse."""
    with ExitStack() as stack:
        for service in services:
            stack.callback(service.stop)
            _stoppers.append(service.stop)
            service.start(timeout_s)
        yield


@contextmanager
def running_instances(python: Path, deployment: Deployment, ports: Sequence[int], logs: Path, *,
                      host: str = "127.0.0.1", base_env: Mapping[str, str] | None = None,
                      timeout_s: float = READY_TIMEOUT_S) -> Iterator[list[AegraServer]]:
    """Start an instance of ``deployment`` on each of ``ports``, all ready, for the block.

    The first one starts alone and the others once it is ready: instances starting
    together on a database that ``migrate`` has not prepared race to create the same
    rows (see ``serving.api.migrate``).
    """
    servers = [AegraServer(python, deployment, port, logs / f"aegra-{port}.log", host=host,
                           base_env=dict(base_env or {})) for port in ports]
    with ExitStack() as stack:
        for batch in (servers[:1], servers[1:]):
            for server in batch:
                stack.callback(server.stop)
                _stoppers.append(functools.partial(server.stop))
                server.start()
            for server in batch:
                server.wait_ready(timeout_s)
        yield servers


def _ports(options: ServeOptions) -> list[int]:
    if options.port:
        return [options.port + i for i in range(options.instances)]
    return [free_port(options.host) for _ in range(options.instances)]


def _auth_line(config: Path) -> str:
    keys = server_api_keys()  # a malformed AGENT_ROUTER_API_KEYS fails here, not per request
    try:
        settings = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EngineStartError(f"cannot read the server config {config}: {exc}") from exc
    if not isinstance(settings, dict) or "auth" not in settings:
        return f"auth:     none ({config.name} names no auth)"
    if not keys:
        return ("auth:     OFF (AGENT_ROUTER_API_KEYS is unset: anyone who reaches the port "
                "may use it)")
    return (f"auth:     on, {len(set(keys.values()))} users; send x-api-key or "
            "Authorization: Bearer")


def _hold(servers: Sequence[AegraServer], services: Sequence[LocalPostgres | LocalRedis]) -> None:
    while True:
        for server in servers:
            if not server.alive():
                raise EngineStartError(f"Aegra on {server.base_url} stopped unexpectedly; the "
                                       f"end of {server.log}:\n{server.log_tail()}")
        for service in services:
            if service.child is not None and not service.child.alive():
                raise EngineStartError(service.child.failure("stopped unexpectedly"))
        time.sleep(_WATCH_S)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(options: ServeOptions, base_env: Mapping[str, str]) -> int:
    """Serve the graphs on Aegra until Ctrl-C or SIGTERM; return the exit status."""
    root = project_root()
    config = (options.config or root / "langgraph.auth.json").resolve()
    if not config.is_file():
        raise EngineStartError(f"no server config at {config}")
    try:
        interpreter = find_python(options.python)
    except EngineStartError as exc:
        if not options.prepare_only or options.python:
            raise
        print(f"note: {exc}; the Aegra tests will skip", file=sys.stderr)
        return 0
    python = ensure_venv(root, interpreter, say=_say)
    if options.prepare_only:
        print(f"Aegra {AEGRA_VERSION} is installed in {venv_dir()}")
        return 0
    auth = _auth_line(config)
    state = cache_dir() / "aegra"
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with ExitStack() as stack:
            postgres = local_postgres(state) if options.database_url is None else None
            redis = local_redis(state) if options.redis_url is None else None
            services = [service for service in (postgres, redis) if service is not None]
            if services:
                names = " and ".join(service.name for service in services)
                _say(f"starting {names} (data in {state})...")
                stack.enter_context(local_services(services))
            database_url = options.database_url or (
                postgres.create_database(DATABASE) if postgres is not None else "")
            redis_url = options.redis_url or (redis.url() if redis is not None else "")
            deployment = Deployment(config, database_url, redis_url)
            _say("migrating the database (aegra db upgrade, LangGraph's tables, assistants)...")
            migrate(python, deployment, base_env, state / "logs" / "migrate.log")
            _say(f"starting {options.instances} Aegra instance(s)...")
            servers = stack.enter_context(running_instances(
                python, deployment, _ports(options), state / "logs", host=options.host,
                base_env=base_env))
            urls = "\n".join(f"  {s.base_url}   (log: {s.log})" for s in servers)
            print(f"Aegra is ready:\n{urls}\nAPI docs: {servers[0].base_url}/docs\n"
                  f"graphs:   {config.name}\n{auth}\ndatabase: {database_url}\n"
                  f"queue:    {redis_url}\nStop with Ctrl-C (or kill -TERM {os.getpid()}): the "
                  "instances drain their runs, then Redis and PostgreSQL stop.", flush=True)
            _hold(servers, services)
    except KeyboardInterrupt:
        _say("\nAegra stopped.")
    return 0
