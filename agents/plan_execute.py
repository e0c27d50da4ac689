"""Nodes of the plan-and-execute graph: plan, run steps in dependency waves, vote.

Steps whose inputs are ready run together, up to ``max_concurrency``; a step that
needs earlier results first has its arguments drafted from them on the drafter
chain, so the drafts of one wave reach a batching server at the same time. A
round with a failed step is replanned, at most ``max_replans`` times. The answer
node is ``agents.answering.write_answer``.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from langgraph.types import Send
from pydantic import BaseModel, ValidationError

from agents.approval import ask_approval, needs_approval
from agents.context import Context, run_context
from agents.llm import call_model, sample_model
from agents.metrics import NodeMetric, failed_call
from agents.planning import (
    dependency_problems,
    example_turns,
    plan_model,
    planner_system,
    select_tools,
)
from agents.prompts import (
    DRAFT_SYSTEM,
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
from agents.voting import merge_plans, vote
from backends.base import JsonSchema
from backends.config import GenerationParams
from backends.errors import ReplyCutOff
from tools.registry import TOOLS
from tools.runner import ToolResult, run_tool

__all__ = ["choose_result", "execute_step", "route_steps", "schedule_steps", "write_plan"]

# A plan of MAX_PLAN_STEPS short steps fits well within this; it only stops runaways.
PLAN_MAX_TOKENS = 400
DRAFT_MAX_TOKENS = 200
# Seeds of the plan samples: a fixed base per round, so a rerun draws the same plans.
SEED_BASE = 1009
# A round's first draw, then one more with fresh seeds before the round is given up.
PLAN_ATTEMPTS = 2


def _failures(state: PlanExecuteState) -> list[tuple[str, dict[str, Any], str]]:
    return [(r["tool"], r["args"], r["output"]) for r in round_results(state).values()
            if r["status"] == "error"]


def _replanning(state: PlanExecuteState) -> bool:
    # A round has run before this one: its plan is in the state.
    return "plan" in state


def _parse_plan(schema: type[BaseModel], text: str) -> tuple[list[PlanStep] | None, str]:
    try:
        parsed = schema.model_validate_json(text)
    except ValidationError as exc:
        # Decoding is constrained, so a reply that does not validate was cut short.
        return None, f"the planner's reply is not a valid plan ({exc.errors()[0]['msg']})"
    plan: list[PlanStep] = parsed.model_dump()["steps"]
    problems = dependency_problems(plan)
    return (None, f"unusable plan: {problems[0]}") if problems else (plan, "")


async def _draw_plans(state: PlanExecuteState, context: Context, schema: type[BaseModel],
                      tool_names: tuple[str, ...], attempt: int
                      ) -> tuple[list[list[PlanStep]], list[str], NodeMetric]:
    request = (replan_request(state["question"], _failures(state), state.get("problems", []))
               if _replanning(state) else plan_request(state["question"]))
    sampling = context.plan_samples > 1 or attempt > 0
    params = GenerationParams(
        temperature=context.sample_temperature if sampling else context.temperature,
        seed=SEED_BASE * (plan_round(state) + 1) + attempt * 100, max_tokens=PLAN_MAX_TOKENS)
    messages = [SystemMessage(planner_system(tool_names)),
                *example_turns(state["question"], tool_names, context.planner_examples),
                HumanMessage(request)]
    try:
        replies, metric = await sample_model(
            "write_plan", chain=context.planner_backend, key="planner_backend", params=params,
            messages=messages, samples=context.plan_samples, constraint=JsonSchema(schema),
            local_only=context.local_only)
    except ReplyCutOff as exc:
        return ([], [f"the planner's reply was cut off: {exc.args[0]}"],
                failed_call("write_plan", exc.backend, str(exc.args[0])))
    plans, problems = [], []
    for reply in replies:
        plan, problem = _parse_plan(schema, str(reply.content))
        if plan is None:
            problems.append(problem)
        else:
            plans.append(plan)
    return plans, problems, metric


async def write_plan(state: PlanExecuteState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Draw ``plan_samples`` JSON plans; merge the distinct ones into one plan to run.

    A sample that was cut off or does not validate is dropped; when none is usable
    the planner is asked once more with fresh seeds, then the round ends planless
    (``route_steps`` replans or answers that nothing could be done).
    """
    context = run_context(runtime.context)
    tool_names = select_tools(context.tools)
    schema = plan_model(tool_names, context.max_plan_steps)
    next_round = plan_round(state) + 1 if _replanning(state) else 0
    metrics: list[NodeMetric] = []
    problems: list[str] = []
    plans: list[list[PlanStep]] = []
    for attempt in range(PLAN_ATTEMPTS):
        plans, failed, metric = await _draw_plans(state, context, schema, tool_names, attempt)
        metrics.append(metric)
        problems += [f"round {next_round}, attempt {attempt + 1}: {p}" for p in failed]
        if plans:
            break
    merged, candidates = merge_plans(plans)
    writer = get_stream_writer()
    writer({"event": "plan_ready", "round": next_round, "steps": merged,
            "samples": len(plans), "distinct": len(candidates)})
    return {"plan": merged, "candidates": candidates, "round": next_round,
            "metrics": metrics, "problems": problems}


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
    # A plan with no steps (no tool needed) is usable too; no candidate at all is not.
    results = round_results(state)
    return any(all(results[i]["status"] == "ok" for i in c["steps"])
               for c in state.get("candidates", []))


async def choose_result(state: PlanExecuteState) -> dict[str, Any]:
    """Vote among the candidate plans on their results; record the vote and its margin."""
    candidates = state.get("candidates", [])
    outcome = vote(candidates, round_results(state))
    get_stream_writer()({"event": "vote", "round": plan_round(state), **outcome})
    metric = NodeMetric(node="choose_result", backend="vote", latency_ms=0.0, prompt_tokens=0,
                        completion_tokens=0, cached_tokens=0, status="ok", vote=outcome)
    return {"vote": outcome, "metrics": [metric]}


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
