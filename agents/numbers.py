"""Read the numbers and dates a text states: one reader for every check that asks.

The split check (do the parts carry the message's numbers?), the answer check
(does the answer state only what its sources state?) and the eval's scoring (is
the expected value the one the answer gives?) all start from the same reading of
a text, done here once.

* A **date** is ISO (``2026-12-07``) or written out (``March 5, 2026``,
  ``5th of March 2026``). Its digits are not numbers. An impossible date
  (``2026-02-30``) is still read as a date, with no ISO value.
* A **number** is ``1,234``, ``36.0``, ``-40``, ``1.5e3`` or ``15%``. A minus sign
  counts only where it cannot be an operator or a hyphen: ``5-3`` is 5 and 3.
  A number right after a dot (``.5``) or inside a word is read, but flagged:
  each check decides whether ``5km`` or ``CO2`` states a value.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["ISO_DATE", "Date", "Number", "dates_in", "numbers_in"]

ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_MONTH = "(" + "|".join(_MONTHS) + ")"
_MONTH_FIRST = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I)
_DAY_FIRST = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(\d{{4}})\b",
                        re.I)
_NUMBER = re.compile(r"(?<!\d)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?([eE][-+]?\d+)?(?![\d])(%?)")
_SIGNS = "-\u2212"


@dataclass(frozen=True)
class Date:
    """A date as written in a text."""

    text: str
    iso: str | None  # None: the text names no real day
    start: int
    end: int


@dataclass(frozen=True)
class Number:
    """A number as written in a text, with what touches it."""

    text: str  # as written, sign included, without a percent sign
    value: float
    decimals: int  # decimals shown; 0 with an exponent
    percent: bool
    start: int
    end: int
    # A letter, digit separator or dot right before it ("x2", ".5"), a letter right after
    # it ("5km", "3rd"): part of a name, a unit or an ordinal rather than a stated value.
    joined_before: bool
    joined_after: bool

    @property
    def standalone(self) -> bool:
        """Say whether nothing is joined to the number on either side."""
        return not (self.joined_before or self.joined_after)


def _iso(year: str, month: int, day: str) -> str | None:
    try:
        return dt.date(int(year), month, int(day)).isoformat()
    except ValueError:
        return None


def dates_in(text: str) -> list[Date]:
    """Return the dates written in ``text``, in order, ISO and written-out alike."""
    found = [Date(m[0], _iso(m[1], int(m[2]), m[3]), m.start(), m.end())
             for m in ISO_DATE.finditer(text)]
    found += [Date(m[0], _iso(m[3], _MONTHS.index(m[1].lower()) + 1, m[2]), m.start(), m.end())
              for m in _MONTH_FIRST.finditer(text)]
    found += [Date(m[0], _iso(m[3], _MONTHS.index(m[2].lower()) + 1, m[1]), m.start(), m.end())
              for m in _DAY_FIRST.finditer(text)]
    return sorted(found, key=lambda date: date.start)


def _word(char: str) -> bool:
    return char.isalnum() or char == "_"


def numbers_in(text: str) -> list[Number]:
    """Return the numbers written in ``text`` outside its dates, in order."""
    blanked = list(text)
    for date in dates_in(text):
        blanked[date.start:date.end] = " " * (date.end - date.start)
    plain = "".join(blanked)
    found = []
    for match in _NUMBER.finditer(plain):
        start = match.start()
        before = plain[start - 1] if start else ""
        signed = bool(before) and before in _SIGNS and (
            start < 2 or not (_word(plain[start - 2]) or plain[start - 2] == "."))
        if signed:
            start -= 1
            before = plain[start - 1] if start else ""
        digits, fraction, exponent, percent = match.groups()
        written = ("-" if signed else "") + digits + (fraction or "") + (exponent or "")
        end = match.end() - len(percent)
        after = plain[end:end + 1]
        found.append(Number(
            text=text[start:end],
            value=float(Decimal(written.replace(",", ""))),
            decimals=len(fraction) - 1 if fraction and not exponent else 0,
            percent=bool(percent), start=start, end=match.end(),
            joined_before=_word(before) or before == ".",
            joined_after=not percent and _word(after)))
    return found
