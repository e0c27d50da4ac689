"""Split a message into the separate questions it asks, so each is planned on its own.

A planner given "What is 18 * 4, and how many metres are 3 km?" whole tends to
plan one step for it: a small model copies the step count of the examples most
like the question, and those are single-step. So the model is asked two short
things first. How many questions does the message ask? A 0.5B model asked for the
parts outright copied most two-part messages whole, as one part, even at a
sampling temperature; asked for the count, it told one from two on every message
of a probe set. When it counts more than one, it writes exactly that many parts,
which its grammar enforces. The parts are planned like single questions, in
parallel. The split is kept only when the parts carry exactly the message's
numbers, none invented, dropped or repeated, so a garbled split costs two short
calls and nothing else.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Annotated, Any, Literal, TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field, StringConstraints, ValidationError, create_model

from agents.context import Context, run_context
from agents.inputs import check_fits, text_field
from agents.llm import call_model
from agents.metrics import NodeMetric, failed_call
from agents.numbers import dates_in, numbers_in
from agents.plan_execute.prompts import (
    COUNT_SYSTEM,
    SPLIT_EXAMPLES,
    SPLIT_SYSTEM,
    split_request,
)
from agents.plan_execute.state import PlanExecuteState
from backends.base import JsonSchema
from backends.errors import ContextTooLong, ReplyCutOff
from backends.settings import GenerationParams

__all__ = ["MAX_PARTS", "MAX_PART_CHARS", "QuestionCount", "Split", "count_messages",
           "split_messages", "split_problem", "split_question", "split_schema"]

MAX_PARTS = 4
# Bounds each part in the grammar, so a part cannot run on until the token limit.
MAX_PART_CHARS = 300
# Room for four parts of a long message; the grammar bounds each part anyway.
SPLIT_MAX_TOKENS = 400
COUNT_MAX_TOKENS = 20
Part = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PART_CHARS)]
Parsed = TypeVar("Parsed", bound=BaseModel)


class QuestionCount(BaseModel):
    """How many separate questions a message asks, as the counting model says."""

    questions_asked: Literal[1, 2, 3, 4]


class Split(BaseModel):
    """The separate questions of a message, as the splitting model writes them."""

    questions: list[Part] = Field(min_length=1, max_length=MAX_PARTS)


@lru_cache(maxsize=MAX_PARTS)
def split_schema(count: int) -> type[Split]:
    """Return ``Split`` narrowed to exactly ``count`` parts, the count the model gave."""
    questions: Any = (list[Part], Field(min_length=count, max_length=count))
    return create_model(f"Split{count}", __base__=Split, questions=questions)


def _exchanges(system: str, examples: Sequence[tuple[str, str]],
               message: str) -> list[BaseMessage]:
    turns: list[BaseMessage] = [SystemMessage(system)]
    for example, reply in examples:
        turns += [HumanMessage(split_request(example)), AIMessage(reply)]
    return [*turns, HumanMessage(split_request(message))]


def count_messages(message: str) -> list[BaseMessage]:
    """The prompt that asks how many questions ``message`` asks: fixed text, then examples."""
    return _exchanges(COUNT_SYSTEM, [(example, json.dumps({"questions_asked": len(parts)}))
                                     for example, parts in SPLIT_EXAMPLES], message)


def split_messages(message: str) -> list[BaseMessage]:
    """The prompt that asks for the questions of ``message``: fixed text, then examples."""
    return _exchanges(SPLIT_SYSTEM, [(example, json.dumps({"questions": list(parts)}))
                                     for example, parts in SPLIT_EXAMPLES if len(parts) > 1],
                      message)


def _numbers(text: str) -> Counter[float]:
    # Every number counts, "5km" and a date's parts too: a part may write them differently.
    values = [abs(number.value) for number in numbers_in(text)]
    values += [float(part) for date in dates_in(text) for part in re.findall(r"\d+", date.text)]
    return Counter(values)


def split_problem(message: str, parts: Sequence[str]) -> str:
    """Return why ``parts`` cannot stand for ``message`` as its questions ('' if they can)."""
    if not all(part.strip() for part in parts):
        return "a part is empty"
    if len({part.strip().casefold() for part in parts}) < len(parts):
        return "two of the parts are the same"
    wanted, got = _numbers(message), _numbers(" ".join(parts))
    if got != wanted:
        def shown(numbers: Counter[float]) -> str:
            return ", ".join(f"{n:g}" for n in sorted(numbers.elements())) or "none"
        return f"the parts' numbers ({shown(got)}) are not the message's ({shown(wanted)})"
    # A part with none of a message's numbers is a stated fact cut from its question
    # ("I bought 3 pens at $2." / "What did I spend?"), not a question of its own.
    bare = [part for part in parts if wanted and not _numbers(part)]
    if bare:
        return f"{bare[0]!r} has none of the message's numbers"
    return ""


async def split_question(state: PlanExecuteState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the planner model how many questions the message asks, then for them (``parts``).

    The graph's entry: the question is checked first (``agents.inputs``).

    The split is kept only when it passes ``split_problem``; otherwise, or when the
    model counts one question, the message is planned whole.
    """
    context = run_context(runtime.context)
    question = text_field(state, "question")
    await check_fits(question, field="question", chain=context.planner_backend,
                     key="planner_backend", local_only=context.local_only)
    if not context.split_questions or context.max_plan_steps < 2:
        return {"parts": [question]}
    counted, metric = await _ask(count_messages(question), QuestionCount, COUNT_MAX_TOKENS,
                                 context)
    metrics, count = [metric], counted.questions_asked if counted else 1
    parts: list[str] = []
    problem = ""
    if count > context.max_plan_steps:
        problem = f"{count} questions, more than max_plan_steps"
    elif count > 1:
        split, metric = await _ask(split_messages(question), split_schema(count),
                                   SPLIT_MAX_TOKENS, context)
        metrics.append(metric)
        parts = [part.strip() for part in split.questions] if split else []
        problem = split_problem(question, parts) if split else ""
    outcome: Literal["split", "whole", "rejected"] = (
        "rejected" if problem or metrics[-1]["status"] == "error" else
        "split" if len(parts) > 1 else "whole")
    get_stream_writer()({"event": "question_split", "outcome": outcome, "parts": parts,
                         "questions_asked": count, **({"problem": problem} if problem else {})})
    return {"parts": parts if outcome == "split" else [question],
            "metrics": [*metrics[:-1], {**metrics[-1], "split": outcome}]}


async def _ask(messages: list[BaseMessage], schema: type[Parsed], max_tokens: int,
               context: Context) -> tuple[Parsed | None, NodeMetric]:
    """Return the model's reply under ``schema``, or None with why in the metric."""
    try:
        reply, metric = await call_model(
            "split_question", chain=context.planner_backend, key="planner_backend",
            params=GenerationParams(temperature=context.temperature, max_tokens=max_tokens),
            messages=messages, constraint=JsonSchema(schema), local_only=context.local_only)
    except ReplyCutOff as exc:
        return None, failed_call("split_question", exc.backend, str(exc.args[0]))
    except ContextTooLong as exc:
        return None, failed_call("split_question", exc.backend,
                                 "the message does not fit the splitter's prompt; planned whole")
    try:
        return schema.model_validate_json(str(reply.content)), metric
    except ValidationError as exc:
        what = "a count" if schema is QuestionCount else "a list of questions"
        return None, {**metric, "status": "error",
                      "error": f"not {what} ({exc.errors()[0]['msg']})"}
