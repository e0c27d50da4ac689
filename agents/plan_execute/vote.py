"""Self-consistency over sampled plans: merge the distinct ones, vote on their results.

k plans drawn for one question often repeat; each distinct plan runs once, its
steps laid end to end in one merged plan so that all of them fan out together.
The vote is over what the plans *found* (their tool results' values), not over
how they were written: two plans that compute 266 differently agree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.config import get_stream_writer

from agents.answer_check import key_value
from agents.metrics import NodeMetric, Vote
from agents.plan_execute.state import (
    Candidate,
    PlanExecuteState,
    plan_round,
    ran_cleanly,
    round_results,
)

__all__ = ["choose_result", "join_parts", "merge_plans", "vote"]


def _shifted(plan: Sequence[Mapping[str, Any]], offset: int) -> list[dict[str, Any]]:
    # A plan's ``depends_on`` indexes are its own; laid after ``offset`` steps they move.
    return [{**step, "depends_on": [d + offset for d in step.get("depends_on", [])]}
            for step in plan]


def join_parts(per_part: Sequence[Sequence[Sequence[Mapping[str, Any]]]]
               ) -> list[list[dict[str, Any]]]:
    """Join the i-th plan of every part of a message into the message's i-th plan.

    Each step records its ``part`` (the index of the part it answers). A part with
    fewer plans than another repeats its own in turn; a part with none is left out
    (``write_plan`` plans the message whole instead).
    """
    usable = [(part, plans) for part, plans in enumerate(per_part) if plans]
    joined: list[list[dict[str, Any]]] = []
    for i in range(max((len(plans) for _, plans in usable), default=0)):
        plan: list[dict[str, Any]] = []
        for part, plans in usable:
            plan += [{**step, "part": part}
                     for step in _shifted(plans[i % len(plans)], len(plan))]
        joined.append(plan)
    return joined


def merge_plans(plans: Sequence[Sequence[Mapping[str, Any]]]
                ) -> tuple[list[dict[str, Any]], list[Candidate]]:
    """Return one plan running each distinct plan once, and the candidates it holds.

    ``plans`` are the parsed samples in the order drawn; a plan's ``depends_on``
    indexes are shifted to where its steps land in the merged plan.
    """
    merged: list[dict[str, Any]] = []
    candidates: list[Candidate] = []
    seen: dict[str, int] = {}
    for sample, plan in enumerate(plans):
        key = json.dumps(list(plan), sort_keys=True)
        if key in seen:
            candidates[seen[key]]["samples"].append(sample)
            continue
        seen[key] = len(candidates)
        offset = len(merged)
        merged += _shifted(plan, offset)
        candidates.append(Candidate(steps=list(range(offset, len(merged))), samples=[sample]))
    return merged, candidates


def _outcome(outputs: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(key_value(output) or output.strip() for output in outputs))


def vote(candidates: Sequence[Candidate],
         results: Mapping[int, Mapping[str, Any]]) -> Vote:
    """Pick the candidate whose results most samples agree on.

    Only candidates that ran cleanly vote (``ran_cleanly``: a plan with no steps
    does too), with one vote per sample that drew them. Ties go to the outcome drawn first (with
    greedy decoding first, that is the model's own best guess). With no usable
    candidate, the first one drawn wins with no votes.
    """
    tally: dict[tuple[str, ...], list[int]] = {}
    for index, candidate in enumerate(candidates):
        if not ran_cleanly(candidate, results):
            continue
        outcome = _outcome([str(results[step]["output"]) for step in candidate["steps"]])
        tally.setdefault(outcome, []).append(index)
    total = sum(len(c["samples"]) for c in candidates)
    if not tally:
        return Vote(winner=0, votes=0, margin=0, samples=total, outcomes=0, usable=0)

    def strength(members: list[int]) -> tuple[int, int]:
        votes = sum(len(candidates[i]["samples"]) for i in members)
        first = min(min(candidates[i]["samples"]) for i in members)
        return votes, -first

    ranked = sorted(tally.values(), key=strength, reverse=True)
    top = strength(ranked[0])[0]
    runner_up = strength(ranked[1])[0] if len(ranked) > 1 else 0
    winner = min(ranked[0], key=lambda i: min(candidates[i]["samples"]))
    usable = sum(len(candidates[i]["samples"]) for members in ranked for i in members)
    return Vote(winner=winner, votes=top, margin=top - runner_up, samples=total,
                outcomes=len(ranked), usable=usable)


async def choose_result(state: PlanExecuteState) -> dict[str, Any]:
    """Vote among the candidate plans on their results; record the vote and its margin."""
    candidates = state.get("candidates", [])
    outcome = vote(candidates, round_results(state))
    get_stream_writer()({"event": "vote", "round": plan_round(state), **outcome})
    metric = NodeMetric(node="choose_result", backend="vote", latency_ms=0.0, prompt_tokens=0,
                        completion_tokens=0, cached_tokens=0, status="ok", vote=outcome)
    return {"vote": outcome, "metrics": [metric]}
