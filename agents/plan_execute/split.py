"""Split a message into the separate questions it asks, so each is planned on its own.

A planner given "What is 18 * 4, and how many metres are 3 km?" whole tends to
plan one step for it: a small model copies the step count of the examples most
like the question, and those are single-step. Asked first for the message's
questions, a 0.5B model splits every dev two-part question, and each part is then
planned like any single question, the parts in parallel. The split is the model's;
it is kept only when the parts carry exactly the message's numbers, none invented,
dropped or repeated, so a garbled split costs one short call and nothing else.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field, StringConstraints, ValidationError

from agents.context import Context, run_context
from agents.inputs import check_fits, text_field
from agents.llm import call_model
from agents.metrics import failed_call
from agents.numbers import dates_in, numbers_in
from agents.plan_execute.prompts import SPLIT_EXAMPLES, SPLIT_SYSTEM, split_request
from agents.plan_execute.state import PlanExecuteState
from backends.base import JsonSchema
from backends.errors import ContextTooLong, ReplyCutOff
from backends.settings import GenerationParams

__all__ = ["MAX_PARTS", "MAX_PART_CHARS", "Split", "split_messages", "split_problem",
           "split_question"]

MAX_PARTS = 4
# Bounds each part in the grammar, so a part cannot run on until the token limit.
MAX_PART_CHARS = 300
# Room for four parts of a long message; the grammar bounds each part anyway.
SPLIT_MAX_TOKENS = 400


class Split(BaseModel):
    """The separate questions of a message, as the splitting model writes them."""

    questions: list[Annotated[str, StringConstraints(min_length=1, max_length=MAX_PART_CHARS)]] \
        = Field(min_length=1, max_length=MAX_PARTS)


def split_messages(message: str) -> list[BaseMessage]:
    """The prompt that asks for the questions of ``message``: fixed text, then examples."""
    turns: list[BaseMessage] = [SystemMessage(SPLIT_SYSTEM)]
    for example, parts in SPLIT_EXAMPLES:
        turns += [HumanMessage(split_request(example)),
                  AIMessage(json.dumps({"questions": list(parts)}))]
    return [*turns, HumanMessage(split_request(message))]


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
    return ""


async def split_question(state: PlanExecuteState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the planner model for the separate questions of the message (``parts``).

    The graph's entry: the question is checked first (``agents.inputs``).

    The split is kept only when it passes ``split_problem``; otherwise, or when the
    model sees one question, the message is planned whole.
    """
    context = run_context(runtime.context)
    question = text_field(state, "question")
    await check_fits(question, field="question", chain=context.planner_backend,
                     key="planner_backend", local_only=context.local_only)
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
    except ContextTooLong as exc:
        metric = failed_call("split_question", exc.backend,
                             "the message does not fit the splitter's prompt; planned whole")
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
