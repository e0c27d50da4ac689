"""The calendar tool: between, weekday, add and days_until, on a fixed clock."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from agents.answer_check import key_value, key_weekday
from backends.errors import ToolArgumentError
from tools import TOOLS, clock, run_tool
from tools.base import tool_info
from tools.dates import CalendarArgs, calculate, make_calendar_tool

Clock = Callable[[dt.tzinfo], dt.datetime]

NOV_24 = dt.datetime(2026, 11, 24, 3, 5, tzinfo=dt.UTC)  # a Tuesday
# 23:30 in London on 24 December: already the 25th east of it, still the 24th west.
XMAS_EVE_LATE = dt.datetime(2026, 12, 24, 23, 30, tzinfo=dt.UTC)
NEW_YEAR_EVE_LATE = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)


def fixed(instant: dt.datetime) -> Clock:
    return lambda zone: instant.astimezone(zone)


def run(now: dt.datetime = NOV_24, **args: Any) -> str:
    return calculate(**args, now=fixed(now))


@pytest.mark.parametrize(("args", "expected"), [
    ({"date": "2025-03-03", "end_date": "2025-07-19"},
     "From Monday 3 March 2025 to Saturday 19 July 2025: 138 days"),
    ({"date": "2025-03-03", "end_date": "2025-07-19", "unit": "weeks"},
     "From Monday 3 March 2025 to Saturday 19 July 2025: 138 days, or 19 weeks and 5 days. "
     "Whole weeks: 19"),
    ({"date": "2025-03-03", "end_date": "2025-07-19", "unit": "months"},
     "From Monday 3 March 2025 to Saturday 19 July 2025: 138 days, or 4 months and 16 days. "
     "Whole months: 4"),
    ({"date": "1990-05-17", "unit": "years"},
     "From Thursday 17 May 1990 to Tuesday 24 November 2026: 13340 days, or 36 years, "
     "6 months and 7 days. Whole years: 36"),
    ({"date": "2025-07-19", "end_date": "2025-03-03"},
     "From Saturday 19 July 2025 back to Monday 3 March 2025: 138 days"),
    ({"date": "2025-01-01", "end_date": "2025-01-02"},
     "From Wednesday 1 January 2025 to Thursday 2 January 2025: 1 day"),
    # A month and day without a year is this year; an end before its start, the next.
    ({"date": "03-03", "end_date": "07-19"},
     "From Tuesday 3 March 2026 to Sunday 19 July 2026: 138 days"),
    ({"date": "11-03", "end_date": "01-05"},
     "From Tuesday 3 November 2026 to Tuesday 5 January 2027: 63 days"),
])
def test_between_counts_days_weeks_months_and_years(args: dict[str, Any], expected: str) -> None:
    assert run(operation="between", **args) == expected


@pytest.mark.parametrize(("start", "end", "unit", "tail"), [
    ("2024-02-01", "2024-03-01", "days", ": 29 days"),  # leap year
    ("2023-02-01", "2023-03-01", "days", ": 28 days"),
    ("2000-01-01", "2001-01-01", "days", ": 366 days"),  # 2000 is a leap year
    ("1900-01-01", "1901-01-01", "days", ": 365 days"),  # 1900 is not
    # relativedelta's month: 31 January plus one month is 28 February.
    ("2025-01-31", "2025-02-28", "months", "or 1 month and 0 days. Whole months: 1"),
    ("2025-01-31", "2025-02-27", "months", "or 0 months and 27 days. Whole months: 0"),
    ("2024-02-29", "2025-02-28", "years", "or 1 year, 0 months and 0 days. Whole years: 1"),
])
def test_between_handles_leap_years_and_month_ends(start: str, end: str, unit: str,
                                                   tail: str) -> None:
    assert run(operation="between", date=start, end_date=end, unit=unit).endswith(tail)


@pytest.mark.parametrize(("date", "expected"), [
    ("2027-07-04", "2027-07-04 (Sunday)"),
    ("2000-02-29", "2000-02-29 (Tuesday)"),
    ("1969-07-20", "1969-07-20 (Sunday)"),
    ("07-04", "2026-07-04 (Saturday)"),  # this year on the clock
    ("2026-7-4", "2026-07-04 (Saturday)"),
    ("today", "2026-11-24 (Tuesday)"),
])
def test_weekday_of_a_date(date: str, expected: str) -> None:
    assert run(operation="weekday", date=date) == expected


@pytest.mark.parametrize(("date", "amount", "unit", "expected"), [
    ("2025-01-31", 3, "months",
     "3 months after 2025-01-31 (Friday), clipped to the end of the month: "
     "2025-04-30 (Wednesday)"),
    ("2025-01-31", 1, "months",
     "1 month after 2025-01-31 (Friday), clipped to the end of the month: 2025-02-28 (Friday)"),
    ("2024-01-31", 1, "months",
     "1 month after 2024-01-31 (Wednesday), clipped to the end of the month: "
     "2024-02-29 (Thursday)"),
    ("2024-02-29", 1, "years",
     "1 year after 2024-02-29 (Thursday), clipped to the end of the month: "
     "2025-02-28 (Friday)"),
    ("2024-02-29", 4, "years", "4 years after 2024-02-29 (Thursday): 2028-02-29 (Tuesday)"),
    ("2025-03-31", -1, "months",
     "1 month before 2025-03-31 (Monday), clipped to the end of the month: "
     "2025-02-28 (Friday)"),
    ("2025-12-25", 10, "weeks", "10 weeks after 2025-12-25 (Thursday): 2026-03-05 (Thursday)"),
    ("2025-03-01", -1, "days", "1 day before 2025-03-01 (Saturday): 2025-02-28 (Friday)"),
    ("2024-03-01", -1, "days", "1 day before 2024-03-01 (Friday): 2024-02-29 (Thursday)"),
    ("today", 100, "days", "100 days after 2026-11-24 (Tuesday): 2027-03-04 (Thursday)"),
    ("01-31", 3, "months",
     "3 months after 2026-01-31 (Saturday), clipped to the end of the month: "
     "2026-04-30 (Thursday)"),
])
def test_add_steps_like_relativedelta(date: str, amount: int, unit: str, expected: str) -> None:
    assert run(operation="add", date=date, amount=amount, unit=unit) == expected


@pytest.mark.parametrize(("now", "date", "tail"), [
    (NOV_24, "12-25", "the next 25 December is Friday 25 December 2026, in 31 days"),
    (NOV_24, "11-24", "the next 24 November is Tuesday 24 November 2026, in 0 days"),
    (NOV_24, "11-23", "the next 23 November is Tuesday 23 November 2027, in 364 days"),
    (NOV_24, "02-29", "the next 29 February is Tuesday 29 February 2028, in 462 days"),
    # 2100 is no leap year: the next 29 February after 2097 is in 2104.
    (dt.datetime(2097, 3, 1, tzinfo=dt.UTC), "02-29",
     "the next 29 February is Friday 29 February 2104, in 2555 days"),
    (NOV_24, "2027-01-01", "Friday 1 January 2027 is in 38 days"),
    (NOV_24, "2026-01-01", "Thursday 1 January 2026 was 327 days ago"),
])
def test_days_until_the_next_month_and_day(now: dt.datetime, date: str, tail: str) -> None:
    text = run(now, operation="days_until", date=date)
    assert text.startswith("Today is ")
    assert text.endswith(tail)


@pytest.mark.parametrize(("zone", "today", "days"), [
    ("UTC", "Thursday 24 December 2026", 1),
    ("Europe/London", "Thursday 24 December 2026", 1),
    ("Europe/Berlin", "Friday 25 December 2026", 0),  # 00:30 on the 25th
    ("Asia/Tokyo", "Friday 25 December 2026", 0),
    ("America/Los_Angeles", "Thursday 24 December 2026", 1),
    ("Pacific/Kiritimati", "Friday 25 December 2026", 0),
])
def test_today_is_the_date_in_the_time_zone_at_midnight(zone: str, today: str,
                                                         days: int) -> None:
    text = run(XMAS_EVE_LATE, operation="days_until", date="12-25", timezone=zone)
    assert text.startswith(f"Today is {today} ({zone})")
    assert text.endswith(f"in {days} day{'s' if days != 1 else ''}")


def test_a_new_year_east_of_utc_moves_yearless_dates_and_today() -> None:
    utc = run(NEW_YEAR_EVE_LATE, operation="days_until", date="12-25")
    tokyo = run(NEW_YEAR_EVE_LATE, operation="days_until", date="12-25", timezone="Asia/Tokyo")
    assert utc.endswith("Saturday 25 December 2027, in 359 days")
    assert tokyo.endswith("Saturday 25 December 2027, in 358 days")
    assert run(NEW_YEAR_EVE_LATE, operation="weekday", date="01-01") == "2026-01-01 (Thursday)"
    assert run(NEW_YEAR_EVE_LATE, operation="weekday", date="01-01",
               timezone="Asia/Tokyo") == "2027-01-01 (Friday)"


@pytest.mark.parametrize(("args", "words"), [
    ({"operation": "weekday", "date": "July 4"},
     ["date='July 4' is not a date", "YYYY-MM-DD", "MM-DD", "today"]),
    ({"operation": "weekday", "date": "2025-13-01"}, ["no month 13", "month before the day"]),
    ({"operation": "weekday", "date": "31-12"}, ["no month 31"]),
    ({"operation": "weekday", "date": "2025-02-29"}, ["February 2025 has 28 days"]),
    ({"operation": "weekday", "date": "2025-04-31"}, ["April 2025 has 30 days"]),
    ({"operation": "weekday", "date": "02-30"}, ["February has 29 days"]),
    ({"operation": "weekday", "date": "02-29"},
     ["'02-29' is not a date in 2026", "February 2026 has 28 days", "write the year"]),
    ({"operation": "weekday", "date": "0000-01-01"}, ["years run from 0001 to 9999"]),
    ({"operation": "between", "date": "2025-01-01", "end_date": "soon"},
     ["end_date='soon' is not a date"]),
    ({"operation": "add", "date": "9999-12-01", "amount": 2, "unit": "months"},
     ["plus 2 months leaves the calendar", "smaller amount"]),
    ({"operation": "weekday", "timezone": "Mars/Olympus"},
     ["unknown time zone 'Mars/Olympus'", "'UTC' or 'Europe/Paris'"]),
    ({"operation": "weekday", "timezone": "Europe/Pariss"}, ["did you mean 'Europe/Paris'"]),
])
def test_refusals_say_what_to_write(args: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(ToolArgumentError) as caught:
        run(**args)
    assert caught.value.tool == "calendar"
    for word in words:
        assert word in str(caught.value)


def test_naive_clock_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="naive"):
        calculate("weekday", now=lambda zone: dt.datetime(2026, 1, 1))


@pytest.mark.parametrize(("args", "key", "weekday"), [
    ({"operation": "weekday", "date": "2027-07-04"}, "2027-07-04", "Sunday"),
    ({"operation": "add", "date": "2025-01-31", "amount": 1, "unit": "months"},
     "2025-02-28", "Friday"),
    ({"operation": "between", "date": "2025-03-03", "end_date": "2025-07-19"}, "138", None),
    ({"operation": "between", "date": "2025-03-03", "end_date": "2025-07-19",
      "unit": "weeks"}, "19", None),
    ({"operation": "days_until", "date": "12-25"}, "31", None),
    ({"operation": "days_until", "date": "11-24"}, "0", None),
])
def test_the_answer_checks_read_the_answer_from_the_output(args: dict[str, Any], key: str,
                                                           weekday: str | None) -> None:
    output = run(**args)
    assert key_value(output) == key
    assert key_weekday(output) == weekday


def test_schema_is_few_flat_fields_with_a_discriminating_operation() -> None:
    schema = CalendarArgs.model_json_schema()
    assert list(schema["properties"]) == ["operation", "date", "end_date", "amount", "unit",
                                          "timezone"]
    assert schema["required"] == ["operation"]
    assert schema["properties"]["operation"]["enum"] == ["between", "weekday", "add",
                                                         "days_until"]
    assert schema["properties"]["unit"]["enum"] == ["days", "weeks", "months", "years"]
    assert "pattern" in schema["properties"]["date"]
    assert all(spec.get("description") for spec in schema["properties"].values())
    assert all("$ref" not in str(spec) for spec in schema["properties"].values())
    assert CalendarArgs.model_config.get("extra") == "forbid"


async def test_tool_reads_today_from_the_clock_it_was_given() -> None:
    tool = make_calendar_tool(now=fixed(NOV_24))
    assert (tool_info(tool).risk, tool_info(tool).network) == ("safe", False)
    assert await tool.ainvoke({"operation": "weekday"}) == "2026-11-24 (Tuesday)"
    assert tool.invoke({"operation": "add", "amount": 1}) == (
        "1 day after 2026-11-24 (Tuesday): 2026-11-25 (Wednesday)")


async def test_registered_tool_reads_the_system_clock_at_call_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "system_now", fixed(XMAS_EVE_LATE))
    tool = TOOLS["calendar"]
    assert await tool.ainvoke({"operation": "days_until", "date": "12-25",
                               "timezone": "Asia/Tokyo"}) == (
        "Today is Friday 25 December 2026 (Asia/Tokyo); the next 25 December is "
        "Friday 25 December 2026, in 0 days")


@pytest.mark.parametrize(("args", "field"), [
    ({"operation": "difference", "date": "2025-01-01"}, "operation"),
    ({"date": "2025-01-01"}, "operation"),
    ({"operation": "add", "amount": "3"}, "amount"),
    ({"operation": "add", "amount": 100_001}, "amount"),
    ({"operation": "add", "amount": 1, "unit": "fortnights"}, "unit"),
    ({"operation": "weekday", "date": "x" * 21}, "date"),
    ({"operation": "weekday", "day": "2025-01-01"}, "day"),
])
async def test_runner_rejects_bad_arguments(args: dict[str, Any], field: str) -> None:
    result = await run_tool("calendar", dict(args))
    assert result["status"] == "error"
    assert field in result["output"]


async def test_runner_reports_a_bad_date_as_an_error_result() -> None:
    result = await run_tool("calendar", {"operation": "weekday", "date": "2025-02-30"})
    assert result["status"] == "error"
    assert "February 2025 has 28 days" in result["output"]
