"""Shared building blocks for tools: risk metadata, argument base model, tool factory.

Every tool is a LangChain ``StructuredTool`` wrapping an async function, so
``bind_tools`` and LangGraph's ``ToolNode`` accept it unchanged. What this
project adds travels in ``tool.metadata``: how risky the tool is, whether it
touches the network, and how long it may run. ``tool_info`` reads it back.

A tool is written once, as a coroutine. ``make_tool`` also gives it a synchronous
body, so ``tool.invoke`` and a ``ToolNode`` under plain ``graph.invoke`` work:
that body runs the same coroutine on one private event loop in a daemon thread
and waits for it. One long-lived loop rather than ``asyncio.run`` per call, so
what a tool keeps per loop (``fetch_url``'s HTTP client) is reused; and a thread of
its own, so ``invoke`` also works where the calling thread already runs a loop.
"""

import asyncio
import functools
import inspect
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeVar, get_args

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, ConfigDict

__all__ = ["Risk", "ToolArgs", "ToolInfo", "args_schema", "make_tool", "run_sync", "tool_info"]

Risk = Literal["safe", "network", "side_effect"]

_INFO_KEYS = ("risk", "network", "timeout_s")

T = TypeVar("T")


@dataclass(frozen=True)
class ToolInfo:
    """What the runner and the graphs need to know about a tool besides its schema."""

    risk: Risk
    network: bool
    timeout_s: float

    def __post_init__(self) -> None:
        if self.risk not in get_args(Risk):
            raise ValueError(f"risk must be one of {get_args(Risk)}, got {self.risk!r}")
        if not isinstance(self.network, bool):
            raise ValueError(f"network must be a bool, got {self.network!r}")
        # bool is an int subclass; True as a timeout is a bug, not one second.
        if isinstance(self.timeout_s, bool) or not isinstance(self.timeout_s, int | float):
            raise ValueError(f"timeout_s must be a number, got {self.timeout_s!r}")
        if not 0 < self.timeout_s < float("inf"):
            raise ValueError(f"timeout_s must be positive and finite, got {self.timeout_s!r}")


class ToolArgs(BaseModel):
    """Base for tool argument schemas: unknown keys are errors, types are never coerced."""

    # A model that misspells an argument must hear about it rather than have
    # it silently dropped, and "5" is not an int.
    model_config = ConfigDict(extra="forbid", strict=True)


def tool_info(tool: BaseTool) -> ToolInfo:
    """Read a tool's ``ToolInfo`` from its metadata.

    Raises:
        ValueError: The tool was not built with ``make_tool`` (metadata keys
            missing or malformed); this is a programming error.
    """
    metadata = tool.metadata or {}
    missing = [key for key in _INFO_KEYS if key not in metadata]
    if missing:
        raise ValueError(
            f"tool {tool.name!r} lacks metadata {', '.join(missing)}; build it with make_tool"
        )
    try:
        return ToolInfo(**{key: metadata[key] for key in _INFO_KEYS})
    except ValueError as exc:
        raise ValueError(f"tool {tool.name!r} has bad metadata: {exc}") from exc


def args_schema(tool: BaseTool) -> type[BaseModel]:
    """Return the pydantic model of ``tool``'s arguments.

    Plans, agent actions, drafts and argument checks are all derived from it.

    Raises:
        TypeError: The tool has no pydantic argument model (it was not built with
            ``make_tool``); this is a programming error.
    """
    schema = tool.args_schema
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        raise TypeError(f"tool {tool.name!r} has no pydantic args schema; build it with "
                        "make_tool")
    return schema


_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _sync_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="tools-sync-loop",
                             daemon=True).start()
        return _loop


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on the tools' private event loop and wait for its result.

    Context variables (LangChain's callbacks, LangGraph's config) travel with it:
    the task is created in a copy of the caller's context.

    Raises:
        RuntimeError: Called from a coroutine on that loop itself, which would
            wait forever for its own loop; await the tool there instead.
    """
    loop = _sync_loop()
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        coroutine.close()
        raise RuntimeError("a tool's sync body was called on the tools' own loop; await it")
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result()


def _sync_body(coroutine: Callable[..., Awaitable[str]]) -> Callable[..., str]:
    async def call(*args: Any, **kwargs: Any) -> str:
        return await coroutine(*args, **kwargs)

    @functools.wraps(coroutine)
    def body(*args: Any, **kwargs: Any) -> str:
        return run_sync(call(*args, **kwargs))

    return body


def make_tool(
    coroutine: Callable[..., Awaitable[str]],
    *,
    name: str,
    description: str,
    args_schema: type[BaseModel],
    risk: Risk,
    network: bool,
    timeout_s: float,
    topics: Sequence[str] = (),
) -> StructuredTool:
    """Build a LangChain tool from an async function and this project's metadata.

    Args:
        coroutine: Async function taking the fields of ``args_schema`` as keyword
            arguments and returning the text shown to the model.
        name: Tool name the model calls.
        description: One or two short sentences written for a small model.
        args_schema: Pydantic model of the arguments, usually a ``ToolArgs`` subclass.
        risk: How much harm a wrong call can do.
        network: Whether the tool talks to the network.
        timeout_s: Seconds the runner lets one call take.
        topics: What the tool is about (``math``, ``web`` ...), for picking by tag.

    Raises:
        TypeError: ``coroutine`` is not an async function.
        ValueError: The metadata is malformed.
    """
    if not inspect.iscoroutinefunction(coroutine):
        raise TypeError(f"tool {name!r}: tools are async functions, got {coroutine!r}")
    info = ToolInfo(risk=risk, network=network, timeout_s=timeout_s)
    metadata: dict[str, Any] = asdict(info)
    return StructuredTool.from_function(
        func=_sync_body(coroutine),
        coroutine=coroutine,
        name=name,
        description=description,
        args_schema=args_schema,
        metadata=metadata,
        # Tags to pick tools by: the risk, whether it needs the network, its topics.
        tags=[risk, "network" if network else "offline", *topics],
    )
