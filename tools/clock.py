"""The ``datetime`` tool: today's date, time and weekday in a time zone.

Models have no clock and a stale idea of "today", so they must ask. The clock
is a parameter of the pure ``describe_now``; the tool reads the module-level
``system_now`` at call time, which is the seam tests replace. The tool runs
``describe_now`` in a worker thread: the first look-up of a zone reads the disk.
"""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo

from pydantic import Field

from backends.errors import ToolArgumentError
from tools.base import ToolArgs, make_tool
from tools.calendar_dates import WEEKDAYS
from tools.zones import find_zone

__all__ = ["DatetimeArgs", "datetime_tool", "describe_now", "system_now"]

MAX_OFFSET_DAYS = 36_500


def system_now(zone: tzinfo) -> datetime:
    """Return the current instant from the system clock, in ``zone``."""
    return datetime.now(zone)


def describe_now(
    timezone: str = "UTC",
    offset_days: int = 0,
    *,
    now: Callable[[tzinfo], datetime] = system_now,
) -> str:
    """Describe the current instant in ``timezone``, plus the date ``offset_days`` away.

    Returns text such as ``2026-11-24T03:05:00+00:00 (Tuesday, UTC)``, followed
    by ``; in 3 days: 2026-11-27 (Friday)`` when ``offset_days`` is not zero.

    Args:
        timezone: IANA time zone name, matched case-insensitively.
        offset_days: Calendar days to add to the local date (negative for the past).
        now: Clock returning an aware datetime; injectable for tests.

    Raises:
        ToolArgumentError: The time zone is unknown or the shifted date is out of range.
    """
    zone = find_zone(timezone, "datetime")
    current = now(zone)
    if current.tzinfo is None:
        raise ValueError(f"clock {now!r} returned a naive datetime")
    current = current.astimezone(zone)
    text = f"{current.isoformat(timespec='seconds')} ({WEEKDAYS[current.weekday()]}, {zone.key})"
    if offset_days == 0:
        return text
    try:
        shifted = current.date() + timedelta(days=offset_days)
    except OverflowError as exc:
        raise ToolArgumentError(
            f"offset_days={offset_days} leaves the calendar: use a smaller offset", tool="datetime"
        ) from exc
    days = f"{abs(offset_days)} day{'s' if abs(offset_days) != 1 else ''}"
    label = f"in {days}" if offset_days > 0 else f"{days} ago"
    return f"{text}; {label}: {shifted.isoformat()} ({WEEKDAYS[shifted.weekday()]})"


class DatetimeArgs(ToolArgs):
    """Arguments of the datetime tool."""

    timezone: str = Field(
        default="UTC",
        max_length=64,
        description="IANA time zone name, e.g. UTC, Europe/Paris, America/New_York.",
    )
    offset_days: int = Field(
        default=0,
        ge=-MAX_OFFSET_DAYS,
        le=MAX_OFFSET_DAYS,
        description="Also give the date this many days from today (negative: in the past).",
    )


# Defaults repeat DatetimeArgs' because LangChain passes only the keys the model sent.
async def _datetime(timezone: str = "UTC", offset_days: int = 0) -> str:
    # system_now is looked up at call time so tests can replace the clock.
    return await asyncio.to_thread(describe_now, timezone, offset_days, now=system_now)


datetime_tool = make_tool(
    _datetime,
    name="datetime",
    description=(
        "Get the current date, time and weekday in a time zone. "
        "Set offset_days to also get the date that many days from today."
    ),
    args_schema=DatetimeArgs,
    risk="safe",
    topics=["time"],
    network=False,
    timeout_s=2.0,
)
