"""Score one answer of the evaluation: is it right, and is it faithful to the tool results?

Accuracy: every expected value appears in the answer. Numbers are read from the
text (``1,234``, ``36.0``, ``-40``, ``15%``) and compared under the question's
``Tolerance``; dates are ISO ``YYYY-MM-DD`` or written out (``March 5, 2026``,
``5 March 2026``); weekdays and texts are whole words, case-insensitive.

Faithfulness is decided by the graphs' own check, ``agents.answer_check``: the
answer states no number or date that none of the run's sources supports (the
question, and each tool result's output and arguments), and it does not copy the
internal trace format. A run that ran no tool is held to the question alone, so
an invented number is unfaithful there too.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from agents.answer_check import leaks_trace, unsupported_values
from agents.numbers import Number
from agents.numbers import dates_in as read_dates
from agents.numbers import numbers_in as read_numbers
from evals.questions import Question, Tolerance, resolve_expected

__all__ = [
    "dates_in",
    "faithfulness",
    "number_matches",
    "numbers_in",
    "score_answer",
    "sources_of",
]

def dates_in(text: str) -> list[str]:
    """Return the real dates written in ``text``, as ISO strings, in order of appearance."""
    return [date.iso for date in read_dates(text) if date.iso]


def numbers_in(text: str) -> list[Number]:
    """Return the numbers ``text`` shows as values, leaving out dates and names ("x2")."""
    return [number for number in read_numbers(text) if not number.joined_before]


DEFAULT_TOLERANCE = Tolerance()


def number_matches(expected: float, shown: Number,
                   tolerance: Tolerance = DEFAULT_TOLERANCE) -> bool:
    """Say whether ``shown`` is ``expected`` within the tolerance or rounded as displayed."""
    if abs(shown.value - expected) <= tolerance.rel * abs(expected) + 1e-12:
        return True
    rounded_ok = shown.decimals >= tolerance.min_decimals
    return rounded_ok and abs(shown.value - expected) <= 0.5 * 10 ** -shown.decimals + 1e-12


def _word_in(word: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.I) is not None


def score_answer(question: Question, answer: str, today: dt.date) -> tuple[bool, list[str]]:
    """Return whether every expected value is in ``answer``, and the labels of those missing."""
    numbers, dates = numbers_in(answer), set(dates_in(answer))
    missing = []
    for item in question.expected:
        expected = resolve_expected(item, today)
        if expected.kind == "number":
            found = any(number_matches(float(expected.value), shown, question.tolerance)
                        for shown in numbers)
        elif expected.kind == "date":
            found = expected.value in dates
        else:
            found = _word_in(str(expected.value), answer)
        if not found:
            missing.append(expected.label())
    return not missing, missing


def sources_of(question: str, tool_results: Iterable[dict[str, Any]]) -> list[str]:
    """Return the texts an answer may take values from: the question and each tool result."""
    sources = [question]
    for result in tool_results:
        sources.append(str(result.get("output", "")))
        sources.append(json.dumps(result.get("args", {}), ensure_ascii=False))
    return sources


def faithfulness(answer: str, sources: Sequence[str]) -> tuple[bool, list[str], bool]:
    """Return (faithful, unsupported values, leaks the trace) for ``answer``."""
    unsupported = unsupported_values(answer, sources)
    leaked = leaks_trace(answer)
    return not unsupported and not leaked, unsupported, leaked
