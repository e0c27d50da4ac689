"""plan_execute against scripted servers: bad model output never ends a run, answers
never contradict their tool results, and k plans are sampled and voted on.

The planner and answer servers are loopback stand-ins answering scripted bodies,
so each fault is forced exactly; the tools run for real.
"""

import json
from pathlib import Path

import pytest

from agents.context import Context
from agents.plan_execute.prompts import (
    ANSWER_SYSTEM,
    COUNT_SYSTEM,
    KNOWLEDGE_ANSWER_SYSTEM,
    SPLIT_SYSTEM,
    plan_request,
)
from agents.plan_execute.state import describe_problem
from backends.router import reset_breakers
from graphs.plan_execute import graph
from graphs.react_agent import graph as react_agent
from tests.wire.config import vllm_at, write_backends
from tests.wire.faulty import FaultyServer, chat_completion, ok


def plan_text(*expressions: str) -> str:
    return json.dumps({"steps": [{"tool": "calculator", "args": {"expression": e},
                                  "depends_on": []} for e in expressions]})


def choices(*texts: str) -> dict:
    body = chat_completion(texts[0])
    body["choices"] = [{"index": i, "message": {"role": "assistant", "content": t},
                        "finish_reason": "stop"} for i, t in enumerate(texts)]
    return body


def count_text(count: int) -> str:
    return json.dumps({"questions_asked": count})


def split_text(*questions: str) -> str:
    return json.dumps({"questions": list(questions)})


# Most scripts below answer only plan requests, so their message is planned whole;
# the split_question tests say so where they split.
def whole(**fields) -> Context:
    return Context(split_questions=False, **fields)


@pytest.fixture
def servers(tmp_path: Path, monkeypatch):
    started: dict[str, FaultyServer] = {}

    def configure(planner: list, answer: list, *, planner_kind: str = "vllm",
                  answer_settings: dict | None = None,
                  **planner_settings) -> dict[str, FaultyServer]:
        for name, script in {"planner": planner, "answer": answer}.items():
            started[name] = FaultyServer(script)
            started[name].start()
        backends = {
            "planner-server": {**vllm_at(started["planner"].base_url, max_retries=0),
                               "kind": planner_kind, **planner_settings},
            "answer-server": {**vllm_at(started["answer"].base_url, max_retries=0),
                              **(answer_settings or {})},
        }
        path = write_backends(tmp_path, backends, {"planner": ["planner-server"],
                                                   "answer": ["answer-server"],
                                                   "drafter": ["planner-server"]})
        monkeypatch.setenv("AGENT_ROUTER_CONFIG", str(path))
        reset_breakers()
        return started

    yield configure
    for server in started.values():
        server.stop()


def answer_metric(state: dict) -> dict:
    return [m for m in state["metrics"] if m["node"] == "write_answer"][-1]


async def test_a_plan_cut_at_its_token_limit_is_redrawn_replanned_then_answered(servers):
    # SGLang's OpenAI path parses json_schema replies, so the SDK raises on a cut reply.
    runaway = chat_completion('{"steps": [{"tool": "calculator", "args": {"expression": '
                              '"1234567890123', finish="length")
    s = servers([ok(runaway)] * 4, [], planner_kind="sglang")
    state = await graph.ainvoke({"question": "q"}, context=whole(max_replans=1))
    assert len(s["planner"].requests) == 4, "drawn twice in each of two rounds"
    assert state["answer"].startswith("I could not answer this")
    assert state["plan"] == [] and state["tool_results"] == []
    problems = [describe_problem(p) for p in state["problems"]]
    assert any("cut off" in p for p in problems)
    assert any(p["kind"] == "cut_off" for p in state["problems"])
    shown = state["answer"] + " ".join(problems)
    assert "CompletionUsage" not in shown and "Error code" not in shown
    assert answer_metric(state)["answer_check"] == "templated"


async def test_a_garbled_plan_is_drawn_again_with_a_fresh_seed(servers):
    s = servers([ok(chat_completion('{"steps": [{"tool": "calc')),
                 ok(chat_completion(plan_text("38 * 7")))],
                [ok(chat_completion("Seven tickets cost 266 dollars."))])
    state = await graph.ainvoke({"question": "What do 7 tickets at 38 dollars cost?"},
                                context=whole())
    first, second = (r.json() for r in s["planner"].requests)
    assert first["seed"] != second["seed"] and second["temperature"] > 0
    assert state["answer"] == "Seven tickets cost 266 dollars."
    assert "not a valid plan" in describe_problem(state["problems"][0])
    assert state["problems"][0]["kind"] == "invalid"


