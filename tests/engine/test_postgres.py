"""The chat graph checkpointed in a real PostgreSQL server, read back over a new connection.

A throwaway cluster (Debian's ``initdb``, then ``postgres`` in the foreground as a
child started through ``tests/procs.py``, so it stops with its group however the
module ends) runs for the module on a free 127.0.0.1 port, its socket and data in a
temporary folder; readiness is a successful connection. ``initdb`` refuses root, so as
root the cluster belongs to the ``postgres`` user. Without the binaries, root with apt
installs the ``postgresql`` package; anything else skips, saying why.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agents.context import Context
from graphs.chat import build_chat
from serving.api.persistence import (
    async_durable_checkpointer,
    durable_checkpointer,
    open_async_postgres,
    open_postgres,
)
from tests import procs

SHORT = Context(max_answer_tokens=16)
THREAD = {"configurable": {"thread_id": "t"}}
DB_NAME = "agent_router"
APT_TIMEOUT_S = 900
PG_TIMEOUT_S = 180  # initdb, and the server's readiness: generous for a loaded machine
CONNECT_TIMEOUT_S = 10
PROBE_INTERVAL_S = 0.2


def _find_bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[3]) if Path(p).parts[3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _install_postgresql() -> str | None:
    """Install Debian's postgresql as root; return why not, or None on success."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "needs root with apt-get to install the `postgresql` package"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"]):
        try:
            done = procs.run(command, env=env, capture_output=True, text=True,
                             timeout=APT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return f"`{' '.join(command)}` took over {APT_TIMEOUT_S} s"
        if done.returncode != 0:
            return f"`{' '.join(command)}` failed: {done.stderr.strip()[-300:]}"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_owner(root: Path) -> dict[str, Any]:
    """Return the Popen arguments that run a command as the cluster's owner, in ``root``."""
    # initdb and postgres refuse to run as root.
    if os.geteuid() != 0:
        return {"cwd": root}
    return {"cwd": root, "user": "postgres", "group": "postgres", "extra_groups": [],
            "env": {**os.environ, "HOME": str(root)}}


def _wait_until_accepting(server: subprocess.Popen[bytes], admin: str, log: Path) -> None:
    deadline = time.monotonic() + PG_TIMEOUT_S
    while True:
        if server.poll() is not None:
            pytest.fail(f"postgres exited with {server.returncode}:\n"
                        f"{log.read_text(errors='replace')[-3000:]}")
        try:
            with psycopg.connect(admin, connect_timeout=CONNECT_TIMEOUT_S):
                return
        except psycopg.OperationalError as exc:  # not accepting connections yet
            if time.monotonic() > deadline:
                pytest.fail(f"postgres not ready after {PG_TIMEOUT_S} s ({exc}):\n"
                            f"{log.read_text(errors='replace')[-3000:]}")
        time.sleep(PROBE_INTERVAL_S)  # between connection attempts, the readiness signal


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    bin_dir = _find_bin_dir()
    if bin_dir is None:
        reason = _install_postgresql()
        bin_dir = _find_bin_dir()
        if bin_dir is None:
            pytest.skip(f"PostgreSQL binaries (/usr/lib/postgresql/*/bin) missing: {reason}")
    root = Path(tempfile.mkdtemp(prefix="agent-router-pg-"))
    data, log = root / "data", root / "server.log"
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres", group="postgres")
    port = _free_port()
    try:
        initdb = procs.run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                            "-A", "trust", "-E", "UTF8", "--no-sync"],
                           capture_output=True, text=True, timeout=PG_TIMEOUT_S,
                           **_as_owner(root))
        assert initdb.returncode == 0, initdb.stderr
        server_command = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
                          "-k", str(root), "-c", "listen_addresses=127.0.0.1",
                          "-c", "fsync=off"]
        # SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to leave.
        with log.open("wb") as log_file, procs.started(
            server_command, stop_signal=signal.SIGINT, stdin=subprocess.DEVNULL,
            stdout=log_file, stderr=subprocess.STDOUT, **_as_owner(root),
        ) as server:
            admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
            _wait_until_accepting(server, admin, log)
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {DB_NAME}")
            yield f"postgresql://postgres@127.0.0.1:{port}/{DB_NAME}"
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def test_chat_thread_survives_in_postgres(model_path: Path, postgres_url: str) -> None:
    async with open_async_postgres(postgres_url) as saver:
        chat = build_chat().compile(checkpointer=saver)
        written = await chat.ainvoke({"messages": [HumanMessage("Say hello.")]}, THREAD,
                                     context=SHORT)

    async with open_async_postgres(postgres_url) as fresh:
        state = await build_chat().compile(checkpointer=fresh).aget_state(THREAD)

    messages = state.values["messages"]
    assert [m.type for m in messages] == ["human", "ai"]
    assert messages[0].content == "Say hello."
    assert messages[1].content.strip()
    assert messages[1].content == written["messages"][-1].content

    with open_postgres(postgres_url) as sync_saver:
        stored = sync_saver.get_tuple(THREAD)
    assert stored is not None
    assert [m.type for m in stored.checkpoint["channel_values"]["messages"]] == ["human", "ai"]


@pytest.mark.parametrize("variable", ["DATABASE_URL", "POSTGRES_URI"])
async def test_durable_checkpointer_picks_postgres_when_its_url_is_set(
    postgres_url: str, variable: str, tmp_path: Path
) -> None:
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("POSTGRES_URI", None)
    os.environ[variable] = postgres_url

    with durable_checkpointer(tmp_path / "unused.sqlite") as saver:
        assert isinstance(saver, PostgresSaver)
    async with async_durable_checkpointer(tmp_path / "unused.sqlite") as async_saver:
        assert isinstance(async_saver, AsyncPostgresSaver)
    assert not (tmp_path / "unused.sqlite").exists()


async def test_durable_checkpointer_falls_back_to_sqlite(tmp_path: Path) -> None:
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("POSTGRES_URI", None)

    with durable_checkpointer(tmp_path / "sync.sqlite") as saver:
        assert isinstance(saver, SqliteSaver)
    async with async_durable_checkpointer(tmp_path / "async.sqlite") as async_saver:
        assert isinstance(async_saver, AsyncSqliteSaver)
