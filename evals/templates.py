"""Question templates: do a prompt example and an eval question ask the same thing?

A question's *template* is its word sequence with every number folded into one
token ("What is #% of #?"). A prompt example that shares a test question's
template, or copies it nearly (``NEAR_COPY`` of its folded tokens in the same
order), teaches the model that question: the test half would then measure tuning,
not generalisation. ``tests/unit/test_eval_set.py`` holds every prompt example of
every graph against every test-half question with these functions.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from agents.plan_execute.prompts import ANSWER_EXAMPLE, KNOWLEDGE_ANSWER_EXAMPLE, SPLIT_EXAMPLES
from agents.plan_execute.worked_examples import PLANNER_EXAMPLES, PLANNER_EXTRA_EXAMPLES
from agents.react.prompts import REACT_EXAMPLES
from agents.router.prompts import COMPLEXITY_EXAMPLES, ROUTER_EXAMPLES

__all__ = ["NEAR_COPY", "fold", "near_copies", "prompt_examples", "similarity"]

# Calibrated on the examples that copied the old test half ("How many inches are 3
# metres?" against "How many inches are in 2.5 metres?": 0.92; "What date was it 2
# weeks ago?" against "What date was it 60 days ago?": 0.86).
NEAR_COPY = 0.8
_TOKEN = re.compile(r"\d[\d,.]*\d|\d|[^\W\d_]+|[%$°*/+\-]")
_ANSWER_QUESTION = re.compile(r"Question: (.*)")


def fold(text: str) -> tuple[str, ...]:
    """Return the template of ``text``: its words and operators, each number as ``#``."""
    return tuple("#" if token[0].isdigit() else token for token in _TOKEN.findall(text.casefold()))


def similarity(first: str, second: str) -> float:
    """Return how much of two templates is the same words in the same order (0 to 1)."""
    return difflib.SequenceMatcher(None, fold(first), fold(second), autojunk=False).ratio()


def prompt_examples() -> list[tuple[str, str]]:
    """Return (where, text) for every worked example any graph's prompts show a model."""
    found = [("planner", question) for question, _ in (*PLANNER_EXAMPLES,
                                                        *PLANNER_EXTRA_EXAMPLES)]
    for message, parts in SPLIT_EXAMPLES:
        found += [("splitter", message), *(("splitter", part) for part in parts)]
    found += [("answer", match) for example in (ANSWER_EXAMPLE, KNOWLEDGE_ANSWER_EXAMPLE)
              for match in _ANSWER_QUESTION.findall(example[0])]
    found += [("react", example[0]) for example in REACT_EXAMPLES]
    found += [("router", request) for request, _ in (*ROUTER_EXAMPLES, *COMPLEXITY_EXAMPLES)]
    return found


def near_copies(examples: Iterable[tuple[str, str]], questions: Iterable[tuple[str, str]]
                ) -> list[str]:
    """Describe each (example, question) pair that shares a template or nearly copies it."""
    found = []
    questions = list(questions)
    for where, example in examples:
        for name, question in questions:
            same = fold(example) == fold(question)
            score = similarity(example, question)
            if same or score >= NEAR_COPY:
                found.append(f"{where} example {example!r} and {name} {question!r}: "
                             + ("the same template" if same else f"{score:.2f} alike"))
    return found
