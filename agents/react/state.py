"""State of the tool-calling (ReAct) agent graph."""

from __future__ import annotations

import operator
from typing import Annotated, NotRequired

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from langgraph.managed import RemainingSteps

# Pydantic (and so LangGraph's schema export) needs typing_extensions' TypedDict on 3.11.
from typing_extensions import TypedDict

from agents.metrics import NodeMetric

__all__ = ["ReactInput", "ReactOutput", "ReactState"]


class ReactInput(TypedDict):
    """A conversation; the last user message is the request."""

    messages: Annotated[list[AnyMessage], add_messages]


class ReactOutput(TypedDict):
    """The conversation with the agent's turns, its answer, and what each call cost."""

    messages: list[AnyMessage]
    answer: str
    steps: int
    metrics: list[NodeMetric]
    summary: dict[str, dict[str, float]]


class ReactState(TypedDict):
    """Everything the agent's nodes read and write."""

    messages: Annotated[list[AnyMessage], add_messages]
    steps: NotRequired[int]
    answer: NotRequired[str]
    metrics: Annotated[list[NodeMetric], operator.add]
    summary: NotRequired[dict[str, dict[str, float]]]
    remaining_steps: RemainingSteps
