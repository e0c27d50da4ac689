"""Run the plan: steps whose inputs are ready go out together, in dependency waves.

Steps whose inputs are ready run together, up to ``max_concurrency``; a step that
needs earlier results first has its arguments drafted from them on the drafter
chain, so the drafts of one wave reach a batching server at the same time. A
round with a failed step is replanned, at most ``max_replans`` times.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from langgraph.types import Send
from pydantic import ValidationError

from agents.approval import ask_approval, needs_approval
from agents.context import Context, run_context
from agents.llm import call_model
from agents.metrics import NodeMetric, failed_call
from agents.plan_execute.prompts import DRAFT_SYSTEM, draft_request
from agents.plan_execute.state import (
    PlanExecuteState,
    PlanStep,
    StepInput,
    StepResult,
    plan_round,
    planned_steps,
    ran_cleanly,
    round_results,
)
from backends.base import JsonSchema
from backends.errors import ContextTooLong, ReplyCutOff
from backends.settings import GenerationParams
from tools.base import args_schema
from tools.registry import TOOLS
from tools.runner import ToolResult, run_tool

__all__ = ["execute_step", "route_steps", "schedule_steps"]

DRAFT_MAX_TOKENS = 200


async def schedule_steps(state: PlanExecuteState) -> dict[str, Any]:
    """Join a wave of parallel steps and report progress (``route_steps`` picks what next)."""
    done, total = len(round_results(state)), len(planned_steps(state))
    get_stream_writer()({"event": "steps_done", "done": done, "total": total})
    return {}


def route_steps(
    state: PlanExecuteState, runtime: Runtime[Context]
) -> list[Send] | Literal["choose_result", "write_plan"]:
    """Send the next wave of ready steps, replan a failed round, or go to the vote.

    A round fails when no plan came back, or when every candidate plan has a
    failed step; one plan that worked is enough to answer from.
    """
    context = run_context(runtime.context)
    steps, results = planned_steps(state), round_results(state)
    if len(results) == len(steps):
        can_replan = plan_round(state) < context.max_replans
        return "write_plan" if can_replan and not _usable(state) else "choose_result"
    ready = [i for i, step in enumerate(steps)
             if i not in results and set(step["depends_on"]) <= set(results)]
    return [Send("execute_step", StepInput(
        index=i, round=plan_round(state), step=steps[i],
        inputs=[results[d] for d in steps[i]["depends_on"]]))
        for i in ready[:max(1, context.max_concurrency)]]


def _usable(state: PlanExecuteState) -> bool:
    # No candidate at all is not usable; one with no steps is (``ran_cleanly``).
    results = round_results(state)
    return any(ran_cleanly(c, results) for c in state.get("candidates", []))


async def _draft_args(step: PlanStep, inputs: list[StepResult],
                      context: Context) -> tuple[dict[str, Any], NodeMetric]:
    schema = args_schema(TOOLS[step["tool"]])
    try:
        reply, metric = await call_model(
            "draft_step", chain=context.drafter_backend, key="drafter_backend",
            params=GenerationParams(temperature=context.temperature,
                                    max_tokens=DRAFT_MAX_TOKENS),
            messages=[SystemMessage(DRAFT_SYSTEM), HumanMessage(draft_request(
                step["tool"], step["args"],
                [(r["step"], r["tool"], r["args"], r["output"]) for r in inputs]))],
            constraint=JsonSchema(schema), local_only=context.local_only,
        )
    except (ReplyCutOff, ContextTooLong) as exc:
        why = "was cut off" if isinstance(exc, ReplyCutOff) else "did not fit the window"
        return step["args"], failed_call("draft_step", exc.backend,
                                         f"the draft {why}; planned arguments used")
    try:
        return schema.model_validate_json(str(reply.content)).model_dump(), metric
    except ValidationError:
        return step["args"], {**metric, "status": "error",
                              "error": "draft was not valid arguments; planned ones used"}


def _not_run(step: PlanStep, why: str) -> ToolResult:
    return ToolResult(tool=step["tool"], args=step["args"], status="error", output=why,
                      latency_ms=0.0)


async def execute_step(step_input: StepInput, runtime: Runtime[Context]) -> dict[str, Any]:
    """Draft one step's arguments from its inputs if it has any, then run its tool.

    Failures become an error result, not an exception; a tool that needs approval
    first pauses the run (see ``agents.approval``).
    """
    context = run_context(runtime.context)
    step, inputs = step_input["step"], step_input["inputs"]
    metrics: list[NodeMetric] = []
    failed_inputs = [r["step"] for r in inputs if r["status"] == "error"]
    if failed_inputs:
        result = _not_run(step, f"not run: step {failed_inputs[0]} it needs failed")
    else:
        args = step["args"]
        if inputs:
            args, draft_metric = await _draft_args(step, inputs, context)
            metrics.append(draft_metric)
        step = {**step, "args": args}
        decision = (ask_approval(step_input["index"], step["tool"], args)
                    if needs_approval(step["tool"], context) else None)
        if decision and decision.action == "reject":
            result = _not_run(step, decision.rejection)
        else:
            result = await run_tool(step["tool"], decision.args_for(args) if decision else args)
    outcome: StepResult = {**result, "round": step_input["round"], "step": step_input["index"]}
    metrics.append(NodeMetric(
        node="execute_step", backend=f"tool:{step['tool']}", latency_ms=result["latency_ms"],
        prompt_tokens=0, completion_tokens=0, cached_tokens=0, status=result["status"]))
    get_stream_writer()({"event": "step_done", "round": step_input["round"],
                         "step": step_input["index"], "status": result["status"]})
    return {"tool_results": [outcome], "metrics": metrics}
