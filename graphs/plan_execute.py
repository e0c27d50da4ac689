"""Plan-and-execute: a JSON plan, its steps in parallel dependency waves, an answer.

START -> write_plan -(Send per ready step)-> execute_step -> schedule_steps
      -> (next wave | write_plan to replan | write_answer) ; write_answer -> END
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agents.context import Context
from agents.plan_execute import (
    execute_step,
    route_steps,
    schedule_steps,
    write_answer,
    write_plan,
)
from agents.state import PlanExecuteInput, PlanExecuteOutput, PlanExecuteState, StepInput
from agents.sync import sync_and_async

__all__ = ["build_plan_execute", "graph"]


PlanExecuteBuilder = StateGraph[PlanExecuteState, Context, PlanExecuteInput, PlanExecuteOutput]


def build_plan_execute() -> PlanExecuteBuilder:
    """Return the uncompiled plan-and-execute graph."""
    builder = StateGraph(
        PlanExecuteState,
        context_schema=Context,
        input_schema=PlanExecuteInput,
        output_schema=PlanExecuteOutput,
    )
    builder.add_node("write_plan", sync_and_async(write_plan))
    builder.add_node("execute_step", sync_and_async(execute_step), input_schema=StepInput)
    builder.add_node("schedule_steps", sync_and_async(schedule_steps))
    builder.add_node("write_answer", sync_and_async(write_answer))
    builder.add_edge(START, "write_plan")
    # Parallel branches meet in schedule_steps, so the next wave is decided once.
    builder.add_edge("execute_step", "schedule_steps")
    # A fresh plan has no results yet, so it can only start steps or, if empty, answer.
    builder.add_conditional_edges("write_plan", route_steps, ["execute_step", "write_answer"])
    builder.add_conditional_edges("schedule_steps", route_steps,
                                  ["execute_step", "write_plan", "write_answer"])
    builder.add_edge("write_answer", END)
    return builder


# One plan, at most 8 steps in as many waves (2 supersteps each), replanned at most
# 3 times, then the answer: well under this, so hitting it means a bug, not a budget.
RECURSION_LIMIT = 100

graph = build_plan_execute().compile(name="plan_execute").with_config(
    recursion_limit=RECURSION_LIMIT)
