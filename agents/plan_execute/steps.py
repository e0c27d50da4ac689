"""Nodes of the plan-and-execute graph: split, plan, run steps in dependency waves, vote.

A message that asks several things is split into its questions first, and each is
planned on its own (``agents.splitting``). Steps whose inputs are ready run
together, up to ``max_concurrency``; a step that needs earlier results first has its
arguments drafted from them on the drafter chain, so the drafts of one wave reach a
batching server at the same time. A round with a failed step is replanned, at most
``max_replans`` times. The answer node is ``agents.answering.write_answer``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
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
from agents.splitting import Split, split_messages, split_problem
from agents.state import (
    PlanExecuteState,
    PlanStep,
    StepInput,
    StepResult,
    plan_round,
    planned_steps,
    round_results,
)
from agents.voting import join_parts, merge_plans, vote
from backends.base import JsonSchema
from backends.config import GenerationParams
from backends.errors import ReplyCutOff
from tools.registry import TOOLS
from tools.runner import ToolResult, run_tool

__all__ = [
    "choose_result", "execute_step", "route_steps", "schedule_steps", "split_question",
    "write_plan",
]

# A plan of MAX_PLAN_STEPS short steps fits well within this; it only stops runaways.
PLAN_MAX_TOKENS = 400
DRAFT_MAX_TOKENS = 200
# Room for four parts of a long message; the grammar bounds each part anyway.
SPLIT_MAX_TOKENS = 400
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


async def _draw_plans(question: str, request: str, context: Context, schema: type[BaseModel],
                      tool_names: tuple[str, ...], seed: int, attempt: int
                      ) -> tuple[list[list[PlanStep]], list[str], NodeMetric]:
    sampling = context.plan_samples > 1 or attempt > 0
    params = GenerationParams(
        temperature=context.sample_temperature if sampling else context.temperature,
        seed=seed + attempt * 100, max_tokens=PLAN_MAX_TOKENS)
    messages = [SystemMessage(planner_system(tool_names)),
                *example_turns(question, tool_names, context.planner_examples),
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


async def _plan_question(question: str, request: str, context: Context,
                         schema: type[BaseModel], tool_names: tuple[str, ...], seed: int,
                         label: str) -> tuple[list[list[PlanStep]], list[str], list[NodeMetric]]:
    # A first draw, then fresh seeds once, before this question is given up.
    plans: list[list[PlanStep]] = []
    problems: list[str] = []
    metrics: list[NodeMetric] = []
    for attempt in range(PLAN_ATTEMPTS):
        plans, failed, metric = await _draw_plans(question, request, context, schema,
                                                  tool_names, seed, attempt)
        metrics.append(metric)
        problems += [f"{label}attempt {attempt + 1}: {p}" for p in failed]
        if plans:
            break
    return plans, problems, metrics


async def split_question(state: PlanExecuteState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the planner model for the separate questions of the message (``parts``).

    The split is kept only when it passes ``split_problem``; otherwise, or when the
    model sees one question, the message is planned whole.
    """
    context = run_context(runtime.context)
    question = state["question"]
    if not context.split_questions or context.max_plan_steps < 2:
        return {"parts": [question]}
    parts: list[str] = []
    try:
        reply, metric = await call_model(
            "split_question", chain=context.planner_backend, key="planner_backend",
            params=GenerationParams(temperature=context.temperature, max_tokens=SPLIT_MAX_TOKENS),
            messages=split_messages(question), constraint=JsonSchema(Split),
            local_only=context.local_only)
    except ReplyCutOff as exc:
        metric = failed_call("split_question", exc.backend, str(exc.args[0]))
    else:
        try:
            parts = [p.strip() for p in Split.model_validate_json(str(reply.content)).questions]
        except ValidationError as exc:
            metric = {**metric, "status": "error",
                      "error": f"not a list of questions ({exc.errors()[0]['msg']})"}
    problem = ("" if len(parts) < 2 else
               f"{len(parts)} parts, more than max_plan_steps"
               if len(parts) > context.max_plan_steps else split_problem(question, parts))
    outcome: Literal["split", "whole", "rejected"] = (
        "rejected" if problem or metric["status"] == "error" else
        "split" if len(parts) > 1 else "whole")
    get_stream_writer()({"event": "question_split", "outcome": outcome, "parts": parts,
                         **({"problem": problem} if problem else {})})
    return {"parts": parts if outcome == "split" else [question],
            "metrics": [{**metric, "split": outcome}]}


async def write_plan(state: PlanExecuteState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Draw ``plan_samples`` JSON plans; merge the distinct ones into one plan to run.

    Each part of a split message is planned on its own, concurrently, within its share
    of ``max_plan_steps``, and the i-th plans of the parts are joined; when a part gets
    no usable plan, the message is planned whole instead. A replan is of the whole
    message, with what failed. A sample that was cut off or does not validate
    is dropped; when none is usable the planner is asked once more with fresh seeds,
    then the round ends planless (``route_steps`` replans or answers that nothing
    could be done).
    """
    context = run_context(runtime.context)
    tool_names = select_tools(context.tools)
    question = state["question"]
    replanning = _replanning(state)
    next_round = plan_round(state) + 1 if replanning else 0
    # A fixed seed base per round, so a rerun draws the same plans.
    seed = SEED_BASE * (plan_round(state) + 1)
    if replanning:
        requests = [(question, replan_request(question, _failures(state),
                                              state.get("problems", [])))]
    else:
        requests = [(part, plan_request(part)) for part in state.get("parts") or [question]]
    schema = plan_model(tool_names, max(1, context.max_plan_steps // len(requests)))
    labels = ([f"round {next_round}, "] if len(requests) == 1 else
              [f"round {next_round}, part {i + 1}, " for i in range(len(requests))])
    drawn = list(await asyncio.gather(*(
        _plan_question(part, request, context, schema, tool_names, seed, label)
        for (part, request), label in zip(requests, labels, strict=True))))
    plans: Sequence[Sequence[Mapping[str, Any]]]
    if len(requests) > 1 and not all(part_plans for part_plans, _, _ in drawn):
        # A part left out would go unanswered without a word: plan the message whole.
        drawn.append(await _plan_question(
            question, plan_request(question), context,
            plan_model(tool_names, context.max_plan_steps), tool_names, seed,
            f"round {next_round}, whole message, "))
        plans = drawn[-1][0]
    else:
        plans = join_parts([part_plans for part_plans, _, _ in drawn])
    merged, candidates = merge_plans(plans)
    writer = get_stream_writer()
    writer({"event": "plan_ready", "round": next_round, "steps": merged,
            "samples": len(plans), "distinct": len(candidates)})
    return {"plan": merged, "candidates": candidates, "round": next_round,
            "metrics": [m for _, _, part_metrics in drawn for m in part_metrics],
            "problems": [p for _, part_problems, _ in drawn for p in part_problems]}


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
