"""Checks of a drawn plan against its question and the rounds before it.

A plan that fails one is refused before it runs, and the planner is asked again
with the reason (``write_plan``): the checks judge a plan, they never write one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from agents.numbers import Number, numbers_in
from agents.plan_execute.state import PlanExecuteState, ran_cleanly, round_results
from tools.unit_names import Unit, known_unit

__all__ = ["dependency_problems", "failed_plans", "plan_calls", "reversed_conversions"]


def dependency_problems(steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return why a plan's dependencies are unusable: each must name an earlier step."""
    return [f"step {i} depends on step {d}, which does not come before it"
            for i, step in enumerate(steps) for d in step.get("depends_on", []) if d >= i]


def _unit_after(question: str, number: Number) -> Unit | None:
    # The longest run of up to three words after the number that names a unit:
    # "9 kilometres in miles" is km, not "in" (inches).
    words = question[number.end:number.end + 60].split()[:3]
    for count in range(len(words), 0, -1):
        unit = known_unit(" ".join(words[:count]).rstrip(".,;:!?"))
        if unit is not None:
            return unit
    return None


def reversed_conversions(question: str, steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return the unit_convert steps that convert a value from the unit it is asked in.

    "How far is 9 kilometres in miles?" planned as 9 miles to kilometres: the question
    writes the value with the step's to_unit, and never with its from_unit.
    """
    problems = []
    for i, step in enumerate(steps):
        if step["tool"] != "unit_convert":
            continue
        args = step["args"]
        source, target = known_unit(args["from_unit"]), known_unit(args["to_unit"])
        if source is None or target is None:
            continue  # the tool says what is wrong with the names
        written = {unit.symbol for number in numbers_in(question)
                   if number.value == args["value"]
                   and (unit := _unit_after(question, number)) is not None}
        if target.symbol in written and source.symbol not in written:
            problems.append(
                f"step {i} converts {args['value']:g} from {args['from_unit']} to "
                f"{args['to_unit']}, but the question gives {args['value']:g} in "
                f"{target.symbol}: from_unit is the unit the value is given in")
    return problems


def plan_calls(steps: Sequence[Mapping[str, Any]]) -> str:
    """Return what a plan would do, its tool calls in order, as one comparable string."""
    return json.dumps([[step["tool"], step["args"]] for step in steps], sort_keys=True)


def failed_plans(state: PlanExecuteState) -> frozenset[str]:
    """Return the tool calls of each plan of the last round that had a failed step.

    A plan without steps is never among them: it ran cleanly (``ran_cleanly``).
    """
    steps, results = state.get("plan", []), round_results(state)
    return frozenset(plan_calls([steps[i] for i in candidate["steps"]])
                     for candidate in state.get("candidates", [])
                     if not ran_cleanly(candidate, results))
