from collections.abc import Callable
from datetime import UTC, datetime, tzinfo

import pytest

from backends.errors import ToolArgumentError
from tools import TOOLS, clock, run_tool
from tools.clock import describe_now

INSTANT = datetime(2026, 11, 24, 3, 5, tzinfo=UTC)
LATE = datetime(2026, 11, 24, 20, 30, tzinfo=UTC)  # already Wednesday in Tokyo
SUMMER = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def fixed(instant: datetime) -> Callable[[tzinfo], datetime]:
    return lambda zone: instant.astimezone(zone)


@pytest.mark.parametrize(
    ("instant", "zone", "expected"),
    [
        (INSTANT, "UTC", "2026-11-24T03:05:00+00:00 (Tuesday, UTC)"),
        (INSTANT, "Asia/Tokyo", "2026-11-24T12:05:00+09:00 (Tuesday, Asia/Tokyo)"),
        (LATE, "Asia/Tokyo", "2026-11-25T05:30:00+09:00 (Wednesday, Asia/Tokyo)"),
        (INSTANT, "America/New_York", "2026-11-23T22:05:00-05:00 (Monday, America/New_York)"),
        (SUMMER, "America/New_York", "2026-07-01T08:00:00-04:00 (Wednesday, America/New_York)"),
        (SUMMER, "europe/paris", "2026-07-01T14:00:00+02:00 (Wednesday, Europe/Paris)"),
    ],
)
def test_describes_a_fixed_instant_in_the_zone(instant: datetime, zone: str, expected: str) -> None:
    assert describe_now(zone, now=fixed(instant)) == expected


def test_converts_a_clock_that_answers_in_another_zone() -> None:
    assert describe_now("Asia/Tokyo", now=lambda zone: INSTANT).startswith("2026-11-24T12:05:00")


@pytest.mark.parametrize(
    ("zone", "offset", "tail"),
    [
        ("UTC", 3, "; in 3 days: 2026-11-27 (Friday)"),
        ("UTC", 1, "; in 1 day: 2026-11-25 (Wednesday)"),
        ("UTC", -1, "; 1 day ago: 2026-11-23 (Monday)"),
        ("UTC", 36500, "; in 36500 days: 2126-10-31 (Thursday)"),
        ("Asia/Tokyo", 1, "; in 1 day: 2026-11-26 (Thursday)"),  # from Tokyo's local date
    ],
)
def test_adds_the_shifted_local_date(zone: str, offset: int, tail: str) -> None:
    text = describe_now(zone, offset, now=fixed(LATE))
    assert text.endswith(tail)
    assert text.count(";") == 1


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Europe", "../../etc/passwd", "", "Not A Zone"])
def test_unknown_zone_is_an_argument_error_naming_it(zone: str) -> None:
    with pytest.raises(ToolArgumentError) as caught:
        describe_now(zone, now=fixed(INSTANT))
    assert repr(zone) in str(caught.value)
    assert "'UTC' or 'Europe/Paris'" in str(caught.value)


def test_unknown_zone_suggests_the_close_match() -> None:
    with pytest.raises(ToolArgumentError, match="did you mean 'Europe/Paris'"):
        describe_now("Europe/Pariss", now=fixed(INSTANT))


def test_naive_clock_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="naive"):
        describe_now("UTC", now=lambda zone: datetime(2026, 1, 1))


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    def frozen(zone: tzinfo) -> datetime:
        return INSTANT.astimezone(zone)

    monkeypatch.setattr(clock, "system_now", frozen)


@pytest.mark.usefixtures("frozen_clock")
async def test_tool_uses_defaults_and_the_clock() -> None:
    tool = TOOLS["datetime"]
    assert await tool.ainvoke({}) == "2026-11-24T03:05:00+00:00 (Tuesday, UTC)"
    assert await tool.ainvoke({"timezone": "Asia/Tokyo", "offset_days": -2}) == (
        "2026-11-24T12:05:00+09:00 (Tuesday, Asia/Tokyo); 2 days ago: 2026-11-22 (Sunday)"
    )


@pytest.mark.usefixtures("frozen_clock")
async def test_tool_raises_argument_error_for_unknown_zone() -> None:
    with pytest.raises(ToolArgumentError, match="Mars/Olympus"):
        await TOOLS["datetime"].ainvoke({"timezone": "Mars/Olympus"})


async def test_tool_reads_the_system_clock_by_default() -> None:
    text = await TOOLS["datetime"].ainvoke({"timezone": "UTC"})
    parsed = datetime.fromisoformat(text.split(" ")[0])
    assert parsed.tzinfo is not None
    assert abs((parsed - datetime.now(UTC)).total_seconds()) < 60


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"offset_days": 36501}, "offset_days"),
        ({"offset_days": "3"}, "offset_days"),
        ({"offset_days": True}, "offset_days"),
        ({"timezone": "x" * 65}, "timezone"),
        ({"tz": "UTC"}, "tz"),
    ],
)
async def test_runner_rejects_bad_arguments(args: dict[str, object], field: str) -> None:
    result = await run_tool("datetime", dict(args))
    assert result["status"] == "error"
    assert field in result["output"]


@pytest.mark.usefixtures("frozen_clock")
async def test_runner_reports_unknown_zone_as_error_result() -> None:
    result = await run_tool("datetime", {"timezone": "Mars/Olympus"})
    assert result["status"] == "error"
    assert "unknown time zone 'Mars/Olympus'" in result["output"]
