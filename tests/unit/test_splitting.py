"""Splitting a message into its questions: the check on the model's split, the prompt, joins."""

import json

import pytest
from pydantic import ValidationError

from agents.plan_execute.prompts import COUNT_SYSTEM, SPLIT_EXAMPLES, SPLIT_SYSTEM
from agents.plan_execute.split import (
    MAX_PART_CHARS,
    MAX_PARTS,
    QuestionCount,
    Split,
    count_messages,
    split_messages,
    split_problem,
    split_schema,
)
from agents.plan_execute.state import answered_parts, unanswered_parts
from agents.plan_execute.vote import join_parts


def step(expression: str, *depends_on: int) -> dict:
    return {"tool": "calculator", "args": {"expression": expression},
            "depends_on": list(depends_on)}


def test_a_split_carrying_exactly_the_messages_numbers_passes():
    message = "What is 1,044 / 29, and how many metres are 2.5 km?"
    assert split_problem(message, ["What is 1,044 / 29?", "How many metres are 2.5 km?"]) == ""
    # Written differently but the same values: 3.0 is 3.
    assert split_problem("Convert 3 miles and 4 pounds.", ["3.0 miles?", "4 pounds?"]) == ""


@pytest.mark.parametrize(("parts", "why"), [
    (["What is 18 * 4?", "18 * 4: how many metres are 3 km?"], "numbers (3, 4, 4, 18, 18)"),
    (["What is 18 * 4?", "How many metres are 30 km?"], "numbers (4, 18, 30)"),
    (["What is 18 * 4?", "How many metres are km?"], "are not the message's (3, 4, 18)"),
    (["What is 18 * 4?", "what is 18 * 4? "], "the same"),
    (["What is 18 * 4, and how many metres are 3 km?", " "], "a part is empty"),
])
def test_a_split_that_invents_drops_or_repeats_is_rejected(parts, why):
    assert why in split_problem("What is 18 * 4, and how many metres are 3 km?", parts)


def test_a_fact_cut_from_its_question_is_rejected():
    message = "I bought 3 pens at $2 each and a pad for $4. What did I spend?"
    parts = ["I bought 3 pens at $2 each and a pad for $4.", "What did I spend?"]
    assert split_problem(message, parts) == "'What did I spend?' has none of the message's numbers"
    # Without numbers in the message there is nothing to miss.
    assert split_problem("Who painted the Mona Lisa, and where is Peru?",
                         ["Who painted the Mona Lisa?", "Where is Peru?"]) == ""


def test_the_count_prompt_shows_every_example_with_its_count_then_the_message():
    messages = count_messages("What is 2 + 2?")
    assert messages[0].content == COUNT_SYSTEM
    assert len(messages) == 2 + 2 * len(SPLIT_EXAMPLES)
    counts = [QuestionCount.model_validate_json(m.content).questions_asked
              for m in messages[2:-1:2]]
    assert counts == [len(parts) for _, parts in SPLIT_EXAMPLES]
    assert 1 in counts and 2 in counts, "both kinds are shown"
    assert messages[-1].content.endswith("What is 2 + 2?\nQuestions:")
    assert count_messages("other")[:-1] == messages[:-1], "the prefix is byte-stable"


def test_the_split_prompt_shows_only_the_examples_of_more_than_one_question():
    messages = split_messages("What is 2 + 2, and 3 + 3?")
    assert messages[0].content == SPLIT_SYSTEM
    shown = [json.loads(m.content)["questions"] for m in messages[2:-1:2]]
    assert shown == [list(parts) for _, parts in SPLIT_EXAMPLES if len(parts) > 1]
    assert messages[-1].content.endswith("What is 2 + 2, and 3 + 3?\nQuestions:")
    assert split_messages("other")[:-1] == messages[:-1], "the prefix is byte-stable"


@pytest.mark.parametrize(("message", "parts"), SPLIT_EXAMPLES)
def test_every_example_is_a_valid_split_that_passes_the_check(message, parts):
    Split.model_validate_json(json.dumps({"questions": list(parts)}))
    assert len(parts) == 1 and parts[0] == message or split_problem(message, parts) == ""


def test_the_schema_bounds_the_parts_in_number_and_length():
    schema = Split.model_json_schema()["properties"]["questions"]
    assert schema["maxItems"] == MAX_PARTS and schema["items"]["maxLength"] == MAX_PART_CHARS
    with pytest.raises(ValidationError):
        Split(questions=[])
    with pytest.raises(ValidationError):
        Split(questions=["q?"] * (MAX_PARTS + 1))


@pytest.mark.parametrize("count", range(2, MAX_PARTS + 1))
def test_the_split_schema_takes_exactly_the_counted_parts(count):
    schema = split_schema(count).model_json_schema()["properties"]["questions"]
    assert schema["minItems"] == count == schema["maxItems"]
    assert schema["items"]["maxLength"] == MAX_PART_CHARS
    split_schema(count)(questions=["q?"] * count)
    for wrong in (count - 1, count + 1):
        with pytest.raises(ValidationError):
            split_schema(count)(questions=["q?"] * wrong)


def test_the_count_is_one_to_the_most_parts():
    assert QuestionCount.model_json_schema()["properties"]["questions_asked"]["enum"] == \
        list(range(1, MAX_PARTS + 1))


def test_the_ith_plans_of_the_parts_are_joined_with_dependencies_shifted():
    first = [[step("1 + 1"), step("0", 0)], [step("2 + 2")]]
    second = [[step("3 * 3")]]
    joined = join_parts([first, [], second])
    assert [[s["args"]["expression"] for s in plan] for plan in joined] == [
        ["1 + 1", "0", "3 * 3"], ["2 + 2", "3 * 3"]]
    assert joined[0][1]["depends_on"] == [0]
    [plan] = join_parts([[[step("5"), step("6", 0)]], [[step("7"), step("8", 0)]]])
    assert plan[3]["depends_on"] == [2], "a later part's dependency moves past earlier steps"
    assert join_parts([[], []]) == []


def _state(parts: list[str], plan: list[dict], results: list[tuple[int, str]]) -> dict:
    return {"parts": parts, "plan": plan, "candidates": [{"steps": list(range(len(plan)))}],
            "tool_results": [{"step": i, "round": 0, "tool": "calculator",
                              "args": plan[i]["args"], "status": status, "output": "x"}
                             for i, status in results]}


def test_the_answered_parts_come_in_the_messages_order_each_with_its_own_results():
    plan = [{**step("2 + 2"), "part": 1}, {**step("1 + 1"), "part": 0},
            {**step("3 + 3"), "part": 1}, {**step("5 / 0"), "part": 2}]
    state = _state(["A?", "B?", "C?"], plan, [(0, "ok"), (1, "ok"), (2, "ok"), (3, "error")])
    answered = [(part, [r["args"]["expression"] for r in results])
                for part, results in answered_parts(state)]
    assert answered == [("A?", ["1 + 1"]), ("B?", ["2 + 2", "3 + 3"])]
    assert unanswered_parts(state) == ["C?"], "a part with only failed steps is named instead"


def test_a_message_planned_whole_has_no_answered_parts():
    state = _state(["A?", "B?"], [step("1 + 1")], [(0, "ok")])
    assert answered_parts(state) == [] and unanswered_parts(state) == []
    assert answered_parts(_state(["A?"], [{**step("1 + 1"), "part": 0}], [(0, "ok")])) == []
