"""Dates as the calendar tools read and write them.

A model writes ``2025-07-04``, ``07-04`` (a month and day, no year) or ``today``;
anything else, or a day its month does not have, is refused with a message that
says what to write. Dates are written back in English whatever the process locale:
``2025-07-04 (Friday)`` where the date is the answer, ``Friday 4 July 2025`` where it
only frames a number.
"""

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from backends.errors import ToolArgumentError

__all__ = ["ISO_DAY", "WEEKDAYS", "Day", "month_day", "parse_day", "weekday", "written"]

# strftime and calendar.month_name follow the process locale; the model should see English.
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("", "January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
# A full date as the tool reads it (the plan checks read it the same way).
ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_MONTH_DAY = re.compile(r"(?:--)?(\d{1,2})-(\d{1,2})")
_TOOL = "calendar"


def weekday(day: dt.date) -> str:
    """Write ``day`` as the answer checks read a date: ``2027-07-04 (Sunday)``."""
    return f"{day.isoformat()} ({WEEKDAYS[day.weekday()]})"


def month_day(day: dt.date) -> str:
    """Write ``day``'s day and month, ``4 July``."""
    return f"{day.day} {_MONTHS[day.month]}"


def written(day: dt.date) -> str:
    """Write ``day`` out in words, ``Sunday 4 July 2027``, for text around a number."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month]} {day.year}"


@dataclass(frozen=True)
class Day:
    """A date as given: a month and day, and the year if one was written."""

    month: int
    day: int
    year: int | None
    text: str

    def in_year(self, year: int) -> dt.date:
        """Return this month and day in ``year``.

        Raises:
            ToolArgumentError: ``year`` has no such day (29 February, mostly).
        """
        try:
            return dt.date(year, self.month, self.day)
        except ValueError:
            days = calendar.monthrange(year, self.month)[1]
            raise ToolArgumentError(
                f"{self.text!r} is not a date in {year}: {_MONTHS[self.month]} {year} has "
                f"{days} days; write the year that has it", tool=_TOOL) from None

    def next_from(self, today: dt.date) -> dt.date:
        """Return the first date on or after ``today`` with this month and day."""
        for year in range(today.year, min(today.year + 9, dt.MAXYEAR + 1)):
            if calendar.monthrange(year, self.month)[1] >= self.day:
                coming = dt.date(year, self.month, self.day)
                if coming >= today:
                    return coming
        raise ToolArgumentError(f"{self.text!r} does not come round again in the calendar",
                                tool=_TOOL)


def parse_day(text: str, field: str, today: dt.date) -> Day:
    """Read ``text``: an ISO date, a month and day (``MM-DD``) or ``today``.

    Raises:
        ToolArgumentError: The text is none of those, or names a month or a day
            that does not exist.
    """
    cleaned = text.strip()
    if cleaned.casefold() == "today":
        return Day(today.month, today.day, today.year, today.isoformat())
    full, short = ISO_DAY.fullmatch(cleaned), _MONTH_DAY.fullmatch(cleaned)
    if full is None and short is None:
        raise ToolArgumentError(
            f"{field}={text!r} is not a date: write YYYY-MM-DD (e.g. 2025-07-04), MM-DD "
            "for a month and day, or today", tool=_TOOL)
    year, month, day = ((int(full[1]), int(full[2]), int(full[3])) if full
                        else (None, int(short[1]), int(short[2])) if short else (None, 0, 0))
    if year == 0:
        raise ToolArgumentError(f"{field}={text!r}: years run from 0001 to 9999", tool=_TOOL)
    if not 1 <= month <= 12:
        raise ToolArgumentError(
            f"{field}={text!r}: there is no month {month}; write the month before the day "
            "(YYYY-MM-DD or MM-DD)", tool=_TOOL)
    # A leap year, so 02-29 passes here and is checked against the year it lands in.
    longest = calendar.monthrange(year or 2000, month)[1]
    if not 1 <= day <= longest:
        where = f"{_MONTHS[month]} {year}" if year else _MONTHS[month]
        raise ToolArgumentError(
            f"{field}={text!r} is not a date: {where} has {longest} days", tool=_TOOL)
    return Day(month, day, year, cleaned)
