"""Real servers of the LangGraph API for the end-to-end tests: `langgraph dev` and Aegra.

The HTTP API tests run against both servers: ``SERVER_KINDS`` parametrizes their server
fixtures, and ``start_server`` starts either kind. An Aegra server (``tests/aegra/stack.py``)
is one instance of a deployment of its own (its own database, migrated, on the session's
PostgreSQL and Redis); it serves the repository's own ``langgraph.json`` (or
``langgraph.auth.json``), the one file both servers read. A test whose behaviour Aegra
does not have calls ``differs_on_aegra``, which marks it xfail (strict) on Aegra with the
reason; docs/server-api.md lists the same differences.

``start_dev_server`` runs the command line from ``agent_router.cli.dev_command`` (with
``OFFLINE_ENV``) on a free 127.0.0.1 port through ``tests/procs.py``, waits for ``/ok``
and, however the block ends, ends the server's whole process group. ``dev_server`` is
one such server per test module, working in the repository root, as ``make dev`` runs it.

``patient_backends`` writes the repository's backends.toml with a longer request timeout
for the embedded engine, for servers that queue many runs on a loaded machine.

``isolated_project`` makes a directory that serves the repository's graphs but keeps
the dev server's state (``.langgraph_api/``) away from the repository: its
``langgraph.json`` names the graph files by absolute path, and the environment it
returns points ``AGENT_ROUTER_CONFIG`` at a backends file (the repository's unless
given) and ``PYTHONPATH`` at the repository.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import tomllib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from agent_router.cli import OFFLINE_ENV, dev_command
from serving.api.aegra import AegraServer
from tests import procs
from tests.aegra.stack import AegraStack, aegra_instance
from tests.wire.config import write_backends

REPO_ROOT = Path(__file__).resolve().parents[2]
# About 1 s on a quiet machine; far more when two busy loops share its 2 cores.
READY_TIMEOUT_S = 240.0
PROBE_TIMEOUT_S = 10.0
PROBE_INTERVAL_S = 0.25
# Twenty queued runs on 4 slots, with the machine's cores shared: the shipped 120 s can pass
# before a request gets a slot at all.
EMBEDDED_TIMEOUT_S = 600.0
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


SERVER_KINDS = ("langgraph-dev", "aegra")


@dataclass(frozen=True)
class DevServer:
    url: str
    log: Path
    kind: str = "langgraph-dev"
    aegra: AegraServer | None = None

    def log_text(self) -> str:
        return ANSI_ESCAPE.sub("", self.log.read_text(encoding="utf-8", errors="replace"))

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_ready(process: subprocess.Popen[bytes], server: DevServer) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"langgraph dev exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/ok", timeout=PROBE_TIMEOUT_S).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(PROBE_INTERVAL_S)  # between probes of /ok, the readiness signal
    pytest.fail(f"langgraph dev not ready after {READY_TIMEOUT_S:.0f} s:\n{server.log_tail()}")


@contextmanager
def start_dev_server(
    log: Path,
    *,
    cwd: Path = REPO_ROOT,
    env: Mapping[str, str] | None = None,
    config: str = "langgraph.json",
    extra_args: Sequence[str] = (),
) -> Iterator[DevServer]:
    """Serve the graphs of ``cwd/<config>`` until the block ends.

    ``env`` is added to this process's environment (``OFFLINE_ENV`` always wins).
    """
    port = free_loopback_port()
    server = DevServer(url=f"http://127.0.0.1:{port}", log=log)
    with server.log.open("ab") as log_file, procs.started(
        [*dev_command(port, config=config), *extra_args],
        cwd=cwd,
        env={**os.environ, **(env or {}), **OFFLINE_ENV},
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    ) as process:
        wait_until_ready(process, server)
        yield server


def server_starter(
    kind: str,
    request: pytest.FixtureRequest,
    log: Path,
    *,
    cwd: Path = REPO_ROOT,
    env: Mapping[str, str] | None = None,
    config: str = "langgraph.json",
) -> Callable[[], AbstractContextManager[DevServer]]:
    """Return a function that serves the graphs with ``kind`` (of ``SERVER_KINDS``).

    Each call starts a server that keeps the state of the earlier ones: `langgraph dev`
    serves ``cwd/<config>`` and keeps its state in ``cwd``; Aegra serves the repository's
    file of the same name from one new database, created and migrated here.
    ``env`` is added to the server's environment.
    """
    if kind == "langgraph-dev":
        return lambda: start_dev_server(log, cwd=cwd, env=env, config=config)
    stack: AegraStack = request.getfixturevalue("aegra_stack")
    deployment = stack.deployment(REPO_ROOT / Path(config).name, env=env)

    @contextmanager
    def start_aegra() -> Iterator[DevServer]:
        with aegra_instance(stack, deployment, log, env=env) as aegra:
            yield DevServer(url=aegra.base_url, log=log, kind="aegra", aegra=aegra)

    return start_aegra


@contextmanager
def start_server(
    kind: str,
    request: pytest.FixtureRequest,
    log: Path,
    *,
    cwd: Path = REPO_ROOT,
    env: Mapping[str, str] | None = None,
    config: str = "langgraph.json",
) -> Iterator[DevServer]:
    """Serve the graphs with ``kind`` (one of ``SERVER_KINDS``) until the block ends."""
    with server_starter(kind, request, log, cwd=cwd, env=env, config=config)() as server:
        yield server


def differs_on_aegra(request: pytest.FixtureRequest, server: DevServer, reason: str) -> None:
    """Mark the running test xfail (strict) when ``server`` is Aegra, which lacks this."""
    if server.kind == "aegra":
        request.node.add_marker(pytest.mark.xfail(strict=True, reason=f"Aegra 0.11: {reason}"))


def patient_backends(directory: Path) -> Path:
    """Write the repository's backends.toml, with ``EMBEDDED_TIMEOUT_S``, into ``directory``."""
    config = tomllib.loads((REPO_ROOT / "backends.toml").read_text(encoding="utf-8"))
    config["backends"]["embedded"]["timeout_s"] = EMBEDDED_TIMEOUT_S
    return write_backends(directory, config["backends"], config["chains"])


def isolated_project(directory: Path, backends_toml: Path | None = None) -> dict[str, str]:
    """Make ``directory`` serve the repository's graphs; return the env the server needs."""
    config = json.loads((REPO_ROOT / "langgraph.json").read_text())
    config["dependencies"] = [str(REPO_ROOT)]
    config["graphs"] = {
        graph_id: f"{(REPO_ROOT / path).resolve()}:{attribute}"
        for graph_id, (path, attribute) in (
            (graph_id, target.rsplit(":", 1)) for graph_id, target in config["graphs"].items()
        )
    }
    (directory / "langgraph.json").write_text(json.dumps(config, indent=2))
    pythonpath = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return {
        "AGENT_ROUTER_CONFIG": str(backends_toml or REPO_ROOT / "backends.toml"),
        "PYTHONPATH": pythonpath,
    }


@pytest.fixture(scope="module", params=SERVER_KINDS)
def dev_server(model_path: Path, tmp_path_factory: pytest.TempPathFactory,
               request: pytest.FixtureRequest) -> Iterator[DevServer]:
    log = tmp_path_factory.mktemp(request.param) / "server.log"
    with start_server(request.param, request, log) as server:
        yield server


@pytest.fixture
async def client(dev_server: DevServer) -> AsyncIterator[LangGraphClient]:
    async with get_client(url=dev_server.url) as sdk_client:
        yield sdk_client
