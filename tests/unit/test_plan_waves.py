"""plan_execute's scheduling with scripted planner/drafter/answer servers and real tools.

The servers are loopback stand-ins that answer scripted JSON, so plans with
dependencies are exact; the tools (calculator, unit_convert) run for real.
"""

import json
from pathlib import Path

import pytest

from agents.context import Context
from agents.plan_execute.checks import reversed_conversions
from backends.router import reset_breakers
from graphs.plan_execute import graph
from tests.wire.config import vllm_at, write_backends
from tests.wire.faulty import FaultyServer, chat_completion, ok
from tools.unit_names import known_unit


def plan(*steps: dict) -> dict:
    return chat_completion(json.dumps({"steps": list(steps)}))


def calc(expression: str, *depends_on: int) -> dict:
    return {"tool": "calculator", "args": {"expression": expression},
            "depends_on": list(depends_on)}


def to_m(*depends_on: int) -> dict:
    return {"tool": "unit_convert", "args": {"value": 0.0, "from_unit": "km", "to_unit": "m"},
            "depends_on": list(depends_on)}

# These scripts answer the planner's plan requests; splitting has its own tests
# (tests/unit/test_splitting.py), so the message is planned whole here.
def whole(**fields) -> Context:
    return Context(split_questions=False, **fields)


@pytest.fixture
def servers(tmp_path: Path, monkeypatch):
    started: dict[str, FaultyServer] = {}

    def configure(planner: list, drafter: list = (), answers: int = 1,
                  answer: str = "done") -> dict:
        # "done" states no result, so each answer is also asked for once repaired.
        scripts = {"planner": planner, "drafter": list(drafter),
                   "answer": [ok(chat_completion(answer))] * answers * 2}
        for name, script in scripts.items():
            started[name] = FaultyServer(script)
            started[name].start()
        path = write_backends(
            tmp_path, {f"{n}-server": vllm_at(s.base_url, max_retries=0)
                       for n, s in started.items()},
            {n: [f"{n}-server"] for n in scripts})
        monkeypatch.setenv("AGENT_ROUTER_CONFIG", str(path))
        reset_breakers()
        return started

    yield configure
    for server in started.values():
        server.stop()


def by_step(state: dict, round_: int = 0) -> dict[int, dict]:
    return {r["step"]: r for r in state["tool_results"] if r["round"] == round_}


async def test_dependent_step_is_drafted_from_its_inputs_then_run(servers):
    s = servers([ok(plan(calc("17 * 23"), to_m(0)))],
                [ok(chat_completion('{"value": 391.0, "from_unit": "km", "to_unit": "m"}'))])
    state = await graph.ainvoke({"question": "17*23 km in metres?"}, context=whole())
    results = by_step(state)
    assert results[0]["output"] == "391"
    assert results[1]["args"]["value"] == 391.0 and "391000" in results[1]["output"]
    draft_prompt = json.dumps(s["drafter"].requests[0].json()["messages"])
    assert "391" in draft_prompt, "the drafter saw the result it depends on"
    assert "draft_step" in [m["node"] for m in state["metrics"]]


async def test_drafts_of_one_wave_reach_the_server_together(servers):
    draft = ok(chat_completion('{"value": 2.0, "from_unit": "km", "to_unit": "m"}'), delay=2.0)
    s = servers([ok(plan(calc("1 + 1"), calc("2 + 2"), to_m(0), to_m(0)))], [draft, draft])
    state = await graph.ainvoke({"question": "q"}, context=whole(max_concurrency=4))
    first, second = sorted(r.arrived for r in s["drafter"].requests)
    assert second - first < 2.0, "the second draft arrived while the first was held"
    assert sorted(by_step(state)) == [0, 1, 2, 3]


