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
from dataclasses import dataclass
from typing import Any

from agents.answer_check import leaks_trace, unsupported_values
from evals.questions import Question, Tolerance, resolve_expected

__all__ = [
    "Shown",
    "dates_in",
    "faithfulness",
    "number_matches",
    "numbers_in",
    "score_answer",
    "sources_of",
]

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_MONTH = "(" + "|".join(_MONTHS) + ")"
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_MONTH_FIRST = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I)
_DAY_FIRST = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(\d{{4}})\b",
                        re.I)
# A sign counts only where it cannot be a hyphen between two words or numbers.
_NUMBER = re.compile(r"(?<![\w.])([-\u2212]?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?!\d)")


@dataclass(frozen=True)
class Shown:
    """A number as written in a text: its value and how many decimals it shows."""

    text: str
    value: float
    decimals: int


def _date(year: str, month: int, day: str) -> str | None:
    try:
        return dt.date(int(year), month, int(day)).isoformat()
    except ValueError:
        return None


def _date_spans(text: str) -> list[tuple[int, int, str | None]]:
    spans = [(m.start(), m.end(), _date(m[1], int(m[2]), m[3])) for m in _ISO_DATE.finditer(text)]
    spans += [(m.start(), m.end(), _date(m[3], _MONTHS.index(m[1].lower()) + 1, m[2]))
              for m in _MONTH_FIRST.finditer(text)]
    spans += [(m.start(), m.end(), _date(m[3], _MONTHS.index(m[2].lower()) + 1, m[1]))
              for m in _DAY_FIRST.finditer(text)]
    return spans


def dates_in(text: str) -> list[str]:
    """Return the dates written in ``text``, as ISO strings, in order of appearance."""
    return [iso for _, _, iso in sorted(_date_spans(text)) if iso]


def numbers_in(text: str) -> list[Shown]:
    """Return the numbers written in ``text``, leaving out the parts of dates."""
    spans = _date_spans(text)
    blanked = list(text)
    for start, end, _ in spans:
        blanked[start:end] = " " * (end - start)
    found = []
    for match in _NUMBER.finditer("".join(blanked)):
        sign = "-" if match[1] else ""
        fraction = match[3] or ""
        value = float(sign + match[2].replace(",", "") + fraction)
        found.append(Shown(match[0], value, len(fraction) - 1 if fraction else 0))
    return found


DEFAULT_TOLERANCE = Tolerance()


def number_matches(expected: float, shown: Shown,
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