async def test_an_answer_contradicting_its_tool_result_is_repaired(servers):
    s = servers([ok(chat_completion(plan_text("38 * 7")))],
                [ok(chat_completion("38 * 7 is 214.")),
                 ok(chat_completion('{"answer": "Seven tickets cost 266 dollars."}'))])
    state = await graph.ainvoke({"question": "What do 7 tickets at 38 dollars cost?"},
                                context=whole())
    assert state["answer"] == "Seven tickets cost 266 dollars."
    assert answer_metric(state)["answer_check"] == "repaired"
    assert "214" in [m for m in state["metrics"] if m["node"] == "write_answer"][0]["error"]
    pattern = (s["answer"].requests[1].json()["structured_outputs"]["json"]
               ["properties"]["answer"]["pattern"])
    assert "266" in pattern and "214" not in pattern


async def test_an_answer_that_fails_its_repair_too_states_the_results(servers):
    servers([ok(chat_completion(plan_text("38 * 7")))],
            [ok(chat_completion('1. calculator({"expression": "38 * 7"}) -> 214')),
             ok(chat_completion('{"answer": "266. 266"}'))])
    state = await graph.ainvoke({"question": "What do 7 tickets at 38 dollars cost?"},
                                context=whole())
    assert state["answer"] == "38 * 7 = 266."
    assert answer_metric(state)["answer_check"] == "templated"


async def test_when_every_step_failed_the_answer_says_so_without_asking_the_model(servers):
    s = servers([ok(chat_completion(plan_text("1 / 0")))], [])
    state = await graph.ainvoke({"question": "What is one divided by nothing?"},
                                context=whole(max_replans=0))
    [result] = state["tool_results"]
    assert result["status"] == "error"
    assert state["answer"] == f"calculator could not answer: {result['output']}."
    assert answer_metric(state)["answer_check"] == "templated"
    assert s["answer"].requests == []


async def test_a_faithful_answer_passes_with_one_call(servers):
    s = servers([ok(chat_completion(plan_text("38 * 7")))],
                [ok(chat_completion("Seven tickets cost $266."))])
    state = await graph.ainvoke({"question": "What do 7 tickets at 38 dollars cost?"},
                                context=whole())
    assert answer_metric(state)["answer_check"] == "passed"
    assert len(s["answer"].requests) == 1


async def test_k_samples_come_from_one_request_with_n_where_the_engine_has_it(servers):
    s = servers([ok(choices(plan_text("38 * 7"), plan_text("38 + 7"), plan_text("7 * 38")))],
                [ok(chat_completion("Seven tickets cost 266 dollars."))])
    events = [e async for e in graph.astream(
        {"question": "What do 7 tickets at 38 dollars cost?"}, stream_mode="custom",
        context=whole(plan_samples=3))]
    [request] = s["planner"].requests
    assert request.json()["n"] == 3 and request.json()["temperature"] == 0.7
    [vote] = [e for e in events if e["event"] == "vote"]
    assert vote["votes"] == 2 and vote["margin"] == 1 and vote["outcomes"] == 2
    [ready] = [e for e in events if e["event"] == "plan_ready"]
    assert ready["samples"] == 3 and ready["distinct"] == 3


async def test_when_most_samples_need_no_tool_the_answer_rests_on_no_calculation(servers):
    s = servers([ok(choices(plan_text(), plan_text("299792 * 1000"), plan_text()))],
                [ok(chat_completion("Paris is the capital of France."))])
    state = await graph.ainvoke({"question": "What is the capital of France?"},
                                context=whole(plan_samples=3))
    assert state["vote"]["votes"] == 2 and state["vote"]["outcomes"] == 2
    assert state["candidates"][state["vote"]["winner"]]["steps"] == []
    [request] = s["answer"].requests
    assert b"299792000" not in request.body, "the lone calculation's result is not shown"
    assert state["answer"] == "Paris is the capital of France."


