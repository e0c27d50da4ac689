"""Splitting a message into its questions: the check on the model's split, the prompt, joins."""

import json

import pytest
from pydantic import ValidationError

from agents.plan_execute.prompts import SPLIT_EXAMPLES, SPLIT_SYSTEM
from agents.plan_execute.split import (
    MAX_PART_CHARS,
    MAX_PARTS,
    Split,
    split_messages,
    split_problem,
)
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


def test_the_prompt_is_fixed_text_then_examples_then_the_message():
    messages = split_messages("What is 2 + 2?")
    assert messages[0].content == SPLIT_SYSTEM
    assert len(messages) == 2 + 2 * len(SPLIT_EXAMPLES)
    assert messages[-1].content.endswith("What is 2 + 2?\nQuestions:")
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
