"""Judge whether an answer is faithful to its run: the eval's own checker.

It shares no code with the graphs' answer check (``agents.answer_check``), so a
bug there cannot make the graphs look faithful here. An answer is faithful when:

* every **arithmetic claim** it makes holds: ``a op b = c``, ``a op b is c``,
  ``X% of Y is Z`` and their word forms (``plus``, ``minus``, ``times``,
  ``divided by``) are evaluated again with the calculator's evaluator, and the
  claimed result must equal it as displayed (rounded to the decimals shown);
* every **value** it states (numbers and dates) is supported by the run: the
  question, a tool's arguments or a tool's output state it (a number may be shown
  rounded, or written with ``%`` as a hundredth of it), or it is the result of a
  claim that holds;
* it does not copy the tool-trace format (``calculator({...}) -> 266``).

Only tool-route answers are judged: a chat answer has no tool results to be
faithful to, so its verdict is ``None``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.numbers import Number
from backends.errors import ToolError
from evals.score import dates_in, numbers_in
from tools.arithmetic import evaluate

__all__ = ["Verdict", "arithmetic_claims", "judge"]

_OPERATOR = {"+": "+", "-": "-", "\u2212": "-", "*": "*", "**": "**", "x": "*", "\u00d7": "*",
             "/": "/", "\u00f7": "/", "^": "**", "plus": "+", "minus": "-", "times": "*",
             "multipliedby": "*", "dividedby": "/", "over": "/"}
_NOISE = re.compile(r"[\s$€£]")
_CLAIMS = re.compile(r"^[^\d]{0,24}?\s*(?:=|\bequals?\b|\bis\b|\bare\b|\bmakes?\b|\bgives?\b)"
                     r"\s*(?:about\s+|approximately\s+)?[$€£(]*\s*$", re.IGNORECASE)
_TRACE = re.compile(r"\w\(\s*\{|->|\{\s*\"|^\s*\d+\.\s+\w+\(", re.MULTILINE)


@dataclass(frozen=True)
class Claim:
    """A claim as written (``text``): ``expression`` (as the calculator reads it) is ``result``."""

    text: str
    expression: str
    result: Number
    holds: bool


@dataclass(frozen=True)
class Verdict:
    """The checker's judgement of one answer."""

    faithful: bool
    unsupported: list[str] = field(default_factory=list)
    false_claims: list[str] = field(default_factory=list)
    leaks_trace: bool = False


def _operator(left: Number, right: Number, text: str) -> str | None:
    between = _NOISE.sub("", text[left.end:right.start]).strip("()").casefold()
    if between == "of" and left.percent:
        return "*"
    return _OPERATOR.get(between)


def _term(number: Number) -> str:
    value = repr(abs(number.value)) if number.value < 0 else repr(number.value)
    term = f"(-{value})" if number.value < 0 else value
    return f"({term} / 100)" if number.percent else term


def _expressions(numbers: Sequence[Number], text: str) -> list[tuple[int, int, str]]:
    """Return (first, last, calculator expression) for each run of numbers joined by operators."""
    runs: list[tuple[int, int, str]] = []
    start, expression = 0, _term(numbers[0]) if numbers else ""
    for i in range(1, len(numbers) + 1):
        operator = _operator(numbers[i - 1], numbers[i], text) if i < len(numbers) else None
        if operator is not None:
            expression += f" {operator} {_term(numbers[i])}"
            continue
        runs.append((start, i - 1, expression))
        if i < len(numbers):
            start, expression = i, _term(numbers[i])
    return runs


def _value(expression: str) -> float | None:
    try:
        return float(evaluate(expression))
    except (ToolError, OverflowError, ValueError):
        return None


def _equal_as_shown(value: float, shown: Number) -> bool:
    tolerance = 0.5 * 10 ** -shown.decimals if shown.decimals else 0.5
    return math.isclose(value, shown.value, rel_tol=1e-9) or abs(value - shown.value) <= (
        tolerance + 1e-9 * abs(value))


def arithmetic_claims(answer: str) -> list[Claim]:
    """Return every arithmetic claim in ``answer``, each evaluated again."""
    numbers = numbers_in(answer)
    runs = _expressions(numbers, answer)
    claims = []
    for index, (first, last, expression) in enumerate(runs):
        if first == last or index + 1 == len(runs):
            continue
        nxt_first, nxt_last, nxt_expression = runs[index + 1]
        if not _CLAIMS.match(answer[numbers[last].end:numbers[nxt_first].start]):
            continue
        claimed, computed = _value(nxt_expression), _value(expression)
        shown = numbers[nxt_last] if nxt_first == nxt_last else None
        holds = computed is not None and claimed is not None and (
            _equal_as_shown(computed, shown) if shown else math.isclose(computed, claimed))
        claims.append(Claim(answer[numbers[first].start:numbers[nxt_last].end], expression,
                            numbers[nxt_last], holds))
    return claims


def _supported(number: Number, known: Sequence[float]) -> bool:
    candidates = [abs(number.value)] + ([abs(number.value) / 100] if number.percent else [])
    return any(math.isclose(c, k, rel_tol=1e-9, abs_tol=1e-12)
               or (number.decimals < 12 and not float(k).is_integer()
                   and round(k, number.decimals) == c)
               for c in candidates for k in known)


def judge(answer: str, question: str, tool_results: Sequence[Mapping[str, Any]]) -> Verdict:
    """Judge ``answer`` against its question and the run's tool results."""
    sources = [question] + [str(r.get("output", "")) for r in tool_results] + [
        json.dumps(r.get("args", {}), ensure_ascii=False) for r in tool_results]
    known = [abs(n.value) for text in sources for n in numbers_in(text)]
    known += [float(part) for text in sources for day in dates_in(text)
              for part in day.split("-")]
    days = {day for text in sources for day in dates_in(text)}
    claims = arithmetic_claims(answer)
    proven = {claim.result.start for claim in claims if claim.holds}
    unsupported = [day for day in dates_in(answer) if day not in days]
    unsupported += [n.text + ("%" if n.percent else "") for n in numbers_in(answer)
                    if n.start not in proven and not _supported(n, known)]
    false = [claim.text for claim in claims if not claim.holds]
    leaked = bool(_TRACE.search(answer))
    return Verdict(not (unsupported or false or leaked), unsupported, false, leaked)
