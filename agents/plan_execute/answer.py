"""Write the answer from the chosen plan's results, and decide what makes it acceptable.

``write_answer`` lets the model write first. ``answer_problem`` then checks the
text against the tool results it was written from (``agents.answer_check``); a
failing answer is decoded again under ``repair_schema``, whose pattern admits
only the results' own numbers; if that fails too, ``templated_answer`` states
the results themselves. Nothing here decides what a question means.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field, ValidationError, create_model

from agents.answer_check import (
    answer_pattern,
    false_claims,
    leaks_trace,
    missing_values,
    unsupported_values,
)
from agents.context import Context, run_context
from agents.llm import call_model
from agents.metrics import NodeMetric, failed_call, summarize
from agents.plan_execute.prompts import (
    ANSWER_EXAMPLE,
    ANSWER_SYSTEM,
    KNOWLEDGE_ANSWER_EXAMPLE,
    KNOWLEDGE_ANSWER_SYSTEM,
    answer_request,
    fact_line,
)
from agents.plan_execute.state import (
    PlanExecuteState,
    PlanProblem,
    StepResult,
    answered_parts,
    chosen_results,
    plan_round,
    round_results,
    unanswered_parts,
)
from backends.base import JsonSchema
from backends.errors import ContextTooLong, ReplyCutOff
from backends.settings import GenerationParams

__all__ = [
    "REPAIR_MAX_LENGTH",
    "answer_problem",
    "answer_sources",
    "no_plan_answer",
    "repair_schema",
    "templated_answer",
    "write_answer",
]

REPAIR_MAX_LENGTH = 300
# The answer is one sentence: stopping at the line end keeps small models from
# looping. (A repetition penalty would also stop them copying the tool's numbers.)
ANSWER_STOP = ("\n",)
# A repaired answer is one sentence inside a small JSON object.
REPAIR_MAX_TOKENS = 120
WORD = re.compile(r"[^\W\d_]{2,}")


def answer_sources(question: str, results: Sequence[StepResult]) -> list[str]:
    """Return the texts an answer may take its values from: the question and results."""
    return [question, *(json.dumps(r["args"], ensure_ascii=False) for r in results),
            *(str(r["output"]) for r in results)]


def answer_problem(answer: str, question: str, results: Sequence[StepResult]) -> str | None:
    """Return what is wrong with ``answer`` given its results, or None if nothing is."""
    if leaks_trace(answer):
        return "the answer shows the tool-trace format"
    false = false_claims(answer)
    if false:
        return f"the answer claims {'; '.join(false)}"
    unsupported = unsupported_values(answer, answer_sources(question, results))
    if unsupported:
        return f"the answer states {', '.join(unsupported)}, which no tool result supports"
    missing = missing_values(answer, [str(r["output"]) for r in results if r["status"] == "ok"])
    if missing:
        return f"the answer leaves out {', '.join(missing)} from the tool results"
    if not WORD.search(answer):
        return "the answer is not a sentence"
    return None


@lru_cache(maxsize=256)
def _repair_model(pattern: str) -> type[BaseModel]:
    answer: Any = (str, Field(pattern=pattern, max_length=REPAIR_MAX_LENGTH,
                              description="One sentence answering the question."))
    return create_model("Answer", answer=answer)


def repair_schema(results: Sequence[StepResult]) -> type[BaseModel]:
    """Return the JSON schema of a repaired answer: its numbers are the results' own.

    Only the outputs, not the question or arguments: a small model given the
    question's numbers too strings them onto the result ("266. 7").
    """
    return _repair_model(answer_pattern([str(r["output"]) for r in results
                                         if r["status"] == "ok"]))


def templated_answer(results: Sequence[StepResult]) -> str:
    """State the tool results as the answer prompt shows them, for when no answer passes."""
    lines = [fact_line(r["tool"], r["args"], r["status"], str(r["output"]).strip())
             for r in results]
    return "; ".join(line.removeprefix("- ") for line in lines) + "." if lines \
        else "No tool result is available to answer from."


def no_plan_answer(problems: Sequence[PlanProblem]) -> str:
    """Say plainly that no usable plan came back, and why (``problems`` has the details)."""
    kinds = {problem["kind"] for problem in problems}
    if "too_long" in kinds:
        why = "the question does not fit its context window"
    elif "cut_off" in kinds:
        why = "its replies were cut off at their token limit"
    elif "invalid" in kinds:
        why = "its replies were not valid plans"
    elif "repeated" in kinds:
        why = "it could only repeat a plan that failed"
    else:
        why = "its plans could not be run"
    return f"I could not answer this: the model gave no usable plan ({why})."


def _with_unanswered(answer: str, unanswered: Sequence[str]) -> str:
    if not unanswered:
        return answer
    named = " ".join(f'"{part}"' for part in unanswered)
    return f"{answer} I could not answer {named}: no tool result came back for it."


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


async def write_answer(state: PlanExecuteState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Answer from the chosen plan's results, checked against them (``answer_problem``).

    The model writes the answer; one that claims false arithmetic, states a value
    no result supports, leaves a result out or shows the trace format is decoded
    again with only the results' values allowed, and failing that the results are
    stated as they are. Which of the three happened is the metric's
    ``answer_check``. When every step failed, the failures are the answer; when the
    prompt does not fit the window, the results as they stand. The parts of a split
    message are answered each from its own results, concurrently, as a single
    question would be, and a part with no result is named as unanswered.
    """
    context = run_context(runtime.context)
    question = state["question"]
    results = [result for _, result in chosen_results(state)]
    if not state.get("candidates"):
        answer = no_plan_answer(state.get("problems", []))
        # A replan that gave nothing: what the last plan met is still worth saying.
        earlier = [r for r in round_results(state, plan_round(state) - 1).values()
                   if r["status"] == "error"]
        if earlier:
            answer += f" The plan before it failed: {templated_answer(earlier)}"
        return _answered_without_model(state, answer, why=answer)
    if results and all(r["status"] == "error" for r in results):
        # Nothing to answer from: the model would answer anyway, with nothing behind it.
        return _answered_without_model(state, templated_answer(results),
                                       why="every step of the chosen plan failed")
    # A small model given two questions' results at once garbles one of them ("21 km,
    # 30% of 21"); given each with its own, it answers as it does a single question.
    questions = answered_parts(state) or [(question, results)]
    written = await asyncio.gather(*(_checked(part, part_results, context)
                                     for part, part_results in questions))
    answer = " ".join(_sentence(text) for text, _ in written) if len(written) > 1 \
        else written[0][0]
    metrics = [metric for _, part_metrics in written for metric in part_metrics]
    return _answered(state, _with_unanswered(answer, unanswered_parts(state)), metrics)


