"""Plan-and-execute: a JSON plan, its steps in parallel dependency waves, an answer.

START -> split_question -> write_plan -(Send per ready step)-> execute_step -> schedule_steps
      -> (next wave | write_plan to replan | choose_result) -> write_answer -> END

split_question counts the message's separate questions and asks for them, which
write_plan plans side by side; it draws ``plan_samples`` plans and merges the distinct
ones, so the steps of every candidate fan out together; choose_result votes on their
results; write_answer answers each part from its own results.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agents.context import Context
from agents.plan_execute import (
    PlanExecuteInput,
    PlanExecuteOutput,
    PlanExecuteState,
    StepInput,
    choose_result,
    execute_step,
    route_steps,
    schedule_steps,
    split_question,
    write_answer,
    write_plan,
)
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
    builder.add_node("split_question", sync_and_async(split_question))
    builder.add_node("write_plan", sync_and_async(write_plan))
    builder.add_node("execute_step", sync_and_async(execute_step), input_schema=StepInput)
    builder.add_node("schedule_steps", sync_and_async(schedule_steps))
    builder.add_node("choose_result", sync_and_async(choose_result))
    builder.add_node("write_answer", sync_and_async(write_answer))
    builder.add_edge(START, "split_question")
    builder.add_edge("split_question", "write_plan")
    # Parallel branches meet in schedule_steps, so the next wave is decided once.
    builder.add_edge("execute_step", "schedule_steps")
    # An empty plan (no usable sample) is replanned, or answered as not doable.
    destinations = ["execute_step", "write_plan", "choose_result"]
    builder.add_conditional_edges("write_plan", route_steps, destinations)
    builder.add_conditional_edges("schedule_steps", route_steps, destinations)
    builder.add_edge("choose_result", "write_answer")
    builder.add_edge("write_answer", END)
    return builder


# Up to 8 sampled plans of 8 steps, run one at a time at worst (2 supersteps a step),
# in at most 4 rounds, plus the vote and the answer: hitting this means a bug.
RECURSION_LIMIT = 2 * 8 * 8 * 4 + 10

graph = build_plan_execute().compile(name="plan_execute").with_config(
    recursion_limit=RECURSION_LIMIT)
