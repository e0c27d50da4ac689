"""The shipped evaluation set: size, balance, recomputable answers, no overlap with prompts."""

import datetime as dt
import json
from collections import Counter
from fractions import Fraction

import pytest

from backends.errors import GraphConfigError
from evals.questions import CATEGORIES, QUESTIONS, load_questions, resolve_expected
from evals.score import numbers_in, score_answer
from evals.templates import fold, near_copies, prompt_examples, similarity
from tools.arithmetic import evaluate
from tools.units import convert

ALL = load_questions(split="all")


def test_the_set_has_enough_questions_with_unique_ids():
    assert len(ALL) >= 60
    assert len({q.id for q in ALL}) == len(ALL)
    assert len({q.question.casefold() for q in ALL}) == len(ALL)


def test_both_splits_hold_every_category_and_the_test_half_at_least_60():
    counts = Counter((q.split, q.category) for q in ALL)
    for split in ("dev", "test"):
        for category in CATEGORIES:
            assert counts[split, category] >= 2, (split, category)
    assert sum(q.split == "test" for q in ALL) >= 60


def test_both_splits_label_every_route_and_sensitive_requests():
    for split in ("dev", "test"):
        labels = Counter((q.route, q.complexity) for q in ALL if q.split == split)
        assert set(labels) == {("tools", None), ("chat", "simple"), ("chat", "complex")}, split
        assert sum(q.sensitive for q in ALL if q.split == split) >= 4, split


# A failure names the prompt example and how many questions it is like, never a test
# question: no one may read the test half, not even to fix an example.
def _like_test_questions(examples: list[str]) -> str:
    counts = Counter(examples)
    return ("rewrite these examples (how many questions each is like): "
            + "; ".join(f"{example} ({count})" for example, count in counts.items()))


def test_no_question_repeats_a_prompt_example():
    examples = [(where, text, text.casefold().rstrip("?.")) for where, text in prompt_examples()]
    repeated = [f"{where} example {text!r}" + (f" in {q.id}" if q.split == "dev" else "")
                for q in ALL for where, text, folded in examples
                if folded in q.question.casefold()]
    assert repeated == [], _like_test_questions(repeated)


def test_no_prompt_example_shares_a_template_with_a_test_question():
    test_half = [q.question for q in ALL if q.split == "test"]
    clashing = [f"{where} example {text!r}" for where, text in prompt_examples()
                for question in test_half if near_copies([(where, text)], [("", question)])]
    assert clashing == [], _like_test_questions(clashing)


def test_no_prompt_example_is_closer_to_a_test_question_than_every_dev_question():
    # Below this, two questions share little more than "what is" and a number.
    floor = 0.5
    dev = [q.question for q in ALL if q.split == "dev"]
    closer = []
    for q in (q for q in ALL if q.split == "test"):
        best_dev = max(similarity(d, q.question) for d in dev)
        closer += [f"{where} example {text!r}" for where, text in prompt_examples()
                   if similarity(text, q.question) > max(best_dev, floor)]
    assert closer == [], _like_test_questions(closer)


def test_the_template_check_sees_folded_numbers_and_near_copies():
    assert fold("What is 30% of 90?") == fold("What is 12.5% of 1,350?")
    [same] = near_copies([("planner", "What is 30% of 90?")], [("t", "What is 12% of 350?")])
    assert "the same template" in same
    [near] = near_copies([("planner", "How many inches are 3 metres?")],
                         [("t", "How many inches are in 2.5 metres?")])
    assert "alike" in near
    assert near_copies([("planner", "What is 45 * 12?")],
                       [("t", "How many litres are in 5 US gallons?")]) == []


def test_every_graph_contributes_its_prompt_examples():
    assert {where for where, _ in prompt_examples()} == {
        "planner", "splitter", "answer", "react", "router"}


def test_every_expected_number_is_what_the_tools_compute():
    for q in ALL:
        numbers = [item for item in q.expected if isinstance(item, int | float)]
        assert len(q.worked) == len(numbers), q.id
        for how, expected in zip(q.worked, numbers, strict=True):
            if "note" in how:  # a calendar computation, checked by the calendar's own tests
                continue
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
