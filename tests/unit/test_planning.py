import re

import pytest
from pydantic import ValidationError

from agents.context import LIMITS, Context, run_context
from agents.plan_execute.examples import nearest_examples
from agents.plan_execute.plan import MAX_PLAN_STEPS, example_turns, plan_model, planner_system
from agents.plan_execute.worked_examples import PLANNER_EXAMPLES, PLANNER_EXTRA_EXAMPLES
from agents.toolset import select_tools
from backends.errors import GraphConfigError
from tools.base import tool_info
from tools.registry import TOOLS

ALL = select_tools(None)


def test_plan_accepts_registered_tools_with_their_own_arguments():
    plan = plan_model(ALL, 4).model_validate({"steps": [
        {"tool": "calculator", "args": {"expression": "17 * 23"}},
        {"tool": "datetime", "args": {"timezone": "UTC", "offset_days": 2}},
    ]})
    assert plan.model_dump()["steps"][0] == {"tool": "calculator", "depends_on": [],
                                             "args": {"expression": "17 * 23"}}


def test_a_plan_may_have_no_steps_for_a_question_no_tool_answers():
    assert plan_model(ALL, 4).model_validate({"steps": []}).model_dump() == {"steps": []}


@pytest.mark.parametrize("steps", [
    [{"tool": "shell", "args": {"command": "ls"}}],
    [{"tool": "calculator", "args": {"timezone": "UTC"}}],
    [{"tool": "calculator", "args": {"expression": "1", "extra": 1}}],
    [{"tool": "calculator", "args": {"expression": "1"}}] * 5,
])
def test_plan_rejects_what_the_schema_forbids(steps):
    with pytest.raises(ValidationError):
        plan_model(ALL, 4).model_validate({"steps": steps})


def test_plan_json_schema_enumerates_only_enabled_tools():
    schema = plan_model(("calculator",), 2).model_json_schema()
    text = str(schema)
    assert "calculator" in text and "datetime" not in text
    assert schema["properties"]["steps"]["maxItems"] == 2


def test_step_budget_is_bounded():
    with pytest.raises(GraphConfigError) as caught:
        plan_model(ALL, MAX_PLAN_STEPS + 1)
    assert caught.value.key == "max_plan_steps"


def test_unknown_tool_names_the_tools_key():
    with pytest.raises(GraphConfigError) as caught:
        select_tools(["calculator", "rm_rf"])
    assert caught.value.key == "tools"
    assert "rm_rf" in str(caught.value)
    assert select_tools(["datetime", "calculator", "datetime"]) == ("calculator", "datetime")
    assert select_tools(["web_search"]) == ("web_search",), "network tools can be enabled"


def test_default_tools_are_the_safe_ones():
    default = select_tools(None)
    assert select_tools([]) == default
    assert default == tuple(sorted(n for n, t in TOOLS.items() if tool_info(t).risk == "safe"))
    assert {"calculator", "datetime", "unit_convert"} <= set(default)
    assert "web_search" not in default and "fetch_url" not in default


def test_planner_prompt_is_byte_stable_and_shows_only_enabled_tools():
    first = planner_system(ALL)
    planner_system.cache_clear()
    assert planner_system(ALL) == first
    only_calc = planner_system(("calculator",))
    assert "datetime" not in only_calc
    assert '"expression": "30 / 100 * 90"' in only_calc
    assert first.index("- calculator:") < first.index("- datetime:")


@pytest.mark.parametrize(("question", "steps"), [*PLANNER_EXAMPLES, *PLANNER_EXTRA_EXAMPLES])
def test_every_worked_example_is_a_valid_plan(question, steps):
    assert plan_model(ALL, 4).model_validate({"steps": list(steps)}), question


def _tools_of(example) -> list[str]:
    return [step["tool"] for step in example[1]]


def test_the_examples_shown_are_the_ones_most_like_the_question_closest_last():
    unit = nearest_examples("How many litres are in 6 gallons?", ALL, 3)
    assert len(unit) == 3 and _tools_of(unit[-1]) == ["unit_convert"]
    two_part = nearest_examples("What is 9 * 3, and how many miles is 8 kilometres?", ALL, 3)
    assert len(_tools_of(two_part[-1])) == 2
    for single in ("What is 17 * 23?", "What is 144 / 12?", "What is 15% of 80?"):
        shown = nearest_examples(single, ALL, 4)
        assert len(shown) == 4 and all(len(e[1]) <= 1 for e in shown), single
    dated = nearest_examples("What weekday was it 12 days ago?", ALL, 2)
    assert _tools_of(dated[-1]) == ["datetime"]
    assert nearest_examples("What weekday was it 12 days ago?", ALL, 2) == dated


