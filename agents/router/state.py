"""State of the router graph: the request, where it went and why, the answer."""

from __future__ import annotations

import operator
from typing import Annotated, NotRequired

# Pydantic (and so LangGraph's schema export) needs typing_extensions' TypedDict on 3.11.
from typing_extensions import TypedDict

from agents.metrics import NodeMetric

__all__ = ["RouteDecision", "RouterInput", "RouterOutput", "RouterState"]


class RouteDecision(TypedDict):
    """Where the router sent a request, and why."""

    route: str
    # The kind of request the classifier named (agents.router.prompts.REQUEST_KINDS).
    kind: str
    complexity: str
    reason: str
    local_only: bool
    # The chain a complex or rejected answer goes to; "" when there is none to use.
    escalate_to: str


class RouterInput(TypedDict):
    """A request, optionally marked as sensitive (then only local backends see it)."""

    request: str
    sensitive: NotRequired[bool]


class RouterOutput(TypedDict):
    """The answer and how it was reached."""

    answer: str
    decision: RouteDecision
    verdict: str
    escalated: bool
    metrics: list[NodeMetric]
    summary: dict[str, dict[str, float]]


class RouterState(TypedDict):
    """Everything the router's nodes read and write."""

    request: str
    sensitive: NotRequired[bool]
    decision: NotRequired[RouteDecision]
    answer: NotRequired[str]
    verdict: NotRequired[str]
    escalated: NotRequired[bool]
    metrics: Annotated[list[NodeMetric], operator.add]
    summary: NotRequired[dict[str, dict[str, float]]]
