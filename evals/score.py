"""Score one answer of the evaluation: does it state the expected value *as its answer*?

Strict rules (``score_answer``), each in ``docs/answer-quality.md``:

* The answer's **stated values** are its numbers, dates and weekdays, less three
  kinds that say nothing about what the answer claims:
  - an **echoed tool call** (``calculator({"expression": "20 / 100 * 150"})``, any
    ``name(...)`` with arguments, any ``{...}``) is removed first;
  - an **operand**: a number joined to another by an operator (``+ - * / x ÷ ^``,
    ``plus``, ``minus``, ``times``, ``multiplied by``, ``divided by``, ``X% of Y``);
    a number right after ``=`` is a result, not an operand;
  - a **restatement**: a number the question itself states (unless it is a result
    after ``=``).
* A number part is right when a stated number equals it within the question's
  ``Tolerance``; a multi-part question needs each of its parts, each from a
  stated value of its own.
* A date or weekday part is right when it is the *last* date (weekday) the answer
  states: "today is Monday, in 5 days it is Saturday" answers Saturday; naming
  the right day among others is not enough.
* A text part is a whole word, case-insensitive; ``a|b`` accepts either.

``lenient_score`` is the scoring used until December 2026 (any number anywhere in
the answer, any weekday word), kept so reports can show what strictness changed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from agents.numbers import Number
from agents.numbers import dates_in as read_dates
from agents.numbers import numbers_in as read_numbers
from evals.questions import WEEKDAYS, Expected, Question, Tolerance, resolve_expected

__all__ = [
    "Stated",
    "dates_in",
    "lenient_score",
    "number_matches",
    "numbers_in",
    "score_answer",
    "stated_values",
]

_ECHO = re.compile(r"\b\w+\s*\((?:[^()]|\([^()]*\))*[=:{\"](?:[^()]|\([^()]*\))*\)|\{[^{}]*\}")
_OPERATORS = {"+", "-", "\u2212", "*", "**", "x", "\u00d7", "/", "\u00f7", "^", "plus", "minus",
              "times", "multipliedby", "dividedby", "over"}
_EQUALS = re.compile(r"(?:=|\bequals?)\s*[$€£(]*\s*$", re.IGNORECASE)
_BETWEEN_NOISE = re.compile(r"[\s()$€£]")
_ORDINAL = re.compile(r"(?:st|nd|rd|th)\b", re.IGNORECASE)
_WEEKDAY = re.compile(r"\b(" + "|".join(WEEKDAYS) + r")\b", re.IGNORECASE)


def dates_in(text: str) -> list[str]:
    """Return the real dates written in ``text``, as ISO strings, in order of appearance."""
    return [date.iso for date in read_dates(text) if date.iso]


def numbers_in(text: str) -> list[Number]:
    """Return the numbers ``text`` shows as values, leaving out dates and names ("x2")."""
    return [number for number in read_numbers(text)
            if not number.joined_before and not _ORDINAL.match(text, number.end)]


DEFAULT_TOLERANCE = Tolerance()


def number_matches(expected: float, shown: Number,
                   tolerance: Tolerance = DEFAULT_TOLERANCE) -> bool:
    """Say whether ``shown`` is ``expected`` within the tolerance or rounded as displayed."""
    if abs(shown.value - expected) <= tolerance.rel * abs(expected) + 1e-12:
        return True
    rounded_ok = shown.decimals >= tolerance.min_decimals
    return rounded_ok and abs(shown.value - expected) <= 0.5 * 10 ** -shown.decimals + 1e-12


@dataclass(frozen=True)
class Stated:
    """What an answer states as its values, in order of appearance."""

    numbers: tuple[Number, ...]
    dates: tuple[str, ...]
    weekdays: tuple[str, ...]


def _joined_by_operator(left: Number, right: Number, text: str) -> bool:
    between = _BETWEEN_NOISE.sub("", text[left.end:right.start]).casefold()
    return between in _OPERATORS or (between == "of" and left.percent)


def stated_values(answer: str, question: str) -> Stated:
    """Return the numbers, dates and weekdays ``answer`` states, less echoes and operands."""
    text = _ECHO.sub(lambda match: " " * len(match[0]), answer)
    numbers = numbers_in(text)
    given = [abs(number.value) for number in numbers_in(question)]
    operands: set[int] = set()
    for i in range(len(numbers) - 1):
        if _joined_by_operator(numbers[i], numbers[i + 1], text):
            operands |= {i, i + 1}
    stated = []
    for i, number in enumerate(numbers):
        result = _EQUALS.search(text, 0, number.start) is not None
        restated = any(abs(abs(number.value) - value) < 1e-12 for value in given)
        if result or (i not in operands and not restated):
            stated.append(number)
    weekdays = [match[1].capitalize() for match in _WEEKDAY.finditer(text)]
    return Stated(tuple(stated), tuple(dates_in(text)), tuple(weekdays))


def _word_in(words: str, text: str) -> bool:
    return any(re.search(rf"(?<!\w){re.escape(word.strip())}(?!\w)", text, re.I)
               for word in words.split("|") if word.strip())


def _last_is(kind_values: Sequence[str], stated: Sequence[str]) -> list[str]:
    # Each expected value must be stated, and the last one stated must be the last asked.
    missing = [value for value in kind_values if value not in stated]
    if not missing and kind_values and stated[-1] != kind_values[-1]:
        missing.append(kind_values[-1])
    return missing


def score_answer(question: Question, answer: str, today: dt.date) -> tuple[bool, list[str]]:
    """Return whether ``answer`` states every expected value as its answer, and what it misses.

    The strict rules are in the module docstring.
    """
    stated = stated_values(answer, question.question)
    expected = [resolve_expected(item, today) for item in question.expected]
    missing: list[str] = []
    unused = list(stated.numbers)
    for part in expected:
        if part.kind == "number":
            match = next((n for n in unused
                          if number_matches(float(part.value), n, question.tolerance)), None)
            if match is None:
                missing.append(part.label())
            else:
                unused.remove(match)
        elif part.kind == "text" and not _word_in(str(part.value), answer):
            missing.append(part.label())
    missing += _last_is([str(p.value) for p in expected if p.kind == "date"], stated.dates)
    missing += _last_is([str(p.value) for p in expected if p.kind == "weekday"], stated.weekdays)
    return not missing, missing


def lenient_score(question: Question, answer: str, today: dt.date) -> bool:
    """Return the score the eval gave before its strict rules: any matching value anywhere."""
    numbers, dates = numbers_in(answer), set(dates_in(answer))

    def found(part: Expected) -> bool:
        if part.kind == "number":
            return any(number_matches(float(part.value), shown, question.tolerance)
                       for shown in numbers)
        if part.kind == "date":
            return part.value in dates
        return _word_in(str(part.value), answer)

    return all(found(resolve_expected(item, today)) for item in question.expected)