async def test_k_samples_are_concurrent_seeded_requests_elsewhere(servers):
    s = servers([ok(chat_completion(plan_text("38 * 7")))] * 2
                + [ok(chat_completion(plan_text("38 + 7")))],
                [ok(chat_completion("Seven tickets cost 266 dollars."))],
                capabilities={"parallel_sampling": False})
    state = await graph.ainvoke({"question": "What do 7 tickets at 38 dollars cost?"},
                                context=whole(plan_samples=3))
    bodies = [r.json() for r in s["planner"].requests]
    assert len(bodies) == 3 and all(b.get("n") in (None, 1) for b in bodies)
    assert len({b["seed"] for b in bodies}) == 3
    assert len(state["candidates"]) == 2, "two samples drew the same plan: it ran once"
    assert len(state["tool_results"]) == 2
    assert state["vote"]["votes"] == 2 and state["answer"] == "Seven tickets cost 266 dollars."
    [plan_metric] = [m for m in state["metrics"] if m["node"] == "write_plan"]
    assert plan_metric["samples"] == 3 and plan_metric["completion_tokens"] == 3


async def test_the_planner_sees_the_closest_examples_after_a_byte_stable_system_prompt(servers):
    s = servers([ok(chat_completion(plan_text("6 * 2")))] * 3,
                [ok(chat_completion("It is 12."))] * 3)
    await graph.ainvoke({"question": "How many centimetres are in 4 feet?"}, context=whole())
    await graph.ainvoke({"question": "What is 6 * 2, and what date is it in 9 days?"},
                        context=whole())
    await graph.ainvoke({"question": "What is 6 * 2?"}, context=whole(planner_examples=0))
    unit, two_part, none = [r.json()["messages"] for r in s["planner"].requests]
    shown = Context().planner_examples
    assert shown >= 1
    assert unit[0] == two_part[0] == none[0] and unit[0]["role"] == "system"
    for messages, question in ((unit, "How many centimetres are in 4 feet?"),
                               (two_part, "What is 6 * 2, and what date is it in 9 days?")):
        assert [m["role"] for m in messages[1:]] == ["user", "assistant"] * shown + ["user"]
        assert question in messages[-1]["content"]
        assert messages[-3]["content"] != messages[-1]["content"]
    closest_unit = json.loads(unit[-2]["content"])["steps"]
    closest_two_part = json.loads(two_part[-2]["content"])["steps"]
    assert [step["tool"] for step in closest_unit] == ["unit_convert"]
    assert len(closest_two_part) == 2
    assert [m["role"] for m in none] == ["system", "user"]


async def test_a_plan_with_no_steps_is_answered_from_the_model(servers):
    s = servers([ok(chat_completion('{"steps": []}')), ok(chat_completion(plan_text("6 * 7")))],
                [ok(chat_completion("Paris is the capital of France.")),
                 ok(chat_completion("6 * 7 is 42."))])
    state = await graph.ainvoke({"question": "What is the capital of France?"}, context=whole())
    assert state["answer"] == "Paris is the capital of France."
    assert state["tool_results"] == [] and state["round"] == 0
    assert answer_metric(state)["answer_check"] == "passed"
    await graph.ainvoke({"question": "What is 6 * 7?"}, context=whole())
    # Asked from what it knows, not "from the facts the tools found" with none shown.
    knowledge_request, facts_request = [r.json() for r in s["answer"].requests]
    from_knowledge, from_facts = knowledge_request["messages"], facts_request["messages"]
    assert from_knowledge[0]["content"] == KNOWLEDGE_ANSWER_SYSTEM
    assert "Facts:" not in from_knowledge[-1]["content"]
    assert from_facts[0]["content"] == ANSWER_SYSTEM
    assert "- 6 * 7 = 42" in from_facts[-1]["content"]
    # A note or a list takes more than one line; a sentence about results does not.
    assert "stop" not in knowledge_request and facts_request["stop"] == ["\n"]


async def test_a_react_action_cut_at_its_token_limit_ends_the_run_with_an_answer(servers):
    runaway = chat_completion('{"action": "calculator", "args": {"expression": "99999',
                              finish="length")
    servers([], [ok(runaway)], answer_settings={
        "kind": "sglang", "capabilities": {"native_tools": False}})
    state = await react_agent.ainvoke({"messages": [("user", "What is 9 * 9?")]})
    assert state["answer"].startswith("The model's reply was not a valid action")
    assert "CompletionUsage" not in state["answer"]


