"""Write the plan: a JSON schema derived from the enabled tools, and the node that draws it.

Each step is ``{"tool": <name>, "args": <that tool's own argument schema>}``, a
union discriminated by the tool name. The server enforces the JSON schema while
decoding, so a plan always names a registered tool with well-formed arguments.
``write_plan`` draws ``plan_samples`` plans per question, each part of a split
message on its own, and merges the distinct ones into one plan to run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal, Union

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field, ValidationError, create_model

from agents.context import Context, run_context
from agents.llm import sample_model
from agents.metrics import NodeMetric, failed_call
from agents.plan_execute.checks import failed_plans, plan_calls, plan_problems
from agents.plan_execute.examples import enabled_examples, nearest_examples
from agents.plan_execute.prompts import (
    PLANNER_SYSTEM,
    plan_request,
    refused_request,
    replan_request,
)
from agents.plan_execute.state import (
    PlanExecuteState,
    PlanProblem,
    PlanStep,
    ProblemKind,
    describe_problem,
    plan_round,
    round_results,
)
from agents.plan_execute.vote import join_parts, merge_plans
from agents.plan_execute.worked_examples import PLANNER_EXAMPLES
from agents.toolset import select_tools, tool_line
from backends.base import JsonSchema
from backends.errors import ContextTooLong, GraphConfigError, ReplyCutOff
from backends.settings import GenerationParams
from tools.base import args_schema
from tools.registry import TOOLS

__all__ = [
    "MAX_PLAN_STEPS",
    "SEED_BASE",
    "example_turns",
    "plan_model",
    "planner_system",
    "round_seed",
    "write_plan",
]

MAX_PLAN_STEPS = 8
# A plan of MAX_PLAN_STEPS short steps fits well within this; it only stops runaways.
PLAN_MAX_TOKENS = 400
SEED_BASE = 1009
# A round's first draw, then one more with fresh seeds before the round is given up.
PLAN_ATTEMPTS = 2


@lru_cache(maxsize=64)
def plan_model(tool_names: tuple[str, ...], max_steps: int) -> type[BaseModel]:
    """Build the pydantic model of a plan over ``tool_names`` with at most ``max_steps``."""
    if not 1 <= max_steps <= MAX_PLAN_STEPS:
        raise GraphConfigError(
            f"max_plan_steps={max_steps} is out of range; use 1 to {MAX_PLAN_STEPS}",
            key="max_plan_steps",
        )
    steps: list[type[BaseModel]] = [
        create_model(
            f"{name.title().replace('_', '')}Step",
            tool=(Literal[name], ...),  # type: ignore[arg-type]
            args=(args_schema(TOOLS[name]), ...),
            depends_on=(list[Annotated[int, Field(ge=0, lt=MAX_PLAN_STEPS)]],
                        Field(default_factory=list, max_length=3,
                              description="Indexes of earlier steps whose results this needs")),
        )
        for name in tool_names
    ]
    step_type: Any = (
        steps[0] if len(steps) == 1
        else Annotated[Union[tuple(steps)], Field(discriminator="tool")]  # noqa: UP007
    )
    return create_model(
        "Plan", steps=(list[step_type], Field(max_length=max_steps))
    )


def _plan_json(steps: Sequence[Mapping[str, Any]]) -> str:
    # Key order as the schema's (tool, then args): the decoder emits them that way.
    return json.dumps({"steps": list(steps)})


@lru_cache(maxsize=64)
def planner_system(tool_names: tuple[str, ...]) -> str:
    """Render the planner's fixed system prompt for ``tool_names`` (byte-stable)."""
    examples = [f"{plan_request(question)} {_plan_json(steps)}"
                for question, steps in enabled_examples(PLANNER_EXAMPLES, tool_names)]
    return PLANNER_SYSTEM.format(
        tools="\n".join(tool_line(TOOLS[name]) for name in tool_names),
        examples="\n".join(examples),
    )


def example_turns(question: str, tool_names: Sequence[str], count: int) -> list[BaseMessage]:
    """The ``count`` examples most like ``question`` as exchanges, the closest last.

    They come after the fixed system prompt, so its cached prefix is still reused,
    and read as the model's own earlier replies, which a small model imitates most.
    """
    turns: list[BaseMessage] = []
    for example, steps in nearest_examples(question, tool_names, count):
        turns += [HumanMessage(plan_request(example)), AIMessage(_plan_json(steps))]
    return turns


def round_seed(round_number: int) -> int:
    """Return the seed base of plan round ``round_number``: fixed, so a rerun draws the same."""
    return SEED_BASE * (round_number + 1)


@dataclass(frozen=True)
class _Draw:
    """Where the plans being drawn belong: a round, and a part of the message or all of it."""

    round: int
    scope: str

    def problem(self, kind: ProblemKind, attempt: int, detail: str) -> PlanProblem:
        return PlanProblem(kind=kind, round=self.round, scope=self.scope, attempt=attempt + 1,
                           detail=detail)


def _parse_plan(question: str, schema: type[BaseModel], text: str, draw: _Draw, attempt: int,
                failed: frozenset[str]) -> list[PlanStep] | PlanProblem:
    try:
        parsed = schema.model_validate_json(text)
    except ValidationError as exc:
        # Decoding is constrained, so a reply that does not validate was cut short.
        return draw.problem("invalid", attempt, "the planner's reply is not a valid plan "
                                                f"({exc.errors()[0]['msg']})")
    plan: list[PlanStep] = parsed.model_dump()["steps"]
    if plan_calls(plan) in failed:
        # Greedy decoding of a replan often repeats the failed plan word for word; the
        # next attempt samples, so it can differ.
        return draw.problem("repeated", attempt, "the planner repeated a plan that failed")
    problems = plan_problems(question, plan, dt.datetime.now(dt.UTC).year)
    return draw.problem("unusable", attempt, f"unusable plan: {problems[0]}") if problems \
        else plan


