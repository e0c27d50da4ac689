import re

import pytest

from agents.answer_check import (
    answer_pattern,
    false_claims,
    key_weekday,
    leaks_trace,
    missing_values,
    unsupported_values,
)
from agents.plan_execute.answer import answer_problem, templated_answer
from agents.plan_execute.vote import merge_plans, vote


def step(expression: str, *depends_on: int) -> dict:
    return {"tool": "calculator", "args": {"expression": expression},
            "depends_on": list(depends_on)}


def ok(output: str) -> dict:
    return {"status": "ok", "output": output}


def test_merge_runs_each_distinct_plan_once_and_shifts_dependencies():
    merged, candidates = merge_plans([[step("1 + 1")], [step("2 * 3"), step("0", 0)],
                                      [step("1 + 1")]])
    assert [s["args"]["expression"] for s in merged] == ["1 + 1", "2 * 3", "0"]
    assert merged[2]["depends_on"] == [1]
    assert candidates == [{"steps": [0], "samples": [0, 2]},
                          {"steps": [1, 2], "samples": [1]}]


def test_vote_counts_samples_and_agrees_on_values_not_plans():
    candidates = [{"steps": [0], "samples": [0]}, {"steps": [1], "samples": [1, 3]},
                  {"steps": [2], "samples": [2]}]
    results = {0: ok("266"), 1: ok("45"), 2: ok("266")}
    outcome = vote(candidates, results)
    # Candidates 0 and 2 both found 266 (say 38 * 7 and 7 * 38): they agree, 2 votes to 2.
    assert outcome["winner"] == 0 and outcome["votes"] == 2 and outcome["margin"] == 0
    assert outcome["outcomes"] == 2 and outcome["samples"] == 4


def test_vote_majority_wins_over_the_first_sample():
    candidates = [{"steps": [0], "samples": [0]}, {"steps": [1], "samples": [1, 2]}]
    outcome = vote(candidates, {0: ok("214"), 1: ok("266")})
    assert outcome["winner"] == 1 and outcome["votes"] == 2 and outcome["margin"] == 1


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_a_tie_goes_to_the_outcome_drawn_first_whatever_the_candidate_order(order):
    first = {"steps": [0], "samples": [0]}
    second = {"steps": [1], "samples": [1]}
    candidates = [first, second] if order == (0, 1) else [second, first]
    outcome = vote(candidates, {0: ok("10"), 1: ok("20")})
    assert candidates[outcome["winner"]] is first and outcome["margin"] == 0


def test_failed_candidates_do_not_vote():
    candidates = [{"steps": [0], "samples": [0, 1, 2]}, {"steps": [1], "samples": [3]}]
    outcome = vote(candidates, {0: {"status": "error", "output": "division by zero"},
                                1: ok("4")})
    assert outcome["winner"] == 1 and outcome["usable"] == 1 and outcome["votes"] == 1


def test_samples_that_need_no_tool_outvote_a_lone_calculation():
    # Four of five samples planned no step (a fact or a chat request); one computed.
    candidates = [{"steps": [], "samples": [0, 1, 3, 4]}, {"steps": [0], "samples": [2]}]
    outcome = vote(candidates, {0: ok("42")})
    assert outcome["winner"] == 0 and outcome["votes"] == 4 and outcome["margin"] == 3
    assert outcome["usable"] == 5 and outcome["outcomes"] == 2


def test_no_usable_candidate_gives_a_vote_with_no_votes():
    outcome = vote([{"steps": [0], "samples": [0]}], {0: {"status": "error", "output": "x"}})
    assert outcome == {"winner": 0, "votes": 0, "margin": 0, "samples": 1, "outcomes": 0,
                       "usable": 0}


@pytest.mark.parametrize(("answer", "sources", "unsupported"), [
    ("38 * 7 is 214.", ["38 * 7", "266"], ["214"]),
    ("38 * 7 is 266.", ["38 * 7", "266"], []),
    ("That is 1,234 metres.", ["1234"], []),
    ("About 8.05 km.", ["5 mi = 8.04672 km"], []),
    ("About 8.0 km.", ["5 mi = 8.04672 km"], []),
    ("About 8.1 km.", ["5 mi = 8.04672 km"], ["8.1"]),
    ("About 8.06 km.", ["5 mi = 8.04672 km"], ["8.06"]),
    ("It is 15%.", ["0.15"], []),
    ("It is 267.", ["266"], ["267"]),
    ("In 45 days: 2027-01-16.", ["in 45 days: 2027-01-16 (Saturday)"], []),
    ("It will be 2027-12-02.", ["2026-12-02T06:16:51+00:00; in 45 days: 2027-01-16"],
     ["2027-12-02"]),
    ("The answer is 266.0.", ["266"], []),
])
def test_unsupported_values(answer, sources, unsupported):
    assert unsupported_values(answer, sources) == unsupported