def test_a_request_for_writing_or_explaining_is_shown_plans_without_tools():
    # Sharing no words with any tool example, it would otherwise get the pool's first ones.
    for request in ("Explain how a bicycle stays upright.",
                    "Write a short note inviting my team to lunch."):
        shown = nearest_examples(request, ALL, 3)
        assert shown and all(steps == () for _, steps in shown), request


def test_a_written_out_date_is_shown_a_calendar_plan_closest():
    dated = nearest_examples("What is the weekday of 2031-01-17?", ALL, 2)
    assert _tools_of(dated[-1]) == ["calendar"]


def test_examples_use_only_enabled_tools_and_count_zero_shows_none():
    only_calc = nearest_examples("Convert 5 miles to kilometres.", ("calculator",), 8)
    assert only_calc and all(set(_tools_of(e)) <= {"calculator"} for e in only_calc)
    assert nearest_examples("Convert 5 miles to kilometres.", ALL, 0) == []
    assert example_turns("Convert 5 miles to kilometres.", ALL, 0) == []


def test_example_turns_are_question_and_plan_exchanges_the_schema_accepts():
    turns = example_turns("How many feet are in 3 metres?", ALL, 3)
    assert [t.type for t in turns] == ["human", "ai"] * 3
    for question, plan in zip(turns[::2], turns[1::2], strict=True):
        assert question.content.startswith("Question: ") and question.content.endswith("Plan:")
        plan_model(ALL, 4).model_validate_json(plan.content)


def test_run_context_fills_defaults_and_names_unknown_keys():
    assert run_context(None) == Context()
    assert run_context({"planner_backend": "gpu"}).planner_backend == "gpu"
    with pytest.raises(GraphConfigError) as caught:
        run_context({"planer_backend": "gpu"})
    assert caught.value.key == "planer_backend"


def test_studio_form_offers_configured_chains_and_backends_as_a_dropdown():
    from backends.config import load_config
    from graphs.plan_execute import graph

    schema = graph.get_context_jsonschema()["properties"]
    for key in ("planner_backend", "answer_backend"):
        assert schema[key]["enum"] == load_config().names()
        assert schema[key]["description"]
    assert all(spec.get("description") for spec in schema.values()), "every field is explained"


@pytest.mark.parametrize(("key", "value"), [("max_replans", 9), ("max_concurrency", 0),
                                            ("max_agent_steps", 100), ("temperature", 3.0),
                                            ("max_plan_steps", True),
                                            ("planner_examples", 9)])
def test_out_of_range_budgets_name_their_key(key, value):
    with pytest.raises(GraphConfigError) as caught:
        run_context({key: value})
    assert caught.value.key == key and "out of range" in str(caught.value)


def test_every_graph_carries_a_recursion_limit_covering_its_budgets():
    from graphs.chat import graph as chat
    from graphs.plan_execute import graph as plan_execute
    from graphs.react_agent import graph as react_agent
    from graphs.router import graph as router

    low, high = LIMITS["max_agent_steps"]
    assert react_agent.config["recursion_limit"] >= 2 * high + 2
    steps, replans = LIMITS["max_plan_steps"][1], LIMITS["max_replans"][1]
    assert plan_execute.config["recursion_limit"] >= 2 + (replans + 1) * (1 + 2 * steps)
    assert router.config["recursion_limit"] >= 5 and chat.config["recursion_limit"] >= 1


def _unbounded(node, defs, path="Plan"):
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        yield from _unbounded(defs[name], defs, f"{path}->{name}")
        return
    kind = node.get("type")
    # A pattern with no open repetition fixes the length too.
    fixed = "enum" in node or "const" in node or (
        "pattern" in node and not re.search(r"[*+]|\{\d+,\}", node["pattern"]))
    if kind == "string" and "maxLength" not in node and not fixed:
        yield f"{path}: string without maxLength"
    if kind == "array" and "maxItems" not in node:
        yield f"{path}: array without maxItems"
    if kind in ("number", "integer") and not (
            {"minimum", "exclusiveMinimum"} & set(node)
            and {"maximum", "exclusiveMaximum"} & set(node)):
        yield f"{path}: {kind} without bounds"
    for name, sub in node.get("properties", {}).items():
        yield from _unbounded(sub, defs, f"{path}.{name}")
    for key in ("items", "anyOf", "oneOf", "allOf"):
        subs = node.get(key, [])
        for i, sub in enumerate(subs if isinstance(subs, list) else [subs]):
            yield from _unbounded(sub, defs, f"{path}[{key}{i}]")


def test_every_value_a_plan_can_hold_is_bounded_in_the_grammar():
    # A decoder constrained by an unbounded number or string can run on to the token
    # limit (seen with a 0.5B model); every tool the planner may get is covered.
    schema = plan_model(tuple(sorted(TOOLS)), MAX_PLAN_STEPS).model_json_schema()
    assert list(_unbounded(schema, schema.get("$defs", {}))) == []
