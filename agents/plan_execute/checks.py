"""Checks of a drawn plan against its question and the rounds before it.

A plan that fails one is refused before it runs, and the planner is asked again
with the reason (``write_plan``): the checks judge a plan, they never write one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, get_args

from agents.numbers import Number, dates_in, numbers_in
from agents.plan_execute.state import PlanExecuteState, ran_cleanly, round_results
from tools.calendar_dates import ISO_DAY
from tools.dates import Step
from tools.unit_names import Unit, known_unit

__all__ = [
    "dependency_problems",
    "doubled_percentages",
    "failed_plans",
    "plan_calls",
    "plan_problems",
    "reversed_conversions",
    "reversed_directions",
    "shifted_time_units",
    "unasked_units",
    "unused_dates",
    "unwritten_dates",
]

_COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
           "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
# The units the calendar tool counts in, singular: day|week|month|year.
_UNIT = "|".join(unit.removesuffix("s") for unit in get_args(Step))
_SPAN = re.compile(rf"\b(\d+|{'|'.join(_COUNTS)})[\s-]+({_UNIT})s?\b"
                   r"|\bfortnights?\b", re.IGNORECASE)
_NEXT_DAY = re.compile(r"\b(?:tomorrow|yesterday)\b", re.IGNORECASE)
_DIVIDED_BY_100 = re.compile(r"/\s*100(?![\d.])")
_PERCENT_WORD = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent\b|per cent\b)", re.IGNORECASE)


def dependency_problems(steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return why a plan's dependencies are unusable: each must name an earlier step."""
    return [f"step {i} depends on step {d}, which does not come before it"
            for i, step in enumerate(steps) for d in step.get("depends_on", []) if d >= i]


def _unit_after(question: str, number: Number) -> Unit | None:
    # The longest run of up to three words after the number that names a unit:
    # "9 kilometres in miles" is km, not "in" (inches).
    words = question[number.end:number.end + 60].split()[:3]
    for count in range(len(words), 0, -1):
        unit = known_unit(" ".join(words[:count]).rstrip(".,;:!?"))
        if unit is not None:
            return unit
    return None


