"""Scoring of evaluation answers: numbers as written, dates, weekdays, texts, faithfulness."""

import datetime as dt

import pytest

from agents.answer_check import leaks_trace, unsupported_values
from evals.questions import Question, Tolerance
from evals.score import (
    dates_in,
    faithfulness,
    number_matches,
    numbers_in,
    score_answer,
    sources_of,
)

TODAY = dt.date(2026, 11, 24)  # a Tuesday


def question(*expected, rel=1e-4, min_decimals=1):
    return Question(id="q", split="dev", category="units", question="?", expected=expected,
                    tolerance=Tolerance(rel=rel, min_decimals=min_decimals))


def values(text):
    return [n.value for n in numbers_in(text)]


def test_numbers_are_read_with_thousands_commas_signs_and_decimals():
    assert values("It costs $1,234.50 for 3 items, -40 °F, 15% off, 36.") == [
        1234.5, 3, -40, 15, 36]
    assert [n.decimals for n in numbers_in("2.50 and 7 and 0.125")] == [2, 0, 3]
    assert values("148, 275 and 399") == [148, 275, 399], "a comma and a space separates"
    assert values("pages 10-15") == [10, 15], "a hyphen between numbers is no minus sign"
    assert values("\u221212 degrees") == [-12], "the Unicode minus sign"


def test_dates_do_not_leak_their_parts_as_numbers():
    text = "Now 2026-11-24T03:05:00+00:00 (Tuesday); in 45 days: 2027-01-08 (Friday)"
    assert dates_in(text) == ["2026-11-24", "2027-01-08"]
    assert 2026 not in values(text) and 45 in values(text)


def test_written_out_dates_are_read_as_iso():
    assert dates_in("on March 5, 2026 or the 5th of March 2026") == ["2026-03-05"] * 2
    assert dates_in("February 30, 2026") == [], "an impossible date is no date"


@pytest.mark.parametrize(("shown", "ok"), [
    ("68.0388555", True), ("68.04", True), ("68.039", True), ("68.0", True),
    ("68", False), ("68.1", False), ("68.03", False),
])
def test_numbers_match_within_tolerance_or_rounded_as_displayed(shown, ok):
    [number] = numbers_in(shown)
    assert number_matches(68.0388555, number) is ok


def test_rounding_needs_the_minimum_number_of_decimals():
    [rounded] = numbers_in("38")
    assert not number_matches(37.7777778, rounded), "rounded to an integer is too loose"
    [shown] = numbers_in("37.8")
    assert number_matches(37.7777778, shown)
    assert not number_matches(37.7777778, shown, Tolerance(rel=1e-4, min_decimals=2))


def test_trailing_zero_decimals_and_commas_match_integers():
    assert score_answer(question(3000), "That is 3,000.0 metres.", TODAY) == (True, [])
    assert score_answer(question(36), "The tip is $36.00.", TODAY) == (True, [])


def test_two_part_answers_need_every_value():
    two = question(72, 3000)
    assert score_answer(two, "18 * 4 is 72 and 3 km is 3000 m.", TODAY) == (True, [])
    assert score_answer(two, "18 * 4 is 72.", TODAY) == (False, ["3000"])


def test_relative_dates_and_weekdays_resolve_against_today():
    assert score_answer(question({"date_offset_days": 45}), "It will be 2027-01-08.",
                        TODAY) == (True, [])
    assert score_answer(question({"date_offset_days": 45}), "It will be January 8, 2027.",
                        TODAY) == (True, [])
    assert score_answer(question({"date_offset_days": -30}), "It was 2026-10-25.",
                        TODAY)[0] is True
    assert score_answer(question({"weekday_offset_days": 10}), "It will be a friday.",
                        TODAY) == (True, [])
    assert score_answer(question({"weekday_offset_days": 10}), "It is Tuesday.",
                        TODAY) == (False, ["Friday"])


def test_texts_match_whole_words_case_insensitively():
    assert score_answer(question("Paris"), "The capital is PARIS.", TODAY)[0]
    assert not score_answer(question("Mars"), "Marshmallows.", TODAY)[0]


def test_a_number_inside_a_date_is_not_the_expected_number():
    assert not score_answer(question(24), "Today is 2026-11-24.", TODAY)[0]


SOURCES = sources_of("Tickets cost $38 each. How much do 7 tickets cost?",
                     [{"tool": "calculator", "args": {"expression": "38 * 7"},
                       "output": "266"}])


def test_values_from_the_question_and_the_tool_results_are_supported():
    assert unsupported_values("7 tickets at $38 cost $266.", SOURCES) == []
    assert faithfulness("7 tickets cost $266.", SOURCES) == (True, [], False)


def test_a_number_the_tools_never_gave_is_unfaithful():
    assert faithfulness("7 tickets cost $214.", SOURCES) == (False, ["214"], False)


def test_copying_the_trace_format_is_unfaithful_even_with_right_numbers():
    answer = '1. calculator({"expression": "38 * 7"}) -> 266'
    assert leaks_trace(answer)
    faithful, _, leaked = faithfulness(answer, SOURCES)
    assert not faithful and leaked


def test_rounding_a_tool_result_for_display_is_faithful_but_not_inventing_digits():
    sources = sources_of("Convert 150 pounds to kilograms.",
                         [{"tool": "unit_convert", "args": {"value": 150, "from_unit": "lb",
                                                            "to_unit": "kg"},
                           "output": "150 lb = 68.0388555 kg"}])
    assert unsupported_values("150 lb is 68.04 kg.", sources) == []
    assert unsupported_values("150 lb is 68.05 kg.", sources) == ["68.05"]


def test_dates_must_come_from_a_tool_result():
    sources = sources_of("What date will it be in 45 days?",
                         [{"tool": "datetime", "args": {"offset_days": 45},
                           "output": "2026-11-24T03:05:00+00:00 (Tuesday, UTC); "
                                     "in 45 days: 2027-01-08 (Friday)"}])
    assert unsupported_values("In 45 days it will be 2027-01-08.", sources) == []
    assert unsupported_values("In 45 days it will be 2027-01-09.", sources) == ["2027-01-09"]


def test_without_tool_results_only_the_questions_numbers_are_supported():
    sources = sources_of("What is 15% of 240?", [])
    assert unsupported_values("15% of 240 is 36.", sources) == ["36"]
    assert unsupported_values("The capital of France is Paris.",
                              sources_of("What is the capital of France?", [])) == []