async def _draw_plans(question: str, request: str, context: Context, schema: type[BaseModel],
                      tool_names: tuple[str, ...], draw: _Draw, attempt: int, examples: int,
                      failed: frozenset[str]
                      ) -> tuple[list[list[PlanStep]], list[PlanProblem], NodeMetric]:
    sampling = context.plan_samples > 1 or attempt > 0
    params = GenerationParams(
        temperature=context.sample_temperature if sampling else context.temperature,
        seed=round_seed(draw.round) + attempt * 100, max_tokens=PLAN_MAX_TOKENS)
    messages = [SystemMessage(planner_system(tool_names)),
                *example_turns(question, tool_names, examples), HumanMessage(request)]
    try:
        replies, metric = await sample_model(
            "write_plan", chain=context.planner_backend, key="planner_backend", params=params,
            messages=messages, samples=context.plan_samples, constraint=JsonSchema(schema),
            local_only=context.local_only)
    except ReplyCutOff as exc:
        return ([], [draw.problem("cut_off", attempt,
                                  f"the planner's reply was cut off: {exc.args[0]}")],
                failed_call("write_plan", exc.backend, str(exc.args[0])))
    except ContextTooLong as exc:
        why = (f"the planner's prompt with {examples} worked examples does not fit the "
               f"context window of {exc.backend}")
        return [], [draw.problem("too_long", attempt, why)], failed_call(
            "write_plan", exc.backend, why)
    parsed = [_parse_plan(question, schema, str(reply.content), draw, attempt, failed)
              for reply in replies]
    return ([p for p in parsed if isinstance(p, list)],
            [p for p in parsed if not isinstance(p, list)], metric)


Drawn = tuple[list[list[PlanStep]], list[PlanProblem], list[NodeMetric]]


async def _plan_question(question: str, request: str, context: Context,
                         schema: type[BaseModel], tool_names: tuple[str, ...],
                         draw: _Draw, failed: frozenset[str]) -> Drawn:
    # A first draw, then fresh seeds once, before this question is given up.
    plans: list[list[PlanStep]] = []
    problems: list[PlanProblem] = []
    metrics: list[NodeMetric] = []
    examples = context.planner_examples
    for attempt in range(PLAN_ATTEMPTS):
        plans, unusable, metric = await _draw_plans(question, request, context, schema,
                                                    tool_names, draw, attempt, examples,
                                                    failed)
        metrics.append(metric)
        problems += unusable
        if plans:
            break
        if any(problem["kind"] == "too_long" for problem in unusable):
            examples = 0  # the fixed prompt is what must fit; the examples can go
        refusals = [p["detail"] for p in unusable if p["kind"] in ("repeated", "unusable")]
        if refusals:
            request = refused_request(request, refusals)
    return plans, problems, metrics


def _failures(state: PlanExecuteState) -> list[tuple[str, dict[str, Any], str]]:
    return [(r["tool"], r["args"], r["output"]) for r in round_results(state).values()
            if r["status"] == "error"]


async def write_plan(state: PlanExecuteState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Draw ``plan_samples`` JSON plans; merge the distinct ones into one plan to run.

    Each part of a split message is planned on its own, concurrently, within its share
    of ``max_plan_steps``, and the i-th plans of the parts are joined; when a part gets
    no usable plan, the message is planned whole instead. A replan is of the whole
    message, with what failed. A sample that was cut off, does not validate, repeats a
    plan that failed or fails a check (``checks.plan_problems``: its dependencies, its
    conversions' units, the question's dates and spans of time, its percentages) is
    dropped; when none is usable the planner is asked once more with
    fresh seeds and why the checks refused, then the round ends planless
    (``route_steps`` replans or answers that nothing could be done). Every round draws
    with seeds of its own (``round_seed``).
    """
    context = run_context(runtime.context)
    tool_names = select_tools(context.tools)
    question = state["question"]
    # A round has run before this one when its plan is in the state.
    replanning = "plan" in state
    next_round = plan_round(state) + 1 if replanning else 0
    failed = failed_plans(state)
    if replanning:
        shown = [describe_problem(p) for p in state.get("problems", [])]
        requests = [(question, replan_request(question, _failures(state), shown))]
    else:
        requests = [(part, plan_request(part)) for part in state.get("parts") or [question]]
    schema = plan_model(tool_names, max(1, context.max_plan_steps // len(requests)))
    scopes = [""] if len(requests) == 1 else [f"part {i + 1}" for i in range(len(requests))]
    drawn = list(await asyncio.gather(*(
        _plan_question(part, request, context, schema, tool_names, _Draw(next_round, scope),
                       failed)
        for (part, request), scope in zip(requests, scopes, strict=True))))
    plans: Sequence[Sequence[Mapping[str, Any]]]
    if len(requests) > 1 and not all(part_plans for part_plans, _, _ in drawn):
        # A part left out would go unanswered without a word: plan the message whole.
        drawn.append(await _plan_question(
            question, plan_request(question), context,
            plan_model(tool_names, context.max_plan_steps), tool_names,
            _Draw(next_round, "whole message"), failed))
        plans = drawn[-1][0]
    else:
        plans = join_parts([part_plans for part_plans, _, _ in drawn])
    merged, candidates = merge_plans(plans)
    get_stream_writer()({"event": "plan_ready", "round": next_round, "steps": merged,
                         "samples": len(plans), "distinct": len(candidates)})
    return {"plan": merged, "candidates": candidates, "round": next_round,
            "metrics": [m for _, _, part_metrics in drawn for m in part_metrics],
            "problems": [p for _, part_problems, _ in drawn for p in part_problems]}
