"""Let ``graph.invoke`` run nodes that are written once, as coroutines.

Nodes are async so ``langgraph dev`` and ``ainvoke`` never block the event loop.
For plain ``graph.invoke`` each node also gets a synchronous twin that runs the
same coroutine on one long-lived background event loop. One loop, not
``asyncio.run`` per call, so the HTTP connection pools cached per loop in
``backends.chat`` are reused across calls instead of rebuilt every time.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

# LangGraph's own ToolNode is built on RunnableCallable(func, afunc); it is the only
# way to give one node both a sync and an async body. Covered by tests/unit/test_sync.py.
from langgraph._internal._runnable import RunnableCallable

__all__ = ["run_on_background_loop", "sync_and_async"]

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(
                target=_loop.run_forever, name="agent-router-sync-loop", daemon=True
            ).start()
        return _loop


def run_on_background_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on the shared background loop and wait for its result.

    Context variables (LangGraph's config, stream writer) travel with it, because
    ``run_coroutine_threadsafe`` schedules the task in a copy of the caller's context.
    """
    return asyncio.run_coroutine_threadsafe(coroutine, _background_loop()).result()


def sync_and_async(node: Callable[..., Coroutine[Any, Any, Any]]) -> RunnableCallable:
    """Wrap an async node so the graph can run it from both ``invoke`` and ``ainvoke``."""

    @functools.wraps(node)
    def run_sync(*args: Any, **kwargs: Any) -> Any:
        return run_on_background_loop(node(*args, **kwargs))

    return RunnableCallable(run_sync, node, name=node.__name__)
