"""The planner's example pool shows each calendar operation and each everyday unit family."""

import datetime as dt
import re
from typing import Any, get_args

import pytest

from agents.plan_execute.worked_examples import PLANNER_EXAMPLES, PLANNER_EXTRA_EXAMPLES
from tools import TOOLS, clock, run_tool
from tools.base import args_schema
from tools.dates import CalendarArgs, Operation
from tools.unit_names import find_unit

POOL = [*PLANNER_EXAMPLES, *PLANNER_EXTRA_EXAMPLES]
STEPS = [step for _, steps in POOL for step in steps]
NEW_FAMILIES = ("volume", "area", "speed", "energy", "pressure", "power")


def examples_of(tool: str) -> list[tuple[str, dict[str, Any]]]:
    return [(question, steps[0]["args"]) for question, steps in POOL
            if len(steps) == 1 and steps[0]["tool"] == tool]


@pytest.mark.parametrize("operation", get_args(Operation))
def test_every_calendar_operation_has_a_single_step_example(operation: str) -> None:
    assert [q for q, args in examples_of("calendar") if args["operation"] == operation]


@pytest.mark.parametrize("family", NEW_FAMILIES)
def test_every_new_unit_family_has_an_example(family: str) -> None:
    shown = [q for q, args in examples_of("unit_convert")
             if find_unit(args["from_unit"], "").dimension == family]
    assert shown


def test_example_dates_have_the_shape_the_decoder_enforces() -> None:
    properties = CalendarArgs.model_json_schema()["properties"]
    for _, args in examples_of("calendar"):
        for field in ("date", "end_date"):
            if field in args:
                assert re.fullmatch(properties[field]["pattern"], args[field]), args


async def test_every_example_step_runs_without_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "system_now",
                        lambda zone: dt.datetime(2026, 11, 24, 3, 5, tzinfo=dt.UTC))
    for step in STEPS:
        args_schema(TOOLS[step["tool"]]).model_validate(step["args"], strict=True)
        result = await run_tool(step["tool"], dict(step["args"]))
        assert result["status"] == "ok", (step, result["output"])
