"""The plan-and-execute graph's state, nodes, route functions and prompts.

One round: ``split`` (the message's questions) → ``plan`` (a JSON plan per
question, ``plan_samples`` of them, merged) → ``steps`` (tool steps in
dependency waves) → ``vote`` (the result most plans agree on) → ``answer``.
"""

from agents.plan_execute.answer import write_answer
from agents.plan_execute.plan import write_plan
from agents.plan_execute.split import split_question
from agents.plan_execute.state import (
    PlanExecuteInput,
    PlanExecuteOutput,
    PlanExecuteState,
    PlanProblem,
    StepInput,
)
from agents.plan_execute.steps import execute_step, route_steps, schedule_steps
from agents.plan_execute.vote import choose_result

__all__ = [
    "PlanExecuteInput",
    "PlanExecuteOutput",
    "PlanExecuteState",
    "PlanProblem",
    "StepInput",
    "choose_result",
    "execute_step",
    "route_steps",
    "schedule_steps",
    "split_question",
    "write_answer",
    "write_plan",
]