async def test_max_concurrency_runs_steps_in_smaller_waves(servers):
    s = servers([ok(plan(calc("1 + 1"), calc("2 + 2"), to_m(0), to_m(1)))],
                [ok(chat_completion('{"value": 2.0, "from_unit": "km", "to_unit": "m"}'),
                    delay=0.3)] * 2)
    events = [c async for c in graph.astream({"question": "q"}, stream_mode="custom",
                                             context=whole(max_concurrency=1))]
    done = [e["step"] for e in events if e["event"] == "step_done"]
    assert done == [0, 1, 2, 3]
    first, second = sorted(r.arrived for r in s["drafter"].requests)
    assert second - first >= 0.3, "one step at a time: drafts never overlap"
    waves = [e for e in events if e["event"] == "steps_done"]
    assert [w["done"] for w in waves] == [1, 2, 3, 4]


async def test_failed_round_is_replanned_once(servers):
    s = servers([ok(plan(calc("1 / 0"))), ok(plan(calc("2 + 2")))])
    state = await graph.ainvoke({"question": "q"}, context=whole(max_replans=1))
    assert state["round"] == 1
    assert by_step(state, 0)[0]["status"] == "error"
    assert by_step(state, 1)[0]["output"] == "4"
    replan_prompt = json.dumps(s["planner"].requests[1].json()["messages"])
    assert "1 / 0" in replan_prompt and "division by zero" in replan_prompt


async def test_each_replanning_round_draws_with_seeds_of_its_own(servers):
    s = servers([ok(plan(calc(f"{n} / 0"))) for n in (1, 2, 3)])
    await graph.ainvoke({"question": "q"}, context=whole(max_replans=2))
    seeds = [request.json()["seed"] for request in s["planner"].requests]
    assert len(seeds) == 3, "round 0 and two replans"
    assert len(set(seeds)) == 3, f"a replan repeated an earlier round's seed: {seeds}"


async def test_a_replan_that_repeats_the_failed_plan_is_drawn_again_with_sampling(servers):
    s = servers([ok(plan(calc("1 / 0"))), ok(plan(calc("1 / 0"))), ok(plan(calc("6 * 7")))])
    state = await graph.ainvoke({"question": "q"}, context=whole(max_replans=1))
    first, repeat, fresh = (request.json() for request in s["planner"].requests)
    assert repeat["temperature"] == first["temperature"] == 0.0
    assert fresh["temperature"] == Context().sample_temperature
    assert fresh["seed"] != repeat["seed"]
    assert [p["kind"] for p in state["problems"]] == ["repeated"]
    assert state["problems"][0]["round"] == 1
    assert [(r["round"], r["output"]) for r in state["tool_results"] if r["status"] == "ok"] \
        == [(1, "42")]


async def test_a_replan_that_only_repeats_ends_the_round_without_running_it_again(servers):
    s = servers([ok(plan(calc("1 / 0")))] * 3)
    state = await graph.ainvoke({"question": "q"}, context=whole(max_replans=1))
    assert len(s["planner"].requests) == 3, "round 0, then the replan and its second draw"
    assert [r["round"] for r in state["tool_results"]] == [0], "the failed call ran once"
    assert [p["kind"] for p in state["problems"]] == ["repeated", "repeated"]
    assert state["answer"] == (
        "I could not answer this: the model gave no usable plan (it could only repeat a plan "
        f"that failed). The plan before it failed: calculator could not answer: "
        f"{state['tool_results'][0]['output']}.")


def convert(value: float, source: str, target: str) -> dict:
    return {"tool": "unit_convert",
            "args": {"value": value, "from_unit": source, "to_unit": target}, "depends_on": []}


@pytest.mark.parametrize(("question", "step", "refused"), [
    ("How far is 9 kilometres in miles?", convert(9.0, "miles", "km"), True),
    ("How far is 9 kilometres in miles?", convert(9.0, "km", "miles"), False),
    ("My oven is at 180 °C. What is that in Fahrenheit?", convert(180.0, "°F", "°C"), True),
    ("How many feet are in 20 metres?", convert(20.0, "feet", "metres"), True),
    ("How many feet are in 20 metres?", convert(20.0, "metres", "feet"), False),
    # The value is not written with either unit: nothing to go on.
    ("A rope is 20 long; in metres, how much is that in feet?", convert(20.0, "feet", "m"),
     False),
    ("What is 6 * 7?", calc("6 * 7"), False),
])  # fmt: skip
def test_a_conversion_from_the_unit_the_value_is_asked_in_is_refused(question, step, refused):
    problems = reversed_conversions(question, [step])
    assert bool(problems) is refused
    if refused:
        args = step["args"]
        assert problems == [
            f"step 0 converts {args['value']:g} from {args['from_unit']} to "
            f"{args['to_unit']}, but the question gives {args['value']:g} in "
            f"{known_unit(args['to_unit']).symbol}: from_unit is the unit the value is given in"]


