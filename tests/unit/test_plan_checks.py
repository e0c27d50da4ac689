"""The checks that refuse a drawn plan for its dates, spans of time and percentages.

Each case is a plan shape the default model drew for a fresh probe question, and the
plan that answers it; the checks must refuse the first and pass the second.
"""

import pytest

from agents.plan_execute.checks import (
    doubled_percentages,
    plan_problems,
    reversed_directions,
    shifted_time_units,
    unasked_units,
    unused_dates,
    unwritten_dates,
)

THIS_YEAR = 2026


def clock(offset_days: int) -> dict:
    return {"tool": "datetime", "args": {"timezone": "UTC", "offset_days": offset_days}}


def calendar(operation: str, date: str = "today", end_date: str = "today", amount: int = 0,
             unit: str = "days") -> dict:
    return {"tool": "calendar", "args": {"operation": operation, "date": date,
                                         "end_date": end_date, "amount": amount, "unit": unit}}


def calc(expression: str) -> dict:
    return {"tool": "calculator", "args": {"expression": expression}}


@pytest.mark.parametrize(("question", "step", "problems"), [
    ("What will the date be 5 weeks from today?", clock(5),
     ["step 0 counts 5 days, but the question gives 5 weeks: 5 weeks are 35 days"]),
    ("What will the date be 5 weeks from today?", clock(35), []),
    ("What will the date be 5 weeks from today?", clock(14),
     ["step 0 counts 14 days, but the question gives 5 weeks: 5 weeks are 35 days"]),
    ("What date is 10 days after 2027-03-25?", calendar("add", "2027-03-25", amount=1,
                                                        unit="weeks"),
     ["step 0 counts 1 weeks, but the question gives 10 days: use amount 10 and unit days"]),
    ("What date is it 2 days after tomorrow?", clock(3), []),
    ("What was the date two weeks ago?", clock(-2),
     ["step 0 counts 2 days, but the question gives 2 weeks: 2 weeks are 14 days"]),
    ("What's the date a fortnight from today?", clock(2),
     ["step 0 counts 2 days, but the question gives 2 weeks: 2 weeks are 14 days"]),
    ("What date is it 3 months from today?", clock(3),
     ["step 0 counts 3 days, but the question gives 3 months: use the calendar tool's add "
      "with unit months"]),
    ("What date is 3 months after 2027-08-31?", calendar("add", "2027-08-31", amount=3),
     ["step 0 counts 3 days, but the question gives 3 months: use amount 3 and unit months"]),
    ("What date is 3 months after 2027-08-31?",
     calendar("add", "2027-08-31", amount=3, unit="months"), []),
    # Written with both units, or not counted by the step: nothing to hold it to.
    ("I stayed 3 weeks and 3 days. What date was it 3 days ago?", clock(-3), []),
    ("How many days are in 6 weeks?", calc("6 * 7"), []),
])  # fmt: skip
def test_a_span_counted_in_another_unit_than_the_question_gives_is_refused(
        question, step, problems):
    assert shifted_time_units(question, [step]) == problems


@pytest.mark.parametrize(("question", "steps", "problems"), [
    ("What date is 10 days after 2027-03-25?", [clock(10)],
     ["the question gives the date 2027-03-25, but no step uses it: pass 2027-03-25 as the "
      "calendar tool's date"]),
    ("What date is 10 days after 2027-03-25?", [calendar("add", "2027-03-25", amount=10)],
     []),
    ("Which weekday was 9 November 1989?", [calendar("weekday", "1989-11-09")], []),
    ("Which weekday was 9 November 1989?", [calendar("weekday", "1989-9-11")],
     ["the question gives the date 9 November 1989, but no step uses it: pass 1989-11-09 "
      "as the calendar tool's date"]),
    # No steps: the vote decides whether the question needed a tool at all.
    ("What happened on 1969-07-20?", [], []),
])  # fmt: skip
def test_a_date_the_question_gives_must_be_used(question, steps, problems):
    assert unused_dates(question, steps) == problems


