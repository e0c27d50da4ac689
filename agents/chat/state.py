"""State of the chat graph: a thread's whole conversation and the metrics of its calls."""

from __future__ import annotations

import operator
from typing import Annotated, NotRequired

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

# Pydantic (and so LangGraph's schema export) needs typing_extensions' TypedDict on 3.11.
from typing_extensions import TypedDict

from agents.metrics import NodeMetric

__all__ = ["ChatInput", "ChatOutput", "ChatState"]


class ChatInput(TypedDict):
    """What a caller sends: the new message(s); Studio's chat form fills this key."""

    messages: Annotated[list[AnyMessage], add_messages]


class ChatOutput(TypedDict):
    """The whole conversation of the thread and the metrics of its calls."""

    messages: list[AnyMessage]
    metrics: list[NodeMetric]
    summary: dict[str, dict[str, float]]


class ChatState(TypedDict):
    """A thread's conversation (kept whole by the checkpointer) and its metrics."""

    messages: Annotated[list[AnyMessage], add_messages]
    metrics: Annotated[list[NodeMetric], operator.add]
    summary: NotRequired[dict[str, dict[str, float]]]