async def test_a_split_message_plans_each_question_on_its_own_side_by_side(servers):
    parts = ["What is 6 * 7?", "What is 84 / 2?"]
    # Held, so that the second part's request can only overlap if both were sent at once.
    # Both results are 42, so each part's answer passes whichever reply it gets.
    s = servers([ok(chat_completion(count_text(2))), ok(chat_completion(split_text(*parts))),
                 ok(chat_completion(plan_text("6 * 7")), delay=1.0),
                 ok(chat_completion(plan_text("84 / 2")), delay=1.0)],
                [ok(chat_completion("It is 42."))] * 2)
    events = [chunk async for chunk in graph.astream(
        {"question": "What is 6 * 7, and what is 84 / 2?"},
        stream_mode=["custom", "values"])]
    state = [data for mode, data in events if mode == "values"][-1]
    count_request, split_request, *plan_requests = s["planner"].requests
    assert count_request.json()["messages"][0]["content"] == COUNT_SYSTEM
    assert split_request.json()["messages"][0]["content"] == SPLIT_SYSTEM
    # The count narrows the split's grammar to exactly that many parts.
    schema = split_request.json()["structured_outputs"]["json"]
    assert schema["properties"]["questions"]["minItems"] == 2 == \
        schema["properties"]["questions"]["maxItems"]
    asked = sorted(r.json()["messages"][-1]["content"] for r in plan_requests)
    assert asked == sorted(plan_request(part) for part in parts)
    first, second = sorted(r.arrived for r in plan_requests)
    assert second - first < 1.0, "the parts were planned concurrently"
    assert state["parts"] == parts
    assert sorted(r["output"] for r in state["tool_results"]) == ["42", "42"]
    assert len(state["plan"]) == 2 and len(state["candidates"]) == 1
    count_metric, split_metric = [m for m in state["metrics"] if m["node"] == "split_question"]
    assert "split" not in count_metric
    assert split_metric["split"] == "split" and split_metric["status"] == "ok"
    [event] = [data for mode, data in events
               if mode == "custom" and data["event"] == "question_split"]
    assert event["outcome"] == "split" and event["parts"] == parts


async def test_a_part_with_no_usable_plan_has_the_message_planned_whole(servers):
    message = "What is 6 * 7, and how many metres are 3 km?"
    garbled = ok(chat_completion('{"steps": [{"tool": "calc'))
    # Two parts drawn at once (one gets the plan, one the garbled reply, in either
    # order), the failed part drawn again, then the whole message.
    s = servers([ok(chat_completion(count_text(2))),
                 ok(chat_completion(split_text("What is 6 * 7?", "How many metres are 3 km?"))),
                 ok(chat_completion(plan_text("6 * 7"))), garbled, garbled,
                 ok(chat_completion(plan_text("6 * 7", "3 * 1000")))],
                [ok(chat_completion("6 * 7 is 42, and 3 km is 3000 metres."))])
    state = await graph.ainvoke({"question": message})
    assert s["planner"].requests[-1].json()["messages"][-1]["content"] == plan_request(message)
    assert [step["args"]["expression"] for step in state["plan"]] == ["6 * 7", "3 * 1000"]
    assert any("attempt 2" in p and "part " in p
               for p in map(describe_problem, state["problems"]))
    assert sorted(r["output"] for r in state["tool_results"]) == ["3000", "42"]


@pytest.mark.parametrize(("replies", "kind", "outcome", "why"), [
    ([count_text(2), split_text("What is 6 * 7?", "How many metres are 30 km?")], "vllm",
     "rejected", "numbers (6, 7, 30) are not the message's (3, 6, 7)"),
    ([count_text(1)], "vllm", "whole", ""),
    ([count_text(4)], "vllm", "rejected", "4 questions, more than max_plan_steps"),
    (['{"questions_asked": "two"}'], "vllm", "rejected", "not a count"),
    ([count_text(2), '{"questions": ["What is 6 * 7?", "How many me'], "vllm",
     "rejected", "not a list of questions"),
], ids=["invented number", "one question", "too many", "garbled count", "garbled split"])
async def test_a_split_that_fails_its_check_or_is_one_question_plans_the_message_whole(
        servers, replies, kind, outcome, why):
    message = "What is 6 * 7, and how many metres are 3 km?"
    s = servers([*(ok(chat_completion(reply)) for reply in replies),
                 ok(chat_completion(plan_text("6 * 7")))],
                [ok(chat_completion("6 * 7 is 42."))], planner_kind=kind)
    events = [chunk async for chunk in graph.astream(
        {"question": message}, stream_mode=["custom", "values"],
        context=Context(max_plan_steps=3))]
    state = [data for mode, data in events if mode == "values"][-1]
    *split_calls, plan_call = s["planner"].requests
    assert len(split_calls) == len(replies)
    assert plan_call.json()["messages"][-1]["content"] == plan_request(message)
    assert state["parts"] == [message] and state["answer"] == "6 * 7 is 42."
    split_metrics = [m for m in state["metrics"] if m["node"] == "split_question"]
    assert len(split_metrics) == len(replies) and split_metrics[-1]["split"] == outcome
    [event] = [data for mode, data in events
               if mode == "custom" and data["event"] == "question_split"]
    # The split failed the check (an event's problem) or a call failed (the metric's error).
    assert why in split_metrics[-1].get("error", "") + event.get("problem", "")


