"""Nodes of the plan-and-execute graph: plan, run steps in dependency waves, answer.

Steps whose inputs are ready run together, up to ``max_concurrency``; a step that
needs earlier results first has its arguments drafted from them on the drafter
chain, so the drafts of one wave reach a batching server at the same time. A
round with a failed step is replanned, at most ``max_replans`` times.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from langgraph.types import Send
from pydantic import BaseModel, ValidationError

from agents.approval import ask_approval, needs_approval
from agents.context import Context, run_context
from agents.llm import call_model
from agents.metrics import NodeMetric, summarize
from agents.planning import dependency_problems, plan_model, planner_system, select_tools
from agents.prompts import (
    ANSWER_EXAMPLE,
    ANSWER_SYSTEM,
    DRAFT_SYSTEM,
    answer_request,
    draft_request,
    plan_request,
    replan_request,
)
from agents.state import (
    PlanExecuteState,
    PlanStep,
    StepInput,
    StepResult,
    plan_round,
    planned_steps,
    round_results,
)
from backends.base import JsonSchema
from backends.config import GenerationParams
from tools.registry import TOOLS
from tools.runner import ToolResult, run_tool

__all__ = ["execute_step", "route_steps", "schedule_steps", "write_answer", "write_plan"]

# A plan of MAX_PLAN_STEPS short steps fits well within this; it only stops runaways.
PLAN_MAX_TOKENS = 400
DRAFT_MAX_TOKENS = 200
# The answer is one sentence: stopping at the line end keeps small models from
# looping. (A repetition penalty would also stop them copying the tool's numbers.)
ANSWER_STOP = ("\n",)


def _failures(state: PlanExecuteState) -> list[tuple[str, dict[str, Any], str]]:
    return [(r["tool"], r["args"], r["output"]) for r in round_results(state).values()
            if r["status"] == "error"]


async def write_plan(state: PlanExecuteState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the planner chain for a JSON plan; after a failed round, for a new one."""
    context = run_context(runtime.context)
    tool_names = select_tools(context.tools)
    schema = plan_model(tool_names, context.max_plan_steps)
    replanning = "plan" in state
    request = (replan_request(state["question"], _failures(state)) if replanning
               else plan_request(state["question"]))
    reply, metric = await call_model(
        "write_plan", chain=context.planner_backend, key="planner_backend",
        params=GenerationParams(temperature=context.temperature, max_tokens=PLAN_MAX_TOKENS),
        messages=[SystemMessage(planner_system(tool_names)), HumanMessage(request)],
        constraint=JsonSchema(schema), local_only=context.local_only,
    )
    next_round = plan_round(state) + 1 if replanning else 0
    try:
        parsed = schema.model_validate_json(str(reply.content))
    except ValidationError as exc:
        # Decoding is constrained, so this means the reply was cut off (token limit).
        problem = f"the planner's reply is not a valid plan: {exc.errors()[0]['msg']}"
        return {"plan": [], "round": next_round, "problems": [problem], "metrics": [metric]}
    plan: list[PlanStep] = parsed.model_dump()["steps"]
    problems = dependency_problems(plan)
    if problems:
        return {"plan": [], "round": next_round, "metrics": [metric],
                "problems": [f"unusable plan: {p}" for p in problems]}
    get_stream_writer()({"event": "plan_ready", "round": next_round, "steps": plan})
    return {"plan": plan, "round": next_round, "metrics": [metric]}


async def schedule_steps(state: PlanExecuteState) -> dict[str, Any]:
    """Join a wave of parallel steps and report progress (``route_steps`` picks what next)."""
    done, total = len(round_results(state)), len(planned_steps(state))
    get_stream_writer()({"event": "steps_done", "done": done, "total": total})
    return {}


def route_steps(
    state: PlanExecuteState, runtime: Runtime[Context]
) -> list[Send] | Literal["write_answer", "write_plan"]:
    """Send the next wave of ready steps, replan a failed round, or answer."""
    context = run_context(runtime.context)
    steps, results = planned_steps(state), round_results(state)
    if len(results) == len(steps):
        failed = any(r["status"] == "error" for r in results.values())
        return "write_plan" if failed and plan_round(state) < context.max_replans \
            else "write_answer"
    ready = [i for i, step in enumerate(steps)
             if i not in results and set(step["depends_on"]) <= set(results)]
    return [Send("execute_step", StepInput(
        index=i, round=plan_round(state), step=steps[i],
        inputs=[results[d] for d in steps[i]["depends_on"]]))
        for i in ready[:max(1, context.max_concurrency)]]


def _args_schema(tool: str) -> type[BaseModel]:
    schema = TOOLS[tool].args_schema
    assert isinstance(schema, type) and issubclass(schema, BaseModel)
    return schema


async def _draft_args(step: PlanStep, inputs: list[StepResult],
                      context: Context) -> tuple[dict[str, Any], NodeMetric]:
    schema = _args_schema(step["tool"])
    reply, metric = await call_model(
        "draft_step", chain=context.drafter_backend, key="drafter_backend",
        params=GenerationParams(temperature=context.temperature, max_tokens=DRAFT_MAX_TOKENS),
        messages=[SystemMessage(DRAFT_SYSTEM), HumanMessage(draft_request(
            step["tool"], step["args"],
            [(r["step"], r["tool"], r["args"], r["output"]) for r in inputs]))],
        constraint=JsonSchema(schema), local_only=context.local_only,
    )
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


def _answer_inputs(state: PlanExecuteState) -> list[tuple[str, dict[str, Any], str, str]]:
    # The last round's results, plus what earlier rounds got right.
    current = plan_round(state)
    kept = [r for r in state.get("tool_results", [])
            if r["round"] == current or r["status"] == "ok"]
    kept.sort(key=lambda r: (r["round"], r["step"]))
    return [(r["tool"], r["args"], r["status"], r["output"]) for r in kept]


async def write_answer(state: PlanExecuteState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Write the final answer from the question and the tool results."""
    context = run_context(runtime.context)
    request = answer_request(state["question"], _answer_inputs(state))
    example_question, example_answer = ANSWER_EXAMPLE
    messages = [SystemMessage(ANSWER_SYSTEM), HumanMessage(example_question),
                AIMessage(example_answer), HumanMessage(request)]
    reply, metric = await call_model(
        "write_answer", chain=context.answer_backend, key="answer_backend",
        params=GenerationParams(temperature=context.temperature,
                                max_tokens=context.max_answer_tokens, stop=ANSWER_STOP),
        messages=messages, local_only=context.local_only,
    )
    summary = summarize([*state.get("metrics", []), metric])
    return {"answer": str(reply.content).strip(), "metrics": [metric], "summary": summary}