@pytest.mark.parametrize(("question", "step", "refused"), [
    # The question writes a date: only it and today may be used.
    ("What is the date 2 weeks before 2027-05-03?",
     calendar("between", "2027-05-03", "2027-04-28"), True),
    ("What is the date 2 weeks before 2027-05-03?",
     calendar("add", "2027-05-03", "2027-04-19", amount=-2, unit="weeks"), False),
    ("How many days are left from 2027-05-03 until today?",
     calendar("between", "2027-05-03", "today"), False),
    # It writes none: a year it never names, far from this one, is made up.
    ("In 2 weeks, what day of the week will it be?", calendar("weekday", "2023-02-14"), True),
    ("How many days until Christmas?", calendar("between", "today", "2026-12-25"), False),
    ("How many days until New Year's Day 2031?", calendar("days_until", "2031-01-01"), False),
])  # fmt: skip
def test_a_date_the_plan_made_up_is_refused(question, step, refused):
    assert bool(unwritten_dates(question, [step], THIS_YEAR)) is refused


@pytest.mark.parametrize(("question", "expression", "refused"), [
    ("How much is a 12.5% service charge on a $96 meal?", "96 * 0.125 / 100", True),
    ("How much is a 12.5% service charge on a $96 meal?", "96 * 12.5 / 100", False),
    ("How much is a 12.5% service charge on a $96 meal?", "96 * 0.125", False),
    ("What is 8 percent of 250?", "250 * 0.08 / 100", True),
    # The fraction is the question's own operand, not the percentage rewritten.
    ("What is 50% of 0.5?", "0.5 * 50 / 100", False),
])  # fmt: skip
def test_a_percentage_made_a_fraction_twice_is_refused(question, expression, refused):
    assert bool(doubled_percentages(question, [calc(expression)])) is refused


@pytest.mark.parametrize(("question", "step", "refused"), [
    ("What date is it 90 days from today?", clock(-90), True),
    ("What date is it 90 days from today?", clock(90), False),
    ("What was the date 30 days ago?", clock(30), True),
    ("What was the date 30 days ago?", clock(-30), False),
    ("In 3 weeks, which weekday will it be?", clock(-21), True),
    ("Which date was 4 weeks before 2030-11-20?", calendar("add", "2030-11-20", amount=4,
                                                           unit="weeks"), True),
    ("Which date was 4 weeks before 2030-11-20?", calendar("add", "2030-11-20", amount=-4,
                                                           unit="weeks"), False),
    # Both ways, or neither: nothing to hold the sign to.
    ("What was the date 3 days ago, and what will it be 5 days from now?", clock(5), False),
    ("Which weekday is 2030-11-20?", calendar("weekday", "2030-11-20"), False),
])  # fmt: skip
def test_a_span_counted_the_other_way_is_refused(question, step, refused):
    assert bool(reversed_directions(question, [step])) is refused


@pytest.mark.parametrize(("unit", "problems"), [
    ("days", ["step 0 counts in days, but the question asks how many weeks: use unit weeks"]),
    ("weeks", []),
])
def test_a_count_in_another_unit_than_the_one_asked_for_is_refused(unit, problems):
    question = "How many weeks are there between 2027-06-07 and 2027-09-13?"
    step = calendar("between", "2027-06-07", "2027-09-13", unit=unit)
    assert unasked_units(question, [step]) == problems
    assert unasked_units("How long is it from 2027-06-07 to 2027-09-13?", [step]) == []


def test_plan_problems_gathers_every_check_in_order():
    question = "What date falls 6 weeks after 2027-02-10?"
    assert plan_problems(question, [clock(6)], THIS_YEAR) == [
        "the question gives the date 2027-02-10, but no step uses it: pass 2027-02-10 as "
        "the calendar tool's date",
        "step 0 counts 6 days, but the question gives 6 weeks: 6 weeks are 42 days"]
    assert plan_problems(question, [calendar("add", "2027-02-10", amount=6, unit="weeks")],
                         THIS_YEAR) == []
