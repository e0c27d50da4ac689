"""The shipped evaluation set: size, balance, recomputable answers, no overlap with prompts."""

import datetime as dt
import json
from collections import Counter
from fractions import Fraction

import pytest

from agents.plan_execute.prompts import PLANNER_EXAMPLES, PLANNER_EXTRA_EXAMPLES, SPLIT_EXAMPLES
from backends.errors import GraphConfigError
from evals.questions import CATEGORIES, QUESTIONS, load_questions, resolve_expected
from evals.score import numbers_in, score_answer
from tools.calculator import evaluate
from tools.units import convert

ALL = load_questions(split="all")


def test_the_set_has_enough_questions_with_unique_ids():
    assert len(ALL) >= 60
    assert len({q.id for q in ALL}) == len(ALL)
    assert len({q.question.casefold() for q in ALL}) == len(ALL)


def test_both_splits_hold_every_category_in_equal_numbers():
    counts = Counter((q.split, q.category) for q in ALL)
    assert set(CATEGORIES) == {q.category for q in ALL}
    for category in CATEGORIES:
        assert counts["dev", category] == counts["test", category] >= 2, category
    assert sum(q.split == "dev" for q in ALL) == sum(q.split == "test" for q in ALL)


def test_no_question_repeats_a_planner_or_splitting_example():
    examples = [question.casefold().rstrip("?.")
                for question, _ in (*PLANNER_EXAMPLES, *PLANNER_EXTRA_EXAMPLES, *SPLIT_EXAMPLES)]
    for q in ALL:
        text = q.question.casefold()
        assert not any(example in text for example in examples), q.id


def test_every_expected_number_is_what_the_tools_compute():
    for q in ALL:
        worked = [w for w in q.worked]
        numbers = [item for item in q.expected if isinstance(item, int | float)]
        assert len(worked) == len(numbers), q.id
        for how, expected in zip(worked, numbers, strict=True):
            if "calc" in how:
                value = Fraction(repr(float(evaluate(how["calc"]))))
            else:
                value = convert(*how["convert"])
            assert abs(float(value) - expected) <= 1e-9 * max(1.0, abs(expected)), q.id


def test_no_expected_number_can_be_copied_from_its_question():
    for q in ALL:
        shown = [n.value for n in numbers_in(q.question)]
        for item in q.expected:
            if isinstance(item, int | float):
                assert item not in shown, q.id


def test_expected_values_resolve_on_any_day():
    today = dt.date(2027, 2, 27)
    for q in ALL:
        for item in q.expected:
            resolve_expected(item, today)
    dates = {q.id: q for q in ALL if q.category == "dates"}
    answer = f"It will be {(today + dt.timedelta(days=45)).isoformat()}."
    assert score_answer(dates["dates-01"], answer, today)[0]


def test_splits_and_limits_select_questions():
    test_half = load_questions(split="test")
    assert {q.split for q in test_half} == {"test"}
    assert [q.id for q in load_questions(split="dev", limit=3)] == [
        q.id for q in ALL if q.split == "dev"][:3]


def test_a_malformed_line_is_named_by_file_and_number(tmp_path):
    path = tmp_path / "q.jsonl"
    good = json.loads(QUESTIONS.read_text().splitlines()[0])
    bad = {**good, "id": "bad", "expected": [{"date_offset_days": "soon"}]}
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(GraphConfigError, match=r"q\.jsonl:2: expected value"):
        load_questions(path, split="all")
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(GraphConfigError, match="duplicate question ids"):
        load_questions(path, split="all")
    with pytest.raises(GraphConfigError, match="cannot read"):
        load_questions(tmp_path / "missing.jsonl")
