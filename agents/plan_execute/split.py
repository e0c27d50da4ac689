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
from typing import Annotated

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field, StringConstraints

from agents.prompts import SPLIT_EXAMPLES, SPLIT_SYSTEM, split_request

__all__ = ["MAX_PARTS", "Split", "split_messages", "split_problem"]

MAX_PARTS = 4
# Bounds each part in the grammar, so a part cannot run on until the token limit.
MAX_PART_CHARS = 300

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


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
    return Counter(float(n.rstrip(",").replace(",", "")) for n in _NUMBER.findall(text))


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
