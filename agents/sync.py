"""Let ``graph.invoke`` run nodes that are written once, as coroutines.

Nodes are async so ``langgraph dev`` and ``ainvoke`` never block the event loop.
For plain ``graph.invoke`` each node also gets a synchronous twin that runs the
same coroutine on one long-lived background event loop. One loop, not
``asyncio.run`` per call, so the HTTP connection pools cached per loop in
``backends.chat`` are reused across calls instead of rebuilt every time.

Only public API is used. ``langchain_core.runnables.RunnableLambda(func, afunc=...)``
is the documented way to give one runnable a sync and an async body, and LangGraph
runs a runnable node through ``invoke`` under ``graph.invoke`` and ``ainvoke``
under ``ainvoke``/``astream``/``langgraph dev``. What ``RunnableLambda`` does not do
is LangGraph's keyword injection (``runtime``, ``config``, ``writer``, ``store``):
that lives in the private ``langgraph._internal._runnable.RunnableCallable``, which
this module used before. So the wrappers take only the state and fetch each
keyword the node declares from the public accessors ``langgraph.runtime.get_runtime``
and ``langgraph.config.get_config`` / ``get_stream_writer`` / ``get_store``. They
read the config LangGraph sets for the running node, the same place the private
injection reads it from. A node asking for any other keyword is refused when it is
wrapped, not when it first runs. tests/unit/test_sync.py covers both bodies, the
injected keywords, custom stream events, interrupts and ``Send`` with an input schema.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from langchain_core.runnables import RunnableLambda
from langgraph.config import get_config, get_store, get_stream_writer
from langgraph.runtime import get_runtime

__all__ = ["run_on_background_loop", "sync_and_async"]

T = TypeVar("T")

# The keywords a node may declare after its state, and where each is read from.
_INJECTED: dict[str, Callable[[], Any]] = {
    "runtime": get_runtime,
    "config": get_config,
    "writer": get_stream_writer,
    "store": get_store,
}

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


def _injected_keywords(node: Callable[..., Any]) -> tuple[str, ...]:
    """Return the keywords ``node`` declares after its state, checking each is known."""
    _state, *rest = inspect.signature(node).parameters.values()
    unknown = [parameter.name for parameter in rest if parameter.name not in _INJECTED]
    if unknown:
        raise TypeError(f"node {node.__name__} asks for {unknown}; sync_and_async can "
                        f"only pass the state and {sorted(_INJECTED)}")
    return tuple(parameter.name for parameter in rest)


def sync_and_async(node: Callable[..., Coroutine[Any, Any, Any]]) -> RunnableLambda[Any, Any]:
    """Wrap an async node so the graph can run it from both ``invoke`` and ``ainvoke``.

    Raises:
        TypeError: ``node`` declares a parameter LangGraph cannot provide.
    """
    keywords = _injected_keywords(node)

    def call(state: Any) -> Coroutine[Any, Any, Any]:
        return node(state, **{name: _INJECTED[name]() for name in keywords})

    # Plain one-argument functions: RunnableLambda passes ``config`` or ``run_manager``
    # only to functions that declare them, and the node's keywords are filled above.
    def run_sync(state: Any) -> Any:
        return run_on_background_loop(call(state))

    async def run_async(state: Any) -> Any:
        return await call(state)

    return RunnableLambda(run_sync, afunc=run_async, name=node.__name__)
