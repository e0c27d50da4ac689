"""State schemas of the plan-and-execute graph.

Lists that several nodes (or parallel branches) add to use ``operator.add`` as
their reducer; nodes return new lists, never mutate the ones they were given.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, NotRequired

# Pydantic (and so LangGraph's schema export) needs typing_extensions' TypedDict on 3.11.
from typing_extensions import TypedDict

from agents.metrics import NodeMetric
from tools.runner import ToolResult

__all__ = [
    "PlanExecuteInput",
    "PlanExecuteOutput",
    "PlanExecuteState",
    "PlanStep",
    "StepInput",
    "StepResult",
    "planned_steps",
]


class PlanStep(TypedDict):
    """One tool call the planner asked for."""

    tool: str
    args: dict[str, Any]


class StepResult(ToolResult):
    """A tool result together with the plan step it answers."""

    step: int


class PlanExecuteInput(TypedDict):
    """What a caller sends: the question."""

    question: str


class PlanExecuteOutput(TypedDict):
    """What a caller gets back."""

    answer: str
    plan: list[PlanStep]
    tool_results: list[StepResult]
    metrics: list[NodeMetric]
    problems: list[str]


class PlanExecuteState(TypedDict):
    """Everything the graph's nodes read and write."""

    question: str
    plan: NotRequired[list[PlanStep]]
    tool_results: Annotated[list[StepResult], operator.add]
    metrics: Annotated[list[NodeMetric], operator.add]
    problems: Annotated[list[str], operator.add]
    answer: NotRequired[str]


class StepInput(TypedDict):
    """What one parallel ``execute_step`` branch receives through ``Send``."""

    index: int
    step: PlanStep


def planned_steps(state: PlanExecuteState) -> list[PlanStep]:
    """Return the plan's steps, or none before a plan exists."""
    return state.get("plan", [])
