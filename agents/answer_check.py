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
from decimal import Decimal, InvalidOperation

__all__ = [
    "answer_pattern",
    "key_value",
    "key_weekday",
    "leaks_trace",
    "missing_values",
    "numbers_in",
    "unsupported_values",
]

DATE = re.compile(r"(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)")
# A minus sign counts only where it cannot be an operator or a date's dash.
NUMBER = re.compile(
    r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])(%?)"
)
# After a date, with its time of day if it has one: "2026-12-02T09:05:05+00:00 (Wednesday".
WEEKDAY_AFTER = re.compile(
    r"(?:T[0-9:.+\-Z]+)?\s*\((Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")
TRACE = re.compile(r"\w\(\s*\{|->|\{\s*\"|Tool results?:|^\s*\d+\.\s+\w+\(", re.MULTILINE)


def numbers_in(text: str) -> list[tuple[str, float, int, bool]]:
    """Return (as written, value, decimals shown, has percent) per number outside dates."""
    found = []
    for match in NUMBER.finditer(DATE.sub(" ", text)):
        written = match.group(0).rstrip("%")
        plain = written.replace(",", "")
        try:
            value = Decimal(plain)
        except InvalidOperation:  # pragma: no cover - NUMBER only matches decimals
            continue
        if not value.is_finite():
            continue
        exponent = value.as_tuple().exponent
        decimals = -exponent if isinstance(exponent, int) and "e" not in plain.lower() \
            and exponent < 0 else 0
        found.append((written, float(value), decimals, bool(match.group(1))))
    return found


def _source_values(sources: Iterable[str]) -> tuple[set[str], list[float]]:
    dates: set[str] = set()
    values: list[float] = []
    for text in sources:
        dates.update(DATE.findall(text))
        values += [abs(value) for _, value, _, _ in numbers_in(text)]
        # Dates' own parts ("the 24th") are stated by the source too.
        values += [float(part) for date in DATE.findall(text) for part in date.split("-")]
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
    unsupported = [date for date in DATE.findall(answer) if date not in dates]
    for written, value, decimals, percent in numbers_in(answer):
        if not _supported(value, decimals, percent, known):
            unsupported.append(written + ("%" if percent else ""))
    return unsupported


def leaks_trace(answer: str) -> bool:
    """Return whether ``answer`` shows the tool-trace format of the prompt."""
    return bool(TRACE.search(answer))


def key_value(output: str) -> str | None:
    """Return the value a tool result is about: its last date, else its last number."""
    dates = DATE.findall(output)
    if dates:
        return str(dates[-1])
    numbers = numbers_in(output)
    return numbers[-1][0] if numbers else None


def key_weekday(output: str) -> str | None:
    """Return the weekday a tool result gives for its key date (``2026-12-12 (Saturday)``)."""
    dates = DATE.findall(output)
    if not dates:
        return None
    match = WEEKDAY_AFTER.match(output, output.rindex(dates[-1]) + len(dates[-1]))
    return match.group(1) if match else None


def missing_values(answer: str, outputs: Sequence[str]) -> list[str]:
    """Return the key values of ``outputs`` that ``answer`` omits.

    A result's key value is its last date, with the weekday the result gives for
    it, else its last number (``key_value``, ``key_weekday``).
    """
    stated_dates = set(DATE.findall(answer))
    stated = [(v, d, p) for _, v, d, p in numbers_in(answer)]
    missing = []
    for output in outputs:
        value = key_value(output)
        if value is None:
            continue
        if DATE.fullmatch(value):
            if value not in stated_dates:
                missing.append(value)
            weekday = key_weekday(output)
            if weekday and not re.search(rf"\b{weekday}\b", answer, re.IGNORECASE):
                missing.append(weekday)
            continue
        wanted = abs(numbers_in(value)[0][1])
        if not any(_supported(v, d, p, [wanted]) for v, d, p in stated):
            missing.append(value)
    return missing


def answer_pattern(sources: Sequence[str]) -> str:
    """Return a regex for free text whose numbers and dates are those of ``sources``.

    Digits may appear only inside a value copied whole from the sources, and a
    value never runs on into more digits, so "266" cannot become "266.7". Braces,
    quotes, backslashes, ``>`` and parentheses are excluded, so no trace syntax.
    """
    values = {date for text in sources for date in DATE.findall(text)}
    values |= {written.lstrip("-") for text in sources for written, *_ in numbers_in(text)}
    # Longest first, so an alternation never stops at a value's prefix.
    alternatives = "|".join(re.escape(v) for v in sorted(values, key=lambda v: (-len(v), v)))
    text = r'[^0-9"\\{}()<>\n]'
    after = r'(?:[^0-9."\\{}()<>\n]|\.[^0-9"\\{}()<>\n])'
    if not alternatives:
        return f"^{text}+$"
    value = f"(?:{alternatives})"
    # At least one value; "$" only at the end, where llama.cpp's converter takes it.
    return f"^{text}*{value}(?:{after}{text}*{value})*(?:{after}{text}*|\\.)?$"
