"""Check a final answer against the tool results it was written from.

Small models copy the trace format of their prompt and invent digits: a tool says
266 and the answer says 214. An answer is *faithful* when every number and date
it states is one the sources state (the question, the tools' arguments and
outputs), allowing only rounding to fewer decimals and a percent sign; and when it
shows no trace syntax (``calculator({...}) -> 266``). It is *complete* when it
carries each tool result's value. ``answer_pattern`` is the regular expression a
repaired answer is decoded under: free text, but numbers only from the sources.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from agents.numbers import ISO_DATE, Date, Number, dates_in, numbers_in
from backends.errors import ToolError
from tools.arithmetic import evaluate, format_number

__all__ = [
    "answer_pattern",
    "false_claims",
    "key_value",
    "key_weekday",
    "leaks_trace",
    "missing_values",
    "stated_numbers",
    "unsupported_values",
]

# After a date, with its time of day if it has one: "2026-12-02T09:05:05+00:00 (Wednesday".
WEEKDAY_AFTER = re.compile(
    r"(?:T[0-9:.+\-Z]+)?\s*\((Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")
ORDINAL = re.compile(r"(?:st|nd|rd|th)\b", re.IGNORECASE)
TRACE = re.compile(r"\w\(\s*\{|->|\{\s*\"|Tool results?:|^\s*\d+\.\s+\w+\(", re.MULTILINE)


def stated_numbers(text: str) -> list[Number]:
    """Return the numbers ``text`` states as values: outside dates, names and ordinals.

    "8.05km" states 8.05; "CO2", "x2" and "3rd" state nothing.
    """
    return [number for number in numbers_in(text)
            if not number.joined_before and not ORDINAL.match(text, number.end)]


def _day(date: Date) -> str:
    return date.iso or date.text


def _iso_dates(text: str) -> list[str]:
    return [match[0] for match in ISO_DATE.finditer(text)]


def _source_values(sources: Iterable[str]) -> tuple[set[str], list[float]]:
    dates: set[str] = set()
    values: list[float] = []
    for text in sources:
        found = dates_in(text)
        dates.update(_day(date) for date in found)
        values += [abs(number.value) for number in stated_numbers(text)]
        # Dates' own parts ("the 24th") are stated by the source too.
        values += [float(part) for date in found for part in re.findall(r"\d+", _day(date))]
    return dates, values


def _supported(value: float, decimals: int, percent: bool, known: Sequence[float]) -> bool:
    candidates = [abs(value)] + ([abs(value) / 100] if percent else [])
    return any(
        math.isclose(candidate, source, rel_tol=1e-9, abs_tol=1e-12)
        # "8.05" for 8.04672 rounds; an integer source cannot be rounded to another.
        or (not source.is_integer() and round(source, decimals) == candidate)
        for candidate in candidates for source in known
    )


def unsupported_values(answer: str, sources: Sequence[str]) -> list[str]:
    """Return the numbers and dates in ``answer`` that no text in ``sources`` supports.

    A number is supported when a source states it, or a value that rounds to it at
    the decimals the answer shows, or (written with ``%``) a hundredth of it.
    Commas as thousands separators and signs are ignored.
    """
    dates, known = _source_values(sources)
    unsupported = [date.text for date in dates_in(answer) if _day(date) not in dates]
    for number in stated_numbers(answer):
        if not _supported(number.value, number.decimals, number.percent, known):
            unsupported.append(number.text + ("%" if number.percent else ""))
    return unsupported


_AMOUNT = r"[-\u2212]?\$?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?%?"
_HEDGE = r"(?:about|approximately|around|roughly|nearly|almost|exactly|just)"
_OPERATOR = r"(?:\*\*|[-+*/×÷^x\u2212]|plus|minus|times|multiplied by|divided by|over|of)"
CLAIM = re.compile(
    rf"(?<![\w.])(?P<lhs>{_AMOUNT}(?:\s*{_OPERATOR}\s*{_AMOUNT})+)\s*"
    rf"(?:=|\bequals?\b|\bis\b|\bare\b|\bmakes\b|\bgives\b)\s*(?:{_HEDGE}\s+)?\$?"
    rf"(?P<rhs>{_AMOUNT}(?:\s*{_OPERATOR}\s*{_AMOUNT})*)(?![\d.]\d)", re.IGNORECASE)
_WORDS = {"plus": "+", "minus": "-", "times": "*", "multiplied by": "*", "divided by": "/",
          "over": "/", "×": "*", "÷": "/", "^": "**", "x": "*", "\u2212": "-"}


def _as_expression(claimed: str) -> str:
    text = claimed.replace("$", "").replace(",", "")
    text = re.sub(r"(\d+(?:\.\d+)?)%\s*of\b", r"(\1 / 100) *", text, flags=re.IGNORECASE)
    text = re.sub(r"(\d+(?:\.\d+)?)%", r"(\1 / 100)", text)
    for word, symbol in _WORDS.items():
        text = re.sub(rf"(?<![a-z]){re.escape(word)}(?![a-z])", f" {symbol} ", text,
                      flags=re.IGNORECASE)
    return text


def _rounding(shown: str) -> float:
    """Return how far a value written as ``shown`` may be from the true one: half its last place.

    "1.27e+30" is 2 ** 100 to three figures; an expression is held to 12 decimals.
    """
    written = re.fullmatch(r"\$?([\d,]*)(?:\.(\d+))?(?:[eE]([-+]?\d+))?%?", shown.strip())
    if written is None:
        return 0.5 * 10 ** -12
    decimals, exponent = len(written[2] or ""), int(written[3] or 0)
    return 0.5 * 10.0 ** (exponent - decimals)


def false_claims(answer: str) -> list[str]:
    """Return each arithmetic claim in ``answer`` that is false, with its true value.

    A claim is ``a op b = c`` or ``a op b is c`` (also ``X% of Y is Z`` and
    ``plus``/``minus``/``times``/``divided by``), evaluated again with the
    calculator's own evaluator; ``c`` may be the true value rounded to the
    decimals it shows.
    """
    false = []
    start = 0
    text = list(answer)
    for date in dates_in(answer):  # "2026-12-07" is a day, not a subtraction
        text[date.start:date.end] = " " * (date.end - date.start)
    plain = "".join(text)
    # A claim's right side may be the left side of the next: "a - b is a - b = c".
    while match := CLAIM.search(plain, start):
        start = match.start("rhs")
        try:
            value = float(evaluate(_as_expression(match["lhs"])))
            claimed = float(evaluate(_as_expression(match["rhs"])))
        except (ToolError, OverflowError, ZeroDivisionError):
            continue  # not arithmetic the calculator reads: nothing to hold it to
        if not math.isclose(value, claimed, rel_tol=1e-9) \
                and abs(value - claimed) > _rounding(match["rhs"]) + 1e-9 * abs(value):
            false.append(f"{match[0].strip()} (it is {format_number(value)})")
    return false


def leaks_trace(answer: str) -> bool:
    """Return whether ``answer`` shows the tool-trace format of the prompt."""
    return bool(TRACE.search(answer))


def key_value(output: str) -> str | None:
    """Return the value a tool result is about: its last date, else its last number."""
    dates = _iso_dates(output)
    if dates:
        return dates[-1]
    numbers = stated_numbers(output)
    return numbers[-1].text if numbers else None


def key_weekday(output: str) -> str | None:
    """Return the weekday a tool result gives for its key date (``2026-12-12 (Saturday)``)."""
    dates = _iso_dates(output)
    if not dates:
        return None
    match = WEEKDAY_AFTER.match(output, output.rindex(dates[-1]) + len(dates[-1]))
    return match.group(1) if match else None


def missing_values(answer: str, outputs: Sequence[str]) -> list[str]:
    """Return the key values of ``outputs`` that ``answer`` omits.

    A result's key value is its last date, with the weekday the result gives for
    it, else its last number (``key_value``, ``key_weekday``).
    """
    stated_dates = {_day(date) for date in dates_in(answer)}
    stated = [(n.value, n.decimals, n.percent) for n in stated_numbers(answer)]
    missing = []
    for output in outputs:
        value = key_value(output)
        if value is None:
            continue
        if ISO_DATE.fullmatch(value):
            if value not in stated_dates:
                missing.append(value)
            weekday = key_weekday(output)
            if weekday and not re.search(rf"\b{weekday}\b", answer, re.IGNORECASE):
                missing.append(weekday)
            continue
        wanted = abs(stated_numbers(value)[0].value)
        if not any(_supported(v, d, p, [wanted]) for v, d, p in stated):
            missing.append(value)
    return missing


def answer_pattern(sources: Sequence[str]) -> str:
    """Return a regex for free text whose numbers and dates are those of ``sources``.

    Digits may appear only inside a value copied whole from the sources, and a
    value never runs on into more digits, so "266" cannot become "266.7". Braces,
    quotes, backslashes, ``>`` and parentheses are excluded, so no trace syntax.
    """
    values = {date.text for text in sources for date in dates_in(text)}
    values |= {number.text.lstrip("-\u2212") for text in sources
               for number in stated_numbers(text)}
    # Longest first, so an alternation never stops at a value's prefix.
    # re.escape writes a space as "\\ ", an escape llama.cpp's grammar converter refuses
    # (it then drops the whole pattern); a bare space means the same.
    alternatives = "|".join(re.escape(v).replace("\\ ", " ")
                            for v in sorted(values, key=lambda v: (-len(v), v)))
    text = r'[^0-9"\\{}()<>\n]'
    after = r'(?:[^0-9."\\{}()<>\n]|\.[^0-9"\\{}()<>\n])'
    if not alternatives:
        return f"^{text}+$"
    value = f"(?:{alternatives})"
    # At least one value; "$" only at the end, where llama.cpp's converter takes it.
    return f"^{text}*{value}(?:{after}{text}*{value})*(?:{after}{text}*|\\.)?$"