async def test_a_split_cut_off_at_its_token_limit_plans_the_message_whole(servers):
    # SGLang's OpenAI path parses json_schema replies, so the SDK raises on a cut reply.
    message = "What is 6 * 7, and how many metres are 3 km?"
    s = servers([ok(chat_completion(count_text(2))),
                 ok(chat_completion('{"questions": ["What is 6 * 7?", "How many me',
                                    finish="length")),
                 ok(chat_completion(plan_text("6 * 7")))],
                [ok(chat_completion("6 * 7 is 42."))], planner_kind="sglang")
    state = await graph.ainvoke({"question": message})
    assert len(s["planner"].requests) == 3 and state["parts"] == [message]
    split_metric = [m for m in state["metrics"] if m["node"] == "split_question"][-1]
    assert split_metric["split"] == "rejected" and "reached" in split_metric["error"]


async def test_with_splitting_off_the_first_planner_request_is_the_plan(servers):
    s = servers([ok(chat_completion(plan_text("6 * 7")))], [ok(chat_completion("It is 42."))])
    state = await graph.ainvoke({"question": "What is 6 * 7, and what is 2 + 2?"},
                                context=whole())
    [request] = s["planner"].requests
    assert request.json()["messages"][-1]["content"].startswith("Question: ")
    assert "split_question" not in [m["node"] for m in state["metrics"]]


# Every run ends with an answer or a clear statement, whatever the model plans.

async def test_a_false_equation_is_caught_even_when_its_numbers_are_in_the_sources(servers):
    message = "What is 20% of 150, and what is 150 minus 20?"
    s = servers([ok(chat_completion(plan_text("20 / 100 * 150")))],
                [ok(chat_completion("20% of 150 is 30, and 150 - 20 is 150 - 20 = 100")),
                 ok(chat_completion('{"answer": "20% of 150 is 30."}'))])
    state = await graph.ainvoke({"question": message}, context=whole())
    first = [m for m in state["metrics"] if m["node"] == "write_answer"][0]
    assert "150 - 20 = 100 (it is 130)" in first["error"]
    assert state["answer"] == "20 / 100 * 150 = 30." and len(s["answer"].requests) == 2
    assert answer_metric(state)["answer_check"] == "templated"


async def test_a_huge_result_reaches_the_answer_prompt_as_a_short_statement(servers):
    s = servers([ok(chat_completion(plan_text("999 ** 999")))],
                [ok(chat_completion("It is about 3.680634882592e+2996, an integer of 2997 "
                                    "digits."))])
    state = await graph.ainvoke({"question": "What is 999 to the power 999?"},
                                context=whole())
    prompt = s["answer"].requests[0].json()["messages"][-1]["content"]
    assert "an integer of 2997 digits, about 3.680634882592e+2996" in prompt
    assert len(prompt) < 500 and answer_metric(state)["answer_check"] == "passed"


async def test_an_answer_prompt_over_the_window_is_answered_from_the_results(servers):
    from tests.wire.error_bodies import vllm_context_error
    from tests.wire.faulty import status

    s = servers([ok(chat_completion(plan_text("38 * 7")))],
                [status(400, vllm_context_error(2048, 3127))])
    state = await graph.ainvoke({"question": "What do 7 tickets at 38 dollars cost?"},
                                context=whole())
    assert state["answer"] == "38 * 7 = 266."
    assert "does not fit the context window" in answer_metric(state)["error"]
    assert len(s["answer"].requests) == 1


