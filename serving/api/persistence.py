"""Open durable checkpointers (SQLite or PostgreSQL), so threads survive restarts.

Sync graphs (``graph.invoke``) use ``SqliteSaver``; async ones (``ainvoke``,
``astream``) need ``AsyncSqliteSaver``, because the sync saver refuses async calls::

    chat = compile_with_sqlite(build_chat(), "chat.sqlite")
    chat.invoke({"messages": [("user", "Hi")]}, {"configurable": {"thread_id": "t"}})

    async with open_async_sqlite("chat.sqlite") as saver:
        chat = build_chat().compile(checkpointer=saver)
        await chat.ainvoke(...)

PostgreSQL works the same way through ``open_postgres`` / ``open_async_postgres``
(tables are created on open). ``durable_checkpointer`` and
``async_durable_checkpointer`` choose for you: PostgreSQL when ``DATABASE_URL``
or ``POSTGRES_URI`` is set (read by ``backends.config.postgres_url``), else the
SQLite file you name::

    async with async_durable_checkpointer("chat.sqlite") as saver:
        chat = build_chat().compile(checkpointer=saver)
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph

from backends.config import postgres_url

__all__ = [
    "async_durable_checkpointer",
    "compile_with_sqlite",
    "durable_checkpointer",
    "open_async_postgres",
    "open_async_sqlite",
    "open_postgres",
    "open_sqlite",
]


@contextmanager
def open_sqlite(path: str | Path) -> Iterator[SqliteSaver]:
    """Open a sync checkpointer on the SQLite file ``path``; close it on exit."""
    # Graphs run checkpoint writes from worker threads; SqliteSaver serialises them.
    with closing(sqlite3.connect(str(path), check_same_thread=False)) as conn:
        yield SqliteSaver(conn)


def compile_with_sqlite(
    builder: StateGraph[Any, Any, Any, Any], path: str | Path, *, name: str | None = None
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compile ``builder`` with a sync checkpointer on the SQLite file ``path``.

    The connection lives as long as the returned graph and is closed when the
    graph is collected or the interpreter exits. Use ``open_sqlite`` to bound it
    yourself.
    """
    conn = sqlite3.connect(str(path), check_same_thread=False)
    compiled = builder.compile(checkpointer=SqliteSaver(conn), name=name)
    weakref.finalize(compiled, conn.close)
    return compiled


@asynccontextmanager
async def open_async_sqlite(path: str | Path) -> AsyncIterator[AsyncSqliteSaver]:
    """Open an async checkpointer on the SQLite file ``path``; close it on exit."""
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        yield saver


@contextmanager
def open_postgres(url: str) -> Iterator[PostgresSaver]:
    """Open a sync checkpointer on the PostgreSQL database ``url``, creating its tables."""
    with PostgresSaver.from_conn_string(url) as saver:
        saver.setup()
        yield saver


@asynccontextmanager
async def open_async_postgres(url: str) -> AsyncIterator[AsyncPostgresSaver]:
    """Open an async checkpointer on the PostgreSQL database ``url``, creating its tables."""
    async with AsyncPostgresSaver.from_conn_string(url) as saver:
        await saver.setup()
        yield saver


@contextmanager
def durable_checkpointer(sqlite_path: str | Path) -> Iterator[BaseCheckpointSaver[Any]]:
    """Open a sync checkpointer: PostgreSQL if its URL is configured, else ``sqlite_path``."""
    url = postgres_url()
    if url:
        with open_postgres(url) as saver:
            yield saver
    else:
        with open_sqlite(sqlite_path) as lite:
            yield lite


@asynccontextmanager
async def async_durable_checkpointer(
    sqlite_path: str | Path,
) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """Open an async checkpointer: PostgreSQL if its URL is configured, else ``sqlite_path``."""
    url = postgres_url()
    if url:
        async with open_async_postgres(url) as saver:
            yield saver
    else:
        async with open_async_sqlite(sqlite_path) as lite:
            yield lite
