"""Plan-and-execute: a JSON plan, its tool calls in parallel, then an answer.

START -> write_plan -(one Send per step)-> execute_step -> write_answer -> END
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agents.context import Context
from agents.plan_execute import execute_step, route_steps, write_answer, write_plan
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
    builder.add_node("write_answer", sync_and_async(write_answer))
    builder.add_edge(START, "write_plan")
    builder.add_conditional_edges("write_plan", route_steps, ["execute_step", "write_answer"])
    builder.add_edge("execute_step", "write_answer")
    builder.add_edge("write_answer", END)
    return builder


graph = build_plan_execute().compile(name="plan_execute")