async def test_a_planner_prompt_over_the_window_is_drawn_again_without_examples(servers):
    from tests.wire.error_bodies import vllm_context_error
    from tests.wire.faulty import status

    s = servers([status(400, vllm_context_error(2048, 2300)),
                 ok(chat_completion(plan_text("38 * 7")))],
                [ok(chat_completion("Seven tickets cost $266."))])
    state = await graph.ainvoke({"question": "What do 7 tickets at 38 dollars cost?"},
                                context=whole(planner_examples=2))
    first, second = (len(r.json()["messages"]) for r in s["planner"].requests)
    assert (first, second) == (6, 2), "system, 2 example exchanges, question; then no examples"
    assert state["answer"] == "Seven tickets cost $266."
    assert state["problems"][0]["kind"] == "too_long"


async def test_a_planner_that_never_fits_ends_with_a_plain_statement(servers):
    from tests.wire.error_bodies import vllm_context_error
    from tests.wire.faulty import status

    servers([status(400, vllm_context_error(512, 2300))] * 4, [])
    state = await graph.ainvoke({"question": "What do 7 tickets at 38 dollars cost?"},
                                context=whole(max_replans=1))
    assert state["answer"] == ("I could not answer this: the model gave no usable plan "
                               "(the question does not fit its context window).")


async def test_each_part_of_a_split_message_is_answered_from_its_own_results(servers):
    parts = ["What is 6 * 7?", "What is 84 / 2?"]
    # Both results are 42, so either scripted answer passes the check for either part:
    # the parts are planned and answered concurrently, in whichever order they arrive.
    s = servers([ok(chat_completion(count_text(2))), ok(chat_completion(split_text(*parts))),
                 ok(chat_completion(plan_text("6 * 7"))), ok(chat_completion(plan_text("84 / 2")))],
                [ok(chat_completion("It is 42")), ok(chat_completion("That makes 42."))])
    state = await graph.ainvoke({"question": "What is 6 * 7, and what is 84 / 2?"})
    # Ran as planned: each part's plan is the one its request got.
    planned = {state["parts"][step["part"]]: step["args"]["expression"] for step in state["plan"]}
    asked = [r.json()["messages"][-1]["content"] for r in s["answer"].requests]
    assert len(asked) == 2
    for part, expression in planned.items():
        [request] = [a for a in asked if part in a]
        other = next(e for e in planned.values() if e != expression)
        assert f"- {expression} = 42" in request and f"- {other} = " not in request, request
    # One sentence per part, joined, each ended as a sentence.
    assert state["answer"] in ("It is 42. That makes 42.", "That makes 42. It is 42.")
    checks = [m["answer_check"] for m in state["metrics"] if m["node"] == "write_answer"]
    assert checks == ["passed", "passed"]


async def test_a_part_with_no_result_is_named_as_unanswered(servers):
    message = "What is 6 * 7, and what is 5 divided by zero?"
    servers([ok(chat_completion(count_text(2))),
             ok(chat_completion(split_text("What is 6 * 7?", "What is 5 divided by zero?"))),
             ok(chat_completion(plan_text("6 * 7"))), ok(chat_completion(plan_text("5 / 0")))],
            [ok(chat_completion("6 * 7 is 42."))])
    state = await graph.ainvoke({"question": message}, context=Context(max_replans=0))
    assert {step["part"] for step in state["plan"]} == {0, 1}
    # The two parts are planned side by side, so either may have drawn the failing plan.
    [failed] = [step["part"] for step in state["plan"] if step["args"]["expression"] == "5 / 0"]
    unanswered, answered = state["parts"][failed], state["parts"][1 - failed]
    assert state["answer"].startswith("6 * 7 is 42.")
    assert f'I could not answer "{unanswered}"' in state["answer"]
    assert answered not in state["answer"]


async def test_a_react_conversation_over_the_window_ends_with_an_answer(servers):
    from langchain_core.messages import HumanMessage

    from tests.wire.error_bodies import vllm_context_error
    from tests.wire.faulty import status

    servers([], [status(400, vllm_context_error(2048, 4000))])
    state = await react_agent.ainvoke({"messages": [HumanMessage("What is 17 * 23?")]},
                                      context=Context(agent_backend="answer"))
    assert state["answer"].startswith("Stopped after 0 model turns without a final answer: "
                                      "the conversation and its tool results no longer fit")