def reversed_conversions(question: str, steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return the unit_convert steps that convert a value from the unit it is asked in.

    "How far is 9 kilometres in miles?" planned as 9 miles to kilometres: the question
    writes the value with the step's to_unit, and never with its from_unit.
    """
    problems = []
    for i, step in enumerate(steps):
        if step["tool"] != "unit_convert":
            continue
        args = step["args"]
        source, target = known_unit(args["from_unit"]), known_unit(args["to_unit"])
        if source is None or target is None:
            continue  # the tool says what is wrong with the names
        written = {unit.symbol for number in numbers_in(question)
                   if number.value == args["value"]
                   and (unit := _unit_after(question, number)) is not None}
        if target.symbol in written and source.symbol not in written:
            problems.append(
                f"step {i} converts {args['value']:g} from {args['from_unit']} to "
                f"{args['to_unit']}, but the question gives {args['value']:g} in "
                f"{target.symbol}: from_unit is the unit the value is given in")
    return problems


def _spans(question: str) -> set[tuple[int, str]]:
    """Return the spans of time the question writes, as (count, plural unit)."""
    spans = set()
    for match in _SPAN.finditer(question):
        if match[1] is None:  # a fortnight
            spans.add((2, "weeks"))
        else:
            count = _COUNTS.get(match[1].lower())
            spans.add((count if count is not None else int(match[1]), match[2].lower() + "s"))
    return spans


def _counted_span(step: Mapping[str, Any]) -> tuple[str, int, str] | None:
    """Return what a date step counts from its date: the argument, its value, the unit."""
    args = step["args"]
    if step["tool"] == "datetime":
        return "offset_days", args.get("offset_days", 0), "days"
    if step["tool"] == "calendar" and args.get("operation") == "add":
        return "amount", args.get("amount", 0), args.get("unit", "days")
    return None


def shifted_time_units(question: str, steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return the date steps that count a span the question does not write.

    "What will the date be 5 weeks from today?" planned as 5 days, or as 14 (copied
    from an example), from today: the question writes 5 weeks, which are 35 days.
    A question that counts from tomorrow or yesterday is left alone.
    """
    spans = _spans(question)
    if not spans or _NEXT_DAY.search(question):
        return []
    problems = []
    for i, step in enumerate(steps):
        counted = _counted_span(step)
        if counted is None:
            continue
        count, unit = abs(counted[1]), counted[2]
        if not count or (count, unit) in spans:
            continue
        if unit == "days" and count % 7 == 0 and (count // 7, "weeks") in spans:
            continue
        written, written_unit = sorted(spans, key=lambda s: (s[0] != count, s))[0]
        if step["tool"] == "calendar":
            hint = f"use amount {written} and unit {written_unit}"
        elif written_unit == "days":
            hint = f"use offset_days {written}"
        elif written_unit == "weeks":
            hint = f"{written} weeks are {written * 7} days"
        else:
            hint = f"use the calendar tool's add with unit {written_unit}"
        problems.append(f"step {i} counts {count} {unit}, but the question gives "
                        f"{written} {written_unit}: {hint}")
    return problems


_BACKWARD = re.compile(r"\b(?:ago|before|earlier|back)\b", re.IGNORECASE)
_FORWARD = re.compile(
    rf"\b(?:from (?:now|today)|after|later|ahead|in \w+ (?:{_UNIT})s?)\b", re.I)


def reversed_directions(question: str, steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return the date steps that count the other way from the question.

    "What date is it 90 days from today?" planned as offset_days -90. A question that
    looks both ways ("3 days before, and 5 days after") is left alone.
    """
    backward, forward = bool(_BACKWARD.search(question)), bool(_FORWARD.search(question))
    if backward == forward:
        return []
    problems = []
    for i, step in enumerate(steps):
        counted = _counted_span(step)
        if counted is None:
            continue
        name, amount, _ = counted
        if amount and (amount < 0) != backward:
            way = "back, so it is negative" if backward else "forward, so it is positive"
            problems.append(f"step {i} has {name} {amount}, but the question counts {way}")
    return problems


_ASKED_UNIT = re.compile(rf"\bhow many ({_UNIT})s\b", re.IGNORECASE)


def unasked_units(question: str, steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return the ``between`` steps that count in another unit than the question asks for.

    "How many weeks are there between 2027-06-07 and 2027-09-13?" counted in days
    came back as 98, and was answered as 98 weeks.
    """
    asked = sorted({match[1].lower() + "s" for match in _ASKED_UNIT.finditer(question)})
    if not asked:
        return []
    return [f"step {i} counts in {step['args'].get('unit', 'days')}, but the question asks "
            f"how many {asked[0]}: use unit {asked[0]}"
            for i, step in enumerate(steps)
            if step["tool"] == "calendar" and step["args"].get("operation") == "between"
            and step["args"].get("unit", "days") not in asked]


def _date_args(step: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Yield the dates a step uses, as written and as ISO dates ("" when not one).

    Only ``between`` reads ``end_date``; a model often fills it in for the others.
    """
    used = ("date", "end_date") if step["args"].get("operation") == "between" else ("date",)
    for name in used:
        value = step["args"].get(name)
        if isinstance(value, str):
            full = ISO_DAY.fullmatch(value.strip())
            iso = f"{full[1]}-{int(full[2]):02d}-{int(full[3]):02d}" if full else ""
            yield value, iso


def unused_dates(question: str, steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return the dates the question writes that no step of a plan uses.

    "What date is 10 days after 2027-03-25?" planned as 10 days from today. A plan
    with no steps is left to the vote: it may rightly need no tool.
    """
    if not steps:
        return []
    used = {iso for step in steps for _, iso in _date_args(step)}
    return [f"the question gives the date {date.text}, but no step uses it: pass "
            f"{date.iso} as the calendar tool's date" for date in dates_in(question)
            if date.iso and date.iso not in used]


def unwritten_dates(question: str, steps: Sequence[Mapping[str, Any]],
                    this_year: int) -> list[str]:
    """Return the date arguments a plan made up.

    Where the question writes dates, a step may use only those and today: "What is
    the date 2 weeks before 2027-05-03?" planned as the days between 2027-05-03 and
    2027-04-28. Where it writes none, a date in a year it never names and more than
    one from ``this_year`` is made up: "In 2 weeks, what day of the week will it be?"
    planned on 2023-02-14. A date near this year may be meant ("until Christmas").
    """
    written = {date.iso for date in dates_in(question) if date.iso}
    named = {int(n.text) for n in numbers_in(question) if re.fullmatch(r"\d{4}", n.text)}
    problems = []
    for i, step in enumerate(steps):
        for text, iso in _date_args(step):
            if not iso or iso in written:
                continue
            if written:
                problems.append(f"step {i} uses the date {text.strip()}, which the question "
                                "does not give: use its dates or today, and operation add "
                                "to move a date by a span")
            elif int(iso[:4]) not in named and abs(int(iso[:4]) - this_year) > 1:
                problems.append(f"step {i} uses the date {text.strip()}, but the question "
                                f"names no year {iso[:4]}: for a date counted from today "
                                "write today")
    return problems


def doubled_percentages(question: str, steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return the calculator steps that turn a percentage into a fraction twice.

    "How much is a 12.5% service charge on a $96 meal?" planned as 96 * 0.125 / 100.
    """
    percents = {float(match[1]) for match in _PERCENT_WORD.finditer(question)}
    # "50% of 0.5": a fraction the question writes itself is an operand, not the percentage.
    written = [n.value for n in numbers_in(question) if not n.percent]
    problems = []
    for i, step in enumerate(steps):
        expression = step["args"].get("expression") if step["tool"] == "calculator" else None
        if not isinstance(expression, str) or not _DIVIDED_BY_100.search(expression):
            continue
        for percent in sorted(percents):
            fraction = percent / 100
            if any(math.isclose(fraction, value) for value in written):
                continue
            if any(math.isclose(n.value, fraction) for n in numbers_in(expression)
                   if n.value != percent):
                problems.append(f"step {i} writes {percent:g}% as {fraction:g} and also "
                                f"divides by 100: write it as {fraction:g} or as "
                                f"{percent:g} / 100, not both")
                break
    return problems


def plan_problems(question: str, steps: Sequence[Mapping[str, Any]],
                  this_year: int) -> list[str]:
    """Return every reason to refuse ``steps`` as a plan for ``question``."""
    return [*dependency_problems(steps), *reversed_conversions(question, steps),
            *unused_dates(question, steps), *shifted_time_units(question, steps),
            *unasked_units(question, steps), *reversed_directions(question, steps),
            *unwritten_dates(question, steps, this_year),
            *doubled_percentages(question, steps)]


def plan_calls(steps: Sequence[Mapping[str, Any]]) -> str:
    """Return what a plan would do, its tool calls in order, as one comparable string."""
    return json.dumps([[step["tool"], step["args"]] for step in steps], sort_keys=True)


def failed_plans(state: PlanExecuteState) -> frozenset[str]:
    """Return the tool calls of each plan of the last round that had a failed step.

    A plan without steps is never among them: it ran cleanly (``ran_cleanly``).
    """
    steps, results = state.get("plan", []), round_results(state)
    return frozenset(plan_calls([steps[i] for i in candidate["steps"]])
                     for candidate in state.get("candidates", [])
                     if not ran_cleanly(candidate, results))