def test_trace_leaks():
    assert leaks_trace('1. calculator({"expression": "38 * 7"}) -> 214')
    assert leaks_trace("the result -> 266")
    assert not leaks_trace("Seven tickets cost 266 dollars.")


def test_missing_values_are_each_results_own_value():
    outputs = ["266", "3 km = 3000 m", "2026-12-02T06:00:00+00:00; in 7 days: 2026-12-09"]
    assert missing_values("266 and 3000 m, on 2026-12-09", outputs) == []
    assert missing_values("266", outputs) == ["3000", "2026-12-09"]


def test_a_date_result_needs_the_weekday_it_gives():
    later = "2026-12-02T09:05:05+00:00 (Wednesday, UTC); in 10 days: 2026-12-12 (Saturday)"
    today = "2026-12-02T09:05:05+00:00 (Wednesday, UTC)"
    assert key_weekday(later) == "Saturday"
    assert key_weekday(today) == "Wednesday"
    assert key_weekday("2026-12-02T09:05:05+00:00 (UTC)") is None
    assert missing_values("It will be saturday, 2026-12-12.", [later]) == []
    assert missing_values("2026-12-12 is 2026-12-12.", [later]) == ["Saturday"]
    # The weekday of the key date, not of another date in the result.
    assert missing_values("It is 2026-12-12, a Wednesday.", [later]) == ["Saturday"]
    assert missing_values("Today is 2026-12-02.", [today]) == ["Wednesday"]


@pytest.mark.parametrize(("text", "allowed"), [
    ("Seven tickets cost 266 dollars.", True),
    ("266", True),
    ("It is 266.7", False),
    ("It is 2667", False),
    ("It is 214", False),
    ("no number at all", False),
    ('calculator({"expression": 1}) -> 266', False),
])
def test_the_repair_pattern_admits_only_the_results_values(text, allowed):
    assert bool(re.fullmatch(answer_pattern(["266"]), text)) is allowed


def test_the_repair_pattern_writes_a_date_without_escaped_spaces():
    pattern = answer_pattern(["Monday, 7 December 2026"])
    assert "\\ " not in pattern, "llama.cpp's converter refuses an escaped space"
    assert re.fullmatch(pattern, "It is 7 December 2026.")
    assert not re.fullmatch(pattern, "It is 8 December 2026.")


def test_answer_problems_name_what_is_wrong():
    results = [{"tool": "calculator", "args": {"expression": "38 * 7"}, "status": "ok",
                "output": "266", "latency_ms": 0.0, "round": 0, "step": 0}]
    assert "214" in answer_problem("It is 214.", "q", results)
    assert "leaves out 266" in answer_problem("Seven tickets.", "q", results)
    assert "trace" in answer_problem("calculator({}) -> 266", "q", results)
    assert answer_problem("266. 266", "q", results) == "the answer is not a sentence"
    assert answer_problem("They cost 266 dollars.", "q", results) is None
    assert templated_answer(results) == "38 * 7 = 266."


@pytest.mark.parametrize(("answer", "false"), [
    ("17 * 23 is 391.", []),
    ("3 * 4.75 + 2.20 = 16.45 dollars", []),
    ("7 / 3 = 2.33", []),
    ("1,000 minus 387 is 613", []),
    ("It is 2026-12-07, 5 days away.", []),
    ("7 / 3 = 2.4", ["7 / 3 = 2.4 (it is 2.33333333333)"]),
    ("40% of 90 is 35", ["40% of 90 is 35 (it is 36)"]),
    ("20% of 150 is 30, and 150 - 20 is 150 - 20 = 100", ["150 - 20 = 100 (it is 130)"]),
    # A hedge word does not hide a claim, and a value in scientific notation is held
    # to the figures it shows.
    ("10% of $2,000 is approximately 2e-13.", ["10% of $2,000 is approximately 2e-13 (it is 200)"]),
    ("12 * 3 is roughly 36", []),
    ("2 ** 100 is approximately 1.27e+30", []),
    ("2 ** 100 is about 1.28e30", ["2 ** 100 is about 1.28e30 (it is 1.26765060023e+30)"]),
])
def test_every_arithmetic_claim_is_evaluated_with_the_calculator(answer, false):
    assert false_claims(answer) == false


def test_a_false_claim_fails_the_answer_check_though_its_numbers_are_supported():
    results = [{"tool": "calculator", "args": {"expression": "20 / 100 * 150"}, "status": "ok",
                "output": "30", "latency_ms": 0.0, "round": 0, "step": 0}]
    problem = answer_problem("20% of 150 is 30, and 150 - 20 is 150 - 20 = 100",
                             "What is 20% of 150, and what is 150 minus 20?", results)
    assert problem == "the answer claims 150 - 20 = 100 (it is 130)"