async def test_a_refused_plan_is_drawn_again_with_the_reason_in_the_request(servers):
    question = "How far is 9 kilometres in miles?"
    s = servers([ok(plan(convert(9.0, "miles", "km"))), ok(plan(convert(9.0, "km", "miles")))])
    state = await graph.ainvoke({"question": question}, context=whole())
    first, second = (request.json()["messages"][-1]["content"]
                     for request in s["planner"].requests)
    assert first == f"Question: {question}\nPlan:"
    assert second == (f"Question: {question}\nThat plan was refused:\n"
                      f"- {state['problems'][0]['detail']}\n"
                      "Plan again, avoiding that.\nPlan:")
    assert [r["output"] for r in state["tool_results"]] == ["9 km = 5.59234073014 mi"]


async def test_a_plan_that_ignores_the_questions_date_is_drawn_again(servers):
    question = "What date is 10 days after 2027-03-25?"
    from_today = {"tool": "datetime", "args": {"timezone": "UTC", "offset_days": 10},
                  "depends_on": []}
    from_the_date = {"tool": "calendar", "depends_on": [], "args": {
        "operation": "add", "date": "2027-03-25", "amount": 10, "unit": "days"}}
    servers([ok(plan(from_today)), ok(plan(from_the_date))])
    state = await graph.ainvoke({"question": question}, context=whole())
    assert [p["detail"] for p in state["problems"]] == [
        "unusable plan: the question gives the date 2027-03-25, but no step uses it: pass "
        "2027-03-25 as the calendar tool's date"]
    assert [r["tool"] for r in state["tool_results"]] == ["calendar"]
    assert "2027-04-04" in state["tool_results"][0]["output"]


async def test_no_replan_when_the_budget_is_zero(servers):
    s = servers([ok(plan(calc("1 / 0")))])
    state = await graph.ainvoke({"question": "q"}, context=whole(max_replans=0))
    assert len(s["planner"].requests) == 1
    failed = by_step(state)[0]
    assert failed["status"] == "error"
    assert state["answer"] == f"calculator could not answer: {failed['output']}."


async def test_step_whose_input_failed_is_not_run(servers):
    s = servers([ok(plan(calc("1 / 0"), to_m(0)))])
    state = await graph.ainvoke({"question": "q"}, context=whole(max_replans=0))
    assert by_step(state)[1]["output"] == "not run: step 0 it needs failed"
    assert s["drafter"].requests == []


async def test_a_step_depending_on_a_later_one_makes_the_plan_unusable(servers):
    # Drawn again with a fresh seed, then replanned (twice again): always unusable.
    s = servers([ok(plan(to_m(1), calc("1 + 1")))] * 4)
    state = await graph.ainvoke({"question": "q"}, context=whole(max_replans=1))
    assert state["plan"] == [] and state["tool_results"] == []
    assert "step 0 depends on step 1" in state["problems"][0]["detail"]
    assert state["problems"][0]["kind"] == "unusable"
    assert len(s["planner"].requests) == 4
    assert state["answer"].startswith("I could not answer this")


async def test_final_state_summarises_every_call(servers):
    servers([ok(plan(calc("17 * 23")))], answer="17 * 23 is 391.")
    state = await graph.ainvoke({"question": "q"}, context=whole())
    summary = state["summary"]
    assert summary["total"]["calls"] == len(state["metrics"]) == 4
    assert set(summary) == {"write_plan", "execute_step", "choose_result", "write_answer",
                            "total"}
