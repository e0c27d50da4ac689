"""The chat graph checkpointed in a real PostgreSQL server, read back over a new connection.

A throwaway cluster (Debian's ``initdb`` / ``pg_ctl``) runs for the module on a
free 127.0.0.1 port, its socket and data in a temporary folder. ``initdb``
refuses root, so as root the cluster belongs to the ``postgres`` user. Without
the binaries, root with apt installs the ``postgresql`` package; anything else
skips, saying why.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agents.context import Context
from graphs.chat import build_chat
from graphs.persistence import (
    async_durable_checkpointer,
    durable_checkpointer,
    open_async_postgres,
    open_postgres,
)

SHORT = Context(max_answer_tokens=16)
THREAD = {"configurable": {"thread_id": "t"}}
DB_NAME = "agent_router"
APT_TIMEOUT_S = 600
PG_TIMEOUT_S = 60


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
            done = subprocess.run(command, env=env, capture_output=True, text=True,
                                  timeout=APT_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            return f"`{' '.join(command)}` took over {APT_TIMEOUT_S} s"
        if done.returncode != 0:
            return f"`{' '.join(command)}` failed: {done.stderr.strip()[-300:]}"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_owner(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    bin_dir = _find_bin_dir()
    if bin_dir is None:
        reason = _install_postgresql()
        bin_dir = _find_bin_dir()
        if bin_dir is None:
            pytest.skip(f"PostgreSQL binaries (/usr/lib/postgresql/*/bin) missing: {reason}")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without `runuser`: initdb refuses root")
    root = Path(tempfile.mkdtemp(prefix="agent-router-pg-"))
    data, log = root / "data", root / "server.log"
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres", group="postgres")
    port = _free_port()
    subprocess.run(_as_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                              "-A", "trust", "-E", "UTF8", "--no-sync"]),
                   check=True, capture_output=True, timeout=PG_TIMEOUT_S)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = str(bin_dir / "pg_ctl")
    started = subprocess.run(
        _as_owner([pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w",
                   "-t", str(PG_TIMEOUT_S), "start"]),
        capture_output=True, text=True, timeout=PG_TIMEOUT_S + 10, check=False)
    try:
        assert started.returncode == 0, f"{started.stderr}\n{log.read_text(errors='replace')}"
        admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DB_NAME}")
        yield f"postgresql://postgres@127.0.0.1:{port}/{DB_NAME}"
    finally:
        subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True, timeout=PG_TIMEOUT_S, check=False)
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
