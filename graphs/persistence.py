"""Compile a graph with a durable SQLite checkpointer, so threads survive restarts.

Sync graphs (``graph.invoke``) use ``SqliteSaver``; async ones (``ainvoke``,
``astream``) need ``AsyncSqliteSaver``, because the sync saver refuses async calls::

    chat = compile_with_sqlite(build_chat(), "chat.sqlite")
    chat.invoke({"messages": [("user", "Hi")]}, {"configurable": {"thread_id": "t"}})

    async with open_async_sqlite("chat.sqlite") as saver:
        chat = build_chat().compile(checkpointer=saver)
        await chat.ainvoke(...)
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph

__all__ = ["compile_with_sqlite", "open_async_sqlite", "open_sqlite"]


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
