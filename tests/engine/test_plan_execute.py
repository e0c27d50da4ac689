"""The plan-and-execute graph end to end on the embedded engine."""

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agents.context import Context
from agents.plan_execute.plan import plan_model
from agents.toolset import select_tools
from backends.errors import GraphConfigError
from graphs.plan_execute import build_plan_execute, graph

QUESTION = {"question": "What is 17 * 23?"}


def assert_arithmetic_run(state: dict) -> None:
    schema = plan_model(select_tools(None), Context().max_plan_steps)
    schema.model_validate({"steps": state["plan"]})
    calculator = [r for r in state["tool_results"] if r["tool"] == "calculator"]
    assert calculator, f"the plan should call the calculator: {state['plan']}"
    assert calculator[0]["status"] == "ok"
    assert calculator[0]["output"] == "391"
    assert state["answer"].strip()
    nodes = [m["node"] for m in state["metrics"]]
    assert nodes[:2] == ["split_question", "write_plan"] and nodes[-1] == "write_answer"
    assert "execute_step" in nodes
    # A call that failed (a repair cut off at its limit, say) reports no usage.
    llm_calls = [m for m in state["metrics"] if m["backend"] == "embedded"]
    assert any(m["status"] == "ok" for m in llm_calls)
    assert all(m["prompt_tokens"] > 0 and m["completion_tokens"] > 0
               for m in llm_calls if m["status"] == "ok")


async def test_arithmetic_question_plans_runs_calculator_and_answers(model_path):
    assert_arithmetic_run(await graph.ainvoke(QUESTION))


def test_plain_sync_invoke_works_too(model_path):
    assert_arithmetic_run(graph.invoke(QUESTION))


async def test_planner_prefix_is_served_from_the_prompt_cache(model_path):
    await graph.ainvoke(QUESTION)
    second = await graph.ainvoke({"question": "What is 6 * 7?"})
    for node in ("split_question", "write_plan"):
        call = next(m for m in second["metrics"] if m["node"] == node)
        assert call["cached_tokens"] > call["prompt_tokens"] // 2, node


async def test_stream_reports_plan_steps_and_answer(model_path):
    updates, custom = [], []
    async for mode, chunk in graph.astream(QUESTION, stream_mode=["updates", "custom"]):
        (updates if mode == "updates" else custom).append(chunk)
    assert [next(iter(u)) for u in updates][:2] == ["split_question", "write_plan"]
    assert "execute_step" in {next(iter(u)) for u in updates}
    assert next(iter(updates[-1])) == "write_answer"
    events = [c["event"] for c in custom]
    assert events[:2] == ["question_split", "plan_ready"] and "step_done" in events


async def test_answer_tokens_stream_in_messages_mode(model_path):
    tokens = [
        chunk.content
        async for chunk, meta in graph.astream(QUESTION, stream_mode="messages")
        if meta["langgraph_node"] == "write_answer" and chunk.content
    ]
    assert len(tokens) >= 2


async def test_checkpointed_run_keeps_its_state_per_thread(model_path):
    durable = build_plan_execute().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t-1"}}
    await durable.ainvoke(QUESTION, config)
    saved = (await durable.aget_state(config)).values
    assert saved["question"] == QUESTION["question"]
    assert any(r["output"] == "391" for r in saved["tool_results"])


async def test_disabled_tools_cannot_be_planned(model_path):
    state = await graph.ainvoke(QUESTION, context=Context(tools=["datetime"]))
    assert {step["tool"] for step in state["plan"]} <= {"datetime"}


async def test_unknown_backend_fails_naming_the_context_key(model_path):
    with pytest.raises(GraphConfigError) as caught:
        await graph.ainvoke(QUESTION, context=Context(planner_backend="gpu-box"))
    assert caught.value.key == "planner_backend"
    assert "gpu-box" in str(caught.value)


async def test_streamed_calls_record_time_to_first_token(model_path):
    final = None
    async for mode, chunk in graph.astream(QUESTION, stream_mode=["messages", "values"]):
        if mode == "values":
            final = chunk
    answer = next(m for m in final["metrics"] if m["node"] == "write_answer")
    assert 0 < answer["ttft_ms"] <= answer["latency_ms"]
    plain = await graph.ainvoke(QUESTION)
    assert all("ttft_ms" not in m for m in plain["metrics"]), "no stream, no first token"


async def test_more_plan_samples_than_engine_slots_are_drawn_in_several_requests(model_path):
    # llama.cpp refuses an n above its slot count (4 here): 6 samples take two requests.
    state = await graph.ainvoke(QUESTION, context=Context(plan_samples=6))
    [plan_call] = [m for m in state["metrics"] if m["node"] == "write_plan"]
    assert plan_call["status"] == "ok" and plan_call["samples"] == 6
    assert state["vote"]["samples"] == 6 and state["answer"].strip()
