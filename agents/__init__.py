"""Node logic of the agent graphs: prompts, planning, tool steps, answers, metrics."""

from agents.context import Context, run_context
from agents.metrics import NodeMetric, summarize
from agents.state import PlanExecuteInput, PlanExecuteOutput, PlanExecuteState

__all__ = [
    "Context",
    "NodeMetric",
    "PlanExecuteInput",
    "PlanExecuteOutput",
    "PlanExecuteState",
    "run_context",
    "summarize",
]
