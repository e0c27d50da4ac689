"""Tools listed for approval pause the run; approve, reject and edit resume it."""

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agents.context import Context
from backends.errors import GraphConfigError
from graphs.plan_execute import build_plan_execute

QUESTION = {"question": "What is 17 * 23?"}
GATED = Context(approval_tools=["calculator"])


@pytest.fixture
def durable():
    return build_plan_execute().compile(checkpointer=InMemorySaver())


async def paused_run(durable, thread: str):
    config = {"configurable": {"thread_id": thread}}
    state = await durable.ainvoke(QUESTION, config, context=GATED)
    pending = state["__interrupt__"]
    assert len(pending) == 1
    request = pending[0].value
    assert request["kind"] == "tool_approval"
    assert request["tool"] == "calculator"
    assert "answer" not in (await durable.aget_state(config)).values
    return config, request


async def test_approved_call_runs(durable, model_path):
    config, _ = await paused_run(durable, "approve")
    state = await durable.ainvoke(Command(resume={"action": "approve"}), config, context=GATED)
    assert [r["output"] for r in state["tool_results"]] == ["391"]
    assert state["answer"]


async def test_rejected_call_is_an_error_result_with_the_reason(durable, model_path):
    config, _ = await paused_run(durable, "reject")
    state = await durable.ainvoke(
        Command(resume={"action": "reject", "reason": "not today"}), config, context=GATED
    )
    result = state["tool_results"][0]
    assert result["status"] == "error"
    assert "rejected" in result["output"] and "not today" in result["output"]


async def test_edited_call_runs_with_the_new_arguments(durable, model_path):
    config, _ = await paused_run(durable, "edit")
    state = await durable.ainvoke(
        Command(resume={"action": "edit", "args": {"expression": "6 * 7"}}), config,
        context=GATED,
    )
    result = state["tool_results"][0]
    assert (result["args"], result["output"]) == ({"expression": "6 * 7"}, "42")


async def test_malformed_resume_value_says_what_to_send(durable, model_path):
    config, _ = await paused_run(durable, "bad")
    with pytest.raises(GraphConfigError, match="resume with"):
        await durable.ainvoke(Command(resume={"action": "maybe"}), config, context=GATED)


async def test_tools_not_listed_run_without_pausing(durable, model_path):
    state = await durable.ainvoke(QUESTION, {"configurable": {"thread_id": "free"}})
    assert "__interrupt__" not in state
    assert state["tool_results"][0]["output"] == "391"