async def _checked(question: str, results: list[StepResult], context: Context
                   ) -> tuple[str, list[NodeMetric]]:
    """Return the checked answer to ``question`` and its metrics (``_write``).

    When no model could write one, the answer is the results as they stand.
    """
    written = await _write(question, results, context)
    if isinstance(written, str):
        metric = failed_call("write_answer", "none", written)
        metric["answer_check"] = "templated"
        return templated_answer(results), [metric]
    return written


async def _write(question: str, results: list[StepResult], context: Context
                 ) -> tuple[str, list[NodeMetric]] | str:
    """Return the checked answer and its metrics, or why no model could write one."""
    rendered = [(r["tool"], r["args"], r["status"], r["output"]) for r in results]
    # With results, one sentence about them, stopped at the line end; without, a reply
    # from what the model knows, which may need more than a line (a note, a list).
    system, (example_question, example_answer), stop = (
        (ANSWER_SYSTEM, ANSWER_EXAMPLE, ANSWER_STOP) if results
        else (KNOWLEDGE_ANSWER_SYSTEM, KNOWLEDGE_ANSWER_EXAMPLE, None))
    messages = [SystemMessage(system), HumanMessage(example_question),
                AIMessage(example_answer), HumanMessage(answer_request(question, rendered))]
    params = GenerationParams(temperature=context.temperature,
                              max_tokens=context.max_answer_tokens, stop=stop)
    try:
        reply, metric = await call_model(
            "write_answer", chain=context.answer_backend, key="answer_backend",
            params=params, messages=messages, local_only=context.local_only)
    except ContextTooLong:
        return "the answer prompt does not fit the context window; the results as they stand"
    except ReplyCutOff:
        return "the answer was cut off at its token limit; the results as they stand"
    answer = str(reply.content).strip()
    problem = answer_problem(answer, question, results)
    if problem is None:
        metric["answer_check"] = "passed"
        return answer, [metric]
    metric["error"] = problem
    repaired, repair_metric = await _repair(messages, question, results, context)
    if repaired is not None:
        problem = answer_problem(repaired, question, results)
        if problem is None:
            repair_metric["answer_check"] = "repaired"
            return repaired, [metric, repair_metric]
        repair_metric["error"] = f"repaired {problem.removeprefix('the answer ')}"
    repair_metric["answer_check"] = "templated"
    return templated_answer(results), [metric, repair_metric]


async def _repair(messages: list[BaseMessage], question: str, results: list[StepResult],
                  context: Context) -> tuple[str | None, NodeMetric]:
    schema = repair_schema(results)
    params = GenerationParams(temperature=context.temperature, max_tokens=REPAIR_MAX_TOKENS)
    try:
        reply, metric = await call_model(
            "write_answer", chain=context.answer_backend, key="answer_backend", params=params,
            messages=messages, constraint=JsonSchema(schema), local_only=context.local_only)
    except (ReplyCutOff, ContextTooLong) as exc:
        return None, failed_call("write_answer", exc.backend, str(exc.args[0]))
    try:
        return str(schema.model_validate_json(str(reply.content)).model_dump()["answer"]), metric
    except ValidationError:
        metric["error"] = "the repaired answer was cut off"
        return None, metric


def _answered_without_model(state: PlanExecuteState, answer: str, why: str) -> dict[str, Any]:
    metric = failed_call("write_answer", "none", why)
    metric["answer_check"] = "templated"
    return _answered(state, answer, [metric])


def _answered(state: PlanExecuteState, answer: str,
              metrics: list[NodeMetric]) -> dict[str, Any]:
    summary = summarize([*state.get("metrics", []), *metrics])
    return {"answer": answer, "metrics": metrics, "summary": summary}
