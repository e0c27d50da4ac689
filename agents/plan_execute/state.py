"""State of the plan-and-execute graph, and the named helpers that read it.

Lists that several nodes (or parallel branches) add to use ``operator.add`` as
their reducer; nodes return new lists, never mutate the ones they were given.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Annotated, Any, Literal, NotRequired

# Pydantic (and so LangGraph's schema export) needs typing_extensions' TypedDict on 3.11.
from typing_extensions import TypedDict

from agents.metrics import NodeMetric, Vote
from tools.runner import ToolResult

__all__ = [
    "Candidate",
    "PlanExecuteInput",
    "PlanExecuteOutput",
    "PlanExecuteState",
    "PlanProblem",
    "PlanStep",
    "ProblemKind",
    "StepInput",
    "StepResult",
    "Vote",
    "answered_parts",
    "chosen_results",
    "describe_problem",
    "plan_round",
    "ran_cleanly",
    "planned_steps",
    "round_results",
    "unanswered_parts",
]


class PlanStep(TypedDict):
    """One tool call the planner asked for, after the steps whose results it needs."""

    tool: str
    args: dict[str, Any]
    depends_on: list[int]
    # Which part of a split message the step answers; absent when planned whole.
    part: NotRequired[int]


class StepResult(ToolResult):
    """A tool result together with the plan round and step it answers."""

    round: int
    step: int


class Candidate(TypedDict):
    """One distinct sampled plan: where its steps sit in the merged plan, who drew it."""

    steps: list[int]
    samples: list[int]


# cut_off: the reply stopped at its token limit; invalid: it does not parse as a plan
# (decoding is constrained, so it was cut short too); unusable: it parses, but a step
# depends on a step that does not come before it; repeated: a replan that calls the
# tools exactly as a plan that failed did; too_long: the prompt does not fit the
# planner's context window, even without worked examples.
ProblemKind = Literal["cut_off", "invalid", "unusable", "repeated", "too_long"]


class PlanProblem(TypedDict):
    """Why one draw of the planner gave no plan to run."""

    kind: ProblemKind
    round: int
    # "" for the message as asked, "part 2" for a part of a split message,
    # "whole message" when a split message is planned whole after a part failed.
    scope: str
    attempt: int
    detail: str


def describe_problem(problem: PlanProblem) -> str:
    """Render ``problem`` as one line: where it happened, then what went wrong."""
    scope = f"{problem['scope']}, " if problem["scope"] else ""
    return f"round {problem['round']}, {scope}attempt {problem['attempt']}: {problem['detail']}"


class PlanExecuteInput(TypedDict):
    """What a caller sends: the question."""

    question: str


class PlanExecuteOutput(TypedDict):
    """What a caller gets back."""

    answer: str
    plan: list[PlanStep]
    tool_results: list[StepResult]
    metrics: list[NodeMetric]
    problems: list[PlanProblem]
    round: int
    summary: dict[str, dict[str, float]]
    candidates: list[Candidate]
    vote: Vote
    parts: list[str]


class PlanExecuteState(TypedDict):
    """Everything the graph's nodes read and write."""

    question: str
    # The message's separate questions, each planned on its own; [question] when whole.
    parts: NotRequired[list[str]]
    plan: NotRequired[list[PlanStep]]
    tool_results: Annotated[list[StepResult], operator.add]
    metrics: Annotated[list[NodeMetric], operator.add]
    problems: Annotated[list[PlanProblem], operator.add]
    round: NotRequired[int]
    answer: NotRequired[str]
    summary: NotRequired[dict[str, dict[str, float]]]
    candidates: NotRequired[list[Candidate]]
    vote: NotRequired[Vote]


class StepInput(TypedDict):
    """What one parallel ``execute_step`` branch receives through ``Send``."""

    index: int
    round: int
    step: PlanStep
    inputs: list[StepResult]


def planned_steps(state: PlanExecuteState) -> list[PlanStep]:
    """Return the plan's steps, or none before a plan exists."""
    return state.get("plan", [])


def plan_round(state: PlanExecuteState) -> int:
    """Return the current plan's round: 0 for the first plan, +1 per replan."""
    return state.get("round", 0)


def round_results(state: PlanExecuteState, round_number: int | None = None
                  ) -> dict[int, StepResult]:
    """Return a round's results by step index: the current round's unless one is named."""
    wanted = plan_round(state) if round_number is None else round_number
    return {r["step"]: r for r in state.get("tool_results", []) if r["round"] == wanted}


def ran_cleanly(candidate: Candidate, results: Mapping[int, Mapping[str, object]]) -> bool:
    """Whether every step of a candidate plan has run and succeeded.

    A plan with no steps (no tool needed) qualifies: it is usable, and it votes.
    """
    return all(step in results and results[step]["status"] == "ok"
               for step in candidate["steps"])


def chosen_results(state: PlanExecuteState) -> list[tuple[int, StepResult]]:
    """Return (step index, result) for each step of the voted-for plan that has run."""
    candidates, results = state.get("candidates", []), round_results(state)
    if not candidates:
        return []
    winner = candidates[state["vote"]["winner"] if "vote" in state else 0]
    return [(i, results[i]) for i in winner["steps"] if i in results]


def _results_by_part(state: PlanExecuteState) -> dict[int, list[StepResult]] | None:
    """Return the chosen plan's results by the part they answer, or None if not split.

    None too when the message was planned whole: no step says which part it answers.
    """
    parts, steps = state.get("parts") or [], state.get("plan", [])
    chosen = chosen_results(state)
    if len(parts) < 2 or any(i >= len(steps) or "part" not in steps[i] for i, _ in chosen):
        return None
    by_part: dict[int, list[StepResult]] = {}
    for i, result in chosen:
        by_part.setdefault(steps[i]["part"], []).append(result)
    return by_part


def _has_ok(results: list[StepResult]) -> bool:
    return any(result["status"] == "ok" for result in results)


def unanswered_parts(state: PlanExecuteState) -> list[str]:
    """Return the parts of a split message that the chosen plan got no result for."""
    by_part = _results_by_part(state)
    if by_part is None:
        return []
    return [part for index, part in enumerate(state["parts"])
            if not _has_ok(by_part.get(index, []))]


def answered_parts(state: PlanExecuteState) -> list[tuple[str, list[StepResult]]]:
    """Return each answered part of a split message with its results ([] if planned whole).

    A part is answered when the chosen plan has an ok result for it; parts come in
    the message's order, each with the chosen plan's results for it.
    """
    by_part = _results_by_part(state)
    if by_part is None:
        return []
    return [(state["parts"][index], by_part[index]) for index in sorted(by_part)
            if _has_ok(by_part[index])]
