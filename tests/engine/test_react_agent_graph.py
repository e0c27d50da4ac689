"""The tool-calling agent end to end on the embedded engine (JSON-action path)."""

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agents.context import Context
from agents.react.actions import action_model
from agents.toolset import select_tools
from graphs.react_agent import build_react_agent, graph

QUESTION = {"messages": [HumanMessage("What is 17 * 23?")]}


def assert_calculated(state: dict) -> None:
    calls = [c for m in state["messages"] if isinstance(m, AIMessage) for c in m.tool_calls]
    assert calls and calls[0]["name"] == "calculator", f"no calculator call: {calls}"
    results = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert any(m.content == "391" and m.status == "success" for m in results), results
    assert results[0].tool_call_id == calls[0]["id"]
    assert state["answer"].strip()
    assert state["messages"][-1].content == state["answer"]
    thoughts = [m for m in state["metrics"] if m["node"] == "think"]
    assert thoughts and all(m["backend"] == "embedded" and m["completion_tokens"] > 0
                            for m in thoughts)
    assert state["summary"]["think"]["calls"] == len(thoughts)
    assert state["summary"]["total"]["calls"] == len(state["metrics"])


async def test_arithmetic_question_runs_the_calculator_and_answers(model_path):
    state = await graph.ainvoke(QUESTION)
    assert_calculated(state)
    calls = [m for m in state["messages"] if isinstance(m, AIMessage) and m.tool_calls]
    schema = action_model(select_tools(None))
    for message in calls:
        (tool_call,) = message.tool_calls
        schema.model_validate({"action": "call", "tool": tool_call["name"],
                               "args": tool_call["args"]})


def test_plain_sync_invoke_works_too(model_path):
    assert_calculated(graph.invoke(QUESTION))


async def test_each_turn_reuses_the_cached_prompt_prefix(model_path):
    state = await graph.ainvoke(QUESTION)
    later = [m for m in state["metrics"] if m["node"] == "think"][1:]
    assert later, "the agent answered after the tool result in a second turn"
    assert later[0]["cached_tokens"] > later[0]["prompt_tokens"] // 2


async def test_gated_tool_pauses_and_runs_once_approved(model_path):
    durable = build_react_agent().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "react-approve"}}
    # The approval mechanics, on the one tool the question needs: shown every safe tool,
    # the 135M model sometimes calls the calculator again on its own result.
    gated = Context(approval_tools=["calculator"], tools=["calculator"])
    paused = await durable.ainvoke(QUESTION, config, context=gated)
    (pending,) = paused["__interrupt__"]
    assert pending.value["kind"] == "tool_approval" and pending.value["tool"] == "calculator"
    saved = (await durable.aget_state(config)).values
    assert not any(isinstance(m, ToolMessage) for m in saved["messages"]), "nothing ran yet"
    state = await durable.ainvoke(Command(resume={"action": "approve"}), config, context=gated)
    assert "__interrupt__" not in state
    assert_calculated(state)
