"""What makes a final answer acceptable, and the answers written without a model.

The answer node lets the model write first. ``answer_problem`` then checks the
text against the tool results it was written from (``agents.answer_check``); a
failing answer is decoded again under ``repair_schema``, whose pattern admits
only the results' own numbers; if that fails too, ``templated_answer`` states
the results themselves. Nothing here decides what a question means.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field, create_model

from agents.answer_check import answer_pattern, leaks_trace, missing_values, unsupported_values
from agents.prompts import fact_line
from agents.state import StepResult

__all__ = [
    "REPAIR_MAX_LENGTH",
    "answer_problem",
    "answer_sources",
    "no_plan_answer",
    "repair_schema",
    "templated_answer",
]

REPAIR_MAX_LENGTH = 300
WORD = re.compile(r"[^\W\d_]{2,}")


def answer_sources(question: str, results: Sequence[StepResult]) -> list[str]:
    """Return the texts an answer may take its values from: the question and results."""
    return [question, *(json.dumps(r["args"], ensure_ascii=False) for r in results),
            *(str(r["output"]) for r in results)]


def answer_problem(answer: str, question: str, results: Sequence[StepResult]) -> str | None:
    """Return what is wrong with ``answer`` given its results, or None if nothing is."""
    if leaks_trace(answer):
        return "the answer shows the tool-trace format"
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


def no_plan_answer(problems: Sequence[str]) -> str:
    """Say plainly that no usable plan came back, and why (``problems`` has the details)."""
    if any("cut off" in p for p in problems):
        why = "its replies were cut off at their token limit"
    elif any("not a valid plan" in p for p in problems):
        why = "its replies were not valid plans"
    else:
        why = "its plans could not be run"
    return f"I could not answer this: the model gave no usable plan ({why})."
