"""Scoring of evaluation answers: numbers as written, dates, weekdays, texts, faithfulness."""

import datetime as dt

import pytest

from evals.faithful import arithmetic_claims, judge
from evals.questions import Question, Tolerance
from evals.score import dates_in, lenient_score, number_matches, numbers_in, score_answer

TODAY = dt.date(2026, 11, 24)  # a Tuesday


def question(*expected, rel=1e-4, min_decimals=1, text="?"):
    return Question(id="q", split="dev", category="units", question=text, expected=expected,
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


TICKETS = "Tickets cost $38 each. How much do 7 tickets cost?"
CALC = [{"tool": "calculator", "args": {"expression": "38 * 7"}, "output": "266"}]


def test_an_expected_number_that_is_only_an_operand_earns_nothing():
    q = question(130, text="What is 150 minus 20?")
    assert score_answer(q, "150 - 20 is 150 - 20 = 100", TODAY) == (False, ["130"])
    assert score_answer(question(100, text="What is 20% of 500?"), "20 / 100 * 500",
                        TODAY)[0] is False
    assert score_answer(question(391, text="What is 17 * 23?"), "17 * 23 = 391.", TODAY)[0]


def test_a_restated_question_or_an_echoed_tool_call_earns_nothing():
    q = question(5, text="Add 2 and 3.")
    assert not score_answer(question(24, text="Is 24 the answer?"), "Is 24 the answer?",
                            TODAY)[0]
    echoed = 'calculator({"expression": "2 + 3", "note": 5}) was called.'
    assert not score_answer(q, echoed, TODAY)[0]
    assert score_answer(q, "2 + 3 is 5.", TODAY)[0]


def test_each_part_of_a_two_part_question_needs_its_own_value():
    q = question(30, 130, text="What is 20% of 150, and what is 150 minus 20?")
    assert score_answer(q, "20% of 150 is 30, and 150 - 20 = 130.", TODAY) == (True, [])
    assert score_answer(q, "20% of 150 is 30, and 150 - 20 is 150 - 20 = 100",
                        TODAY) == (False, ["130"])
    assert score_answer(question(30, 30, text="q"), "It is 30.", TODAY) == (False, ["30"])


def test_a_weekday_question_needs_the_target_day_as_the_answer():
    q = question({"weekday_offset_days": 5})  # TODAY is a Tuesday
    assert score_answer(q, "Today is Tuesday; in 5 days it will be Sunday.", TODAY)[0]
    assert not score_answer(q, "It will be Sunday, and today is Tuesday.", TODAY)[0]
    assert lenient_score(q, "It will be Sunday, and today is Tuesday.", TODAY), \
        "the old scoring took any weekday named"


def test_text_alternatives_and_fixed_dates_in_any_written_form():
    assert score_answer(question("dense|density"), "Ice has a lower density.", TODAY)[0]
    assert score_answer(question("2027-07-19"), "It is July 19, 2027.", TODAY)[0]


def test_arithmetic_claims_are_evaluated_again():
    claims = arithmetic_claims("3 * 4.75 + 2.20 = 16.45, and 1,000 minus 387 is 613, "
                               "and 40% of 90 is 35")
    assert [(c.text, c.holds) for c in claims] == [
        ("3 * 4.75 + 2.20 = 16.45", True), ("1,000 minus 387 is 613", True),
        ("40% of 90 is 35", False)]


def test_values_from_the_question_and_the_tool_results_are_supported():
    assert judge("7 tickets at $38 cost $266.", TICKETS, CALC).faithful
    assert judge("38 * 7 = 266, so 7 tickets cost $266.", TICKETS, CALC).faithful


def test_a_number_the_tools_never_gave_is_unfaithful():
    verdict = judge("7 tickets cost $214.", TICKETS, CALC)
    assert (verdict.faithful, verdict.unsupported) == (False, ["214"])


def test_a_false_equation_is_unfaithful_even_when_its_numbers_are_in_the_sources():
    sources = [{"tool": "calculator", "args": {"expression": "20 / 100 * 150"},
                "output": "30"}]
    verdict = judge("20% of 150 is 30, and 150 - 20 is 150 - 20 = 100",
                    "What is 20% of 150, and what is 150 minus 20?", sources)
    assert not verdict.faithful and verdict.false_claims == ["150 - 20 = 100"]
    assert verdict.unsupported == [], "100 is in the tool's own expression"


def test_copying_the_trace_format_is_unfaithful_even_with_right_numbers():
    verdict = judge('1. calculator({"expression": "38 * 7"}) -> 266', TICKETS, CALC)
    assert not verdict.faithful and verdict.leaks_trace


def test_rounding_a_tool_result_for_display_is_faithful_but_not_inventing_digits():
    results = [{"tool": "unit_convert", "args": {"value": 150, "from_unit": "lb",
                                                 "to_unit": "kg"},
                "output": "150 lb = 68.0388555 kg"}]
    assert judge("150 lb is 68.04 kg.", "Convert 150 pounds to kilograms.", results).faithful
    assert judge("150 lb is 68.05 kg.", "Convert 150 pounds to kilograms.",
                 results).unsupported == ["68.05"]


def test_dates_must_come_from_a_tool_result():
    results = [{"tool": "datetime", "args": {"offset_days": 45},
                "output": "2026-11-24T03:05:00+00:00 (Tuesday, UTC); in 45 days: 2027-01-08 "
                          "(Friday)"}]
    q = "What date will it be in 45 days?"
    assert judge("In 45 days it will be 2027-01-08.", q, results).faithful
    assert judge("In 45 days it will be 2027-01-09.", q, results).unsupported == ["2027-01-09"]


def test_without_tool_results_only_the_questions_numbers_are_supported():
    assert judge("15% of 240 is 36.", "What is 15% of 240?", []).faithful, \
        "a claim that holds supports its own result"
    assert judge("The answer is 36.", "What is 15% of 240?", []).unsupported == ["36"]


def test_the_checker_shares_no_code_with_the_graphs_answer_check():
    import ast
    from pathlib import Path

    source = Path(__file__).parents[2] / "evals" / "faithful.py"
    imported = {node.module for node in ast.walk(ast.parse(source.read_text()))
                if isinstance(node, ast.ImportFrom)}
    assert not any(module and module.startswith("agents.answer_check") for module in imported)
