"""The one reader of numbers and dates that the split check, the answer check and the eval share."""

import pytest

from agents.answer_check import stated_numbers
from agents.numbers import dates_in, numbers_in


def values(text: str) -> list[float]:
    return [n.value for n in numbers_in(text)]


@pytest.mark.parametrize(("text", "expected"), [
    ("1,234 and 36.0 and 15%", [1234, 36.0, 15]),
    ("It was -40 degrees", [-40]),
    ("5-3 is 2", [5, 3, 2]),
    ("x-3", [3]),
    ("\u22127 below", [-7]),
    ("1.5e3 metres", [1500]),
    ("12,5", [12, 5]),
])
def test_numbers_are_read_with_their_sign_only_where_it_cannot_be_an_operator(text, expected):
    assert values(text) == expected


def test_decimals_shown_and_percent_are_kept():
    found = numbers_in("2.50 and 7 and 0.125 and 12.5%")
    assert [n.decimals for n in found] == [2, 0, 3, 1]
    assert [n.percent for n in found] == [False, False, False, True]
    assert [n.text for n in found] == ["2.50", "7", "0.125", "12.5"]


def test_dates_iso_and_written_are_dates_not_numbers():
    text = "From 2026-11-24 to March 5, 2026, or the 5th of March 2026, 3 days."
    assert [d.iso for d in dates_in(text)] == ["2026-11-24", "2026-03-05", "2026-03-05"]
    assert values(text) == [3]
    [impossible] = dates_in("on 2026-02-30")
    assert impossible.iso is None and values("on 2026-02-30") == []


def test_what_touches_a_number_is_flagged_for_the_checks_to_decide():
    found = {n.text: n for n in numbers_in("CO2 costs 8.05km and .5 and 3rd")}
    assert found["2"].joined_before and not found["2"].standalone
    assert found["8.05"].joined_after and not found["8.05"].joined_before
    assert found["5"].joined_before, "a number right after a dot"
    assert found["3"].joined_after


def test_the_answer_check_reads_values_with_units_but_not_names_or_ordinals():
    assert [n.value for n in stated_numbers("CO2 is 8.05km on the 3rd, 12 times")] == [8.05, 12]
