"""The ``calendar`` tool: arithmetic on calendar dates, with "today" read from a clock.

``datetime`` answers "now, plus N days"; this tool answers what a person asks of a
calendar: the time between two dates (in days, weeks, months or years), the
weekday of a date, a date plus or minus days, weeks, months or years, and the days
until a date or until a month and day next comes round. Month and year steps are
``dateutil.relativedelta``'s: 2025-01-31 plus one month is 2025-02-28, and
2024-02-29 plus one year is 2025-02-28. "Today" is the clock's date in the given
time zone; the clock is a parameter, so tests inject a fixed one. A month and day
without a year is in today's year (an end date before its start: the next year).

How a result is written matters to the checks downstream (``agents.answer_check``
reads a result's last ISO date and the weekday in parentheses after it, or, with
no ISO date, its last number). A date result ends with ``2027-07-04 (Sunday)``. A
number result ends with the number and writes its dates out (``Monday 3 March
2025``), so no ISO date in it is taken for the answer.
"""

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Literal

from dateutil.relativedelta import relativedelta
from langchain_core.tools import StructuredTool
from pydantic import Field

from backends.errors import ToolArgumentError
from tools import clock
from tools.base import ToolArgs, make_tool
from tools.calendar_dates import Day, month_day, parse_day, weekday, written
from tools.zones import find_zone

__all__ = ["CalendarArgs", "calculate", "calendar_tool", "make_calendar_tool"]

Operation = Literal["between", "weekday", "add", "days_until"]
Step = Literal["days", "weeks", "months", "years"]
Clock = Callable[[dt.tzinfo], dt.datetime]

MAX_AMOUNT = 100_000
_TOOL = "calendar"
_DATE_SHAPE = r"^(today|[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}-[0-9]{2})$"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _between(first: dt.date, end: Day, unit: Step) -> str:
    last = end.in_year(end.year or first.year)
    if end.year is None and last < first:  # "from 11-03 to 01-05": the next January
        last = end.in_year(first.year + 1)
    days = (last - first).days
    span = relativedelta(*sorted((first, last), reverse=True))
    count = abs(days)
    head = (f"From {written(first)} {'to' if days >= 0 else 'back to'} {written(last)}: "
            f"{_plural(count, 'day')}")
    if unit == "days":
        return head
    if unit == "weeks":
        weeks, rest = divmod(count, 7)
        return (f"{head}, or {_plural(weeks, 'week')} and {_plural(rest, 'day')}. "
                f"Whole weeks: {weeks}")
    months = span.years * 12 + span.months
    if unit == "months":
        return (f"{head}, or {_plural(months, 'month')} and {_plural(span.days, 'day')}. "
                f"Whole months: {months}")
    return (f"{head}, or {_plural(span.years, 'year')}, {_plural(span.months, 'month')} "
            f"and {_plural(span.days, 'day')}. Whole years: {span.years}")


def _add(start: dt.date, amount: int, unit: Step) -> str:
    try:
        result: dt.date = start + relativedelta(**{unit: amount})
    except (OverflowError, ValueError) as exc:
        raise ToolArgumentError(
            f"{start.isoformat()} plus {_plural(amount, unit.removesuffix('s'))} leaves the "
            "calendar (years 1 to 9999): "
            "use a smaller amount", tool=_TOOL) from exc
    steps = _plural(abs(amount), unit.removesuffix("s"))
    where = "after" if amount >= 0 else "before"
    clipped = ", clipped to the end of the month" \
        if unit in ("months", "years") and result.day != start.day else ""
    return f"{steps} {where} {weekday(start)}{clipped}: {weekday(result)}"


def _days_until(target: Day, today: dt.date, zone: str) -> str:
    head = f"Today is {written(today)} ({zone})"
    if target.year is None:
        coming = target.next_from(today)
        return (f"{head}; the next {month_day(coming)} is {written(coming)}, "
                f"in {_plural((coming - today).days, 'day')}")
    day = target.in_year(target.year)
    days = (day - today).days
    if days >= 0:
        return f"{head}; {written(day)} is in {_plural(days, 'day')}"
    return f"{head}; {written(day)} was {_plural(-days, 'day')} ago"


def calculate(operation: Operation, date: str = "today", end_date: str = "today",
              amount: int = 0, unit: Step = "days", timezone: str = "UTC", *,
              now: Clock = clock.system_now) -> str:
    """Compute one calendar answer; the arguments are ``CalendarArgs``' fields.

    Raises:
        ToolArgumentError: A date or the time zone is not valid, or the result
            leaves the calendar; the message says what to write instead.
    """
    zone = find_zone(timezone, _TOOL)
    current = now(zone)
    if current.tzinfo is None:
        raise ValueError(f"clock {now!r} returned a naive datetime")
    today = current.astimezone(zone).date()
    start = parse_day(date, "date", today)
    if operation == "days_until":
        return _days_until(start, today, zone.key)
    first = start.in_year(start.year or today.year)
    if operation == "between":
        return _between(first, parse_day(end_date, "end_date", today), unit)
    if operation == "weekday":
        return weekday(first)
    return _add(first, amount, unit)


class CalendarArgs(ToolArgs):
    """Arguments of the calendar tool."""

    operation: Operation = Field(description=(
        "between: time from date to end_date; weekday: the weekday of date; add: date "
        "plus amount units; days_until: days from today until date next comes."))
    # The pattern is for constrained decoders only (pydantic does not check a
    # json_schema_extra pattern); a direct caller gets parse_day's message instead.
    date: str = Field(default="today", min_length=1, max_length=20,
                      description="YYYY-MM-DD, MM-DD (a month and day), or today.",
                      json_schema_extra={"pattern": _DATE_SHAPE})
    end_date: str = Field(default="today", min_length=1, max_length=20,
                          description="For between: the second date, YYYY-MM-DD or today.",
                          json_schema_extra={"pattern": _DATE_SHAPE})
    amount: int = Field(default=0, ge=-MAX_AMOUNT, le=MAX_AMOUNT,
                        description="For add: how many units to add; negative goes back.")
    unit: Step = Field(default="days", description=(
        "days, weeks, months or years: what amount counts, or what between counts in."))
    timezone: str = Field(default="UTC", max_length=64,
                          description="IANA time zone that decides today's date, e.g. UTC.")


def make_calendar_tool(now: Clock | None = None) -> StructuredTool:
    """Build a ``calendar`` tool reading today from ``now`` (the system clock if None)."""

    # Defaults repeat CalendarArgs' because LangChain passes only the keys the model sent.
    async def _calendar(operation: Operation, date: str = "today", end_date: str = "today",
                        amount: int = 0, unit: Step = "days", timezone: str = "UTC") -> str:
        # The system clock is looked up at call time: tests may replace it. A thread,
        # because the first use of a time zone reads the disk.
        return await asyncio.to_thread(calculate, operation, date, end_date, amount, unit,
                                       timezone, now=now or clock.system_now)

    return make_tool(
        _calendar,
        name=_TOOL,
        description=(
            "Calendar arithmetic: days, weeks or months between two dates; the weekday of "
            "a date; a date plus or minus days, weeks, months or years; days until a date."),
        args_schema=CalendarArgs,
        risk="safe",
        topics=["time"],
        network=False,
        timeout_s=2.0,
    )


calendar_tool = make_calendar_tool()
