"""The tool-calling agent's pieces and loop, driven by a scripted fake chat model."""

import json

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import ValidationError

from agents.context import Context
from agents.react.actions import FINAL_MAX_CHARS, action_message, action_model, json_prompt
from agents.react.nodes import turns_taken
from agents.toolset import select_tools
from backends.base import Capabilities
from backends.errors import GraphConfigError
from graphs.react_agent import build_react_agent, graph

ALL = select_tools(None)
QUESTION = {"messages": [HumanMessage("What is 17 * 23?")]}


class Scripted(BaseChatModel):
    """Answers with canned replies in order; records every prompt, binding and tool list."""

    replies: list[AIMessage]
    prompts: list[list] = []
    bindings: list[dict] = []
    bound_tools: list[str] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.prompts.append(list(messages))
        self.bindings.append(kwargs)
        reply = self.replies.pop(0)
        reply = reply.model_copy(update={"response_metadata": {"finish_reason": "stop"}})
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def bind_tools(self, tools, **kwargs):
        self.bound_tools = [tool.name for tool in tools]
        return self.bind(tools=[tool.name for tool in tools], **kwargs)


def action(**fields) -> AIMessage:
    return AIMessage(json.dumps(fields))


def call(expression: str) -> AIMessage:
    return action(action="call", tool="calculator", args={"expression": expression})


def final(answer: str) -> AIMessage:
    return action(action="final", answer=answer)


def capable(native: bool):
    caps = Capabilities(native_tools=native, json_schema=True, regex=False, ebnf=True,
                        choices=True, parallel_sampling=False, logprobs=False,
                        cached_tokens=False)
    return lambda cfg: caps


@pytest.fixture
def json_model(monkeypatch):
    """Install a scripted model on the JSON-action path; set its replies."""
    model = Scripted(replies=[])

    async def get_chat_model(cfg, params=None):
        return model

    monkeypatch.setattr("agents.react.nodes.capabilities", capable(native=False))
    monkeypatch.setattr("agents.llm.get_chat_model", get_chat_model)
    return model


@pytest.fixture
def native_model(monkeypatch):
    """Install a scripted model on the native tool-calling path; set its replies."""
    model = Scripted(replies=[])

    async def get_chat_model(cfg, params=None):
        return model

    def no_constraint(*args, **kwargs):
        raise AssertionError("the native path binds tools; it must not ask for JSON")

    monkeypatch.setattr("agents.react.nodes.capabilities", capable(native=True))
    monkeypatch.setattr("agents.llm.get_chat_model", get_chat_model)
    monkeypatch.setattr("agents.llm.constrained_to", no_constraint)
    return model


def tool_messages(state) -> list[ToolMessage]:
    return [m for m in state["messages"] if isinstance(m, ToolMessage)]


# The action schema


def test_action_accepts_enabled_tools_with_their_own_arguments_and_a_final_answer():
    schema = action_model(ALL)
    parsed = schema.model_validate_json(call("17 * 23").content)
    assert parsed.model_dump() == {"action": "call", "tool": "calculator",
                                   "args": {"expression": "17 * 23"}}
    assert schema.model_validate({"action": "final", "answer": "391"}).model_dump() == {
        "action": "final", "answer": "391"}


@pytest.mark.parametrize("reply", [
    {"action": "call", "tool": "shell", "args": {"command": "rm -rf /"}},
    {"action": "call", "tool": "web_search", "args": {"query": "x"}},
    {"action": "call", "tool": "calculator", "args": {"timezone": "UTC"}},
    {"action": "call", "tool": "calculator", "args": {"expression": "1", "extra": 1}},
    {"action": "call", "tool": "calculator"},
    {"action": "final", "answer": ""},
    {"action": "final", "answer": "x" * (FINAL_MAX_CHARS + 1)},
    {"action": "final", "answer": "391", "tool": "calculator"},
    {"action": "think", "answer": "391"},
])
def test_action_rejects_what_the_schema_forbids(reply):
    with pytest.raises(ValidationError):
        action_model(ALL).model_validate(reply)


def test_action_json_schema_names_only_enabled_tools():
    text = json.dumps(action_model(("calculator",)).model_json_schema())
    assert '"const": "calculator"' in text and "datetime" not in text
    assert f'"maxLength": {FINAL_MAX_CHARS}' in text
    assert "web_search" not in json.dumps(action_model(ALL).model_json_schema())


def test_no_tools_leaves_only_the_final_answer():
    schema = action_model(())
    assert schema.model_validate({"action": "final", "answer": "hi"})
    with pytest.raises(ValidationError):
        schema.model_validate({"action": "call", "tool": "calculator",
                               "args": {"expression": "1"}})


def test_actions_become_ordinary_tool_calls_or_answers():
    schema = action_model(ALL)
    reply = AIMessage("", usage_metadata={"input_tokens": 3, "output_tokens": 2,
                                          "total_tokens": 5})
    called = action_message(schema.model_validate_json(call("2 ** 8").content), "call_4_0",
                            reply)
    assert called.tool_calls == [{"name": "calculator", "args": {"expression": "2 ** 8"},
                                  "id": "call_4_0", "type": "tool_call"}]
    assert called.content == "" and called.usage_metadata == reply.usage_metadata
    answered = action_message(schema.model_validate_json(final("256.").content), "x", reply)
    assert (answered.content, answered.tool_calls) == ("256.", [])


# The prompt


def test_json_prompt_has_a_byte_stable_prefix_and_sorted_tools():
    conversation = [HumanMessage("What is 17 * 23?")]
    first = json_prompt(ALL, conversation)
    longer = json_prompt(ALL, [*conversation, AIMessage("", tool_calls=[
        {"name": "calculator", "args": {"expression": "17 * 23"}, "id": "c"}])])
    assert [m.content for m in longer[:len(first)]] == [m.content for m in first]
    system = first[0].content
    assert system.index("- calculator:") < system.index("- datetime:") < system.index(
        "- unit_convert:")
    assert "web_search" not in system
    assert "datetime" not in json_prompt(("calculator",), conversation)[0].content


def test_json_prompt_renders_calls_as_actions_and_results_as_user_turns():
    rendered = json_prompt(("calculator",), [
        HumanMessage("q"),
        AIMessage("", tool_calls=[{"name": "calculator", "args": {"expression": "1/0"},
                                   "id": "c1"}]),
        ToolMessage("division by zero", tool_call_id="c1", name="calculator", status="error"),
        AIMessage("", tool_calls=[{"name": "calculator", "args": {"expression": "1/1"},
                                   "id": "c2"}]),
        ToolMessage("1", tool_call_id="c2", name="calculator"),
        AIMessage("It is 1."),
    ])
    tail = [(type(m).__name__, m.content) for m in rendered[-6:]]
    assert tail == [
        ("HumanMessage", "q"),
        ("AIMessage", '{"action": "call", "tool": "calculator", "args": {"expression": "1/0"}}'),
        ("HumanMessage", "calculator failed: division by zero"),
        ("AIMessage", '{"action": "call", "tool": "calculator", "args": {"expression": "1/1"}}'),
        ("HumanMessage", "Result of calculator: 1"),
        ("AIMessage", '{"action": "final", "answer": "It is 1."}'),
    ]


def test_turns_are_counted_since_the_last_user_message():
    assert turns_taken([HumanMessage("a")]) == 0
    assert turns_taken([HumanMessage("a"), AIMessage("x"), ToolMessage("1", tool_call_id="c"),
                        AIMessage("y")]) == 2
    assert turns_taken([HumanMessage("a"), AIMessage("x"), HumanMessage("b")]) == 0


# The loop


async def test_json_path_converts_actions_into_tool_calls(json_model):
    json_model.replies = [call("17 * 23"), final("17 * 23 is 391.")]
    state = await graph.ainvoke(QUESTION)
    assert state["answer"] == "17 * 23 is 391." and state["steps"] == 2
    ai = [m for m in state["messages"] if isinstance(m, AIMessage)]
    assert ai[0].tool_calls[0]["name"] == "calculator" and ai[0].tool_calls[0]["id"] == "call_0_0"
    results = tool_messages(state)
    assert [(m.content, m.tool_call_id, m.status) for m in results] == [
        ("391", "call_0_0", "success")]
    format_sent = json_model.bindings[0]["response_format"]
    assert format_sent["type"] == "json_schema", "the server is asked to enforce the action"
    assert [m["node"] for m in state["metrics"]] == ["think", "act", "think"]
    assert "Result of calculator: 391" in json_model.prompts[1][-1].content


async def test_native_path_binds_tools_and_reads_tool_calls(native_model):
    native_model.replies = [
        AIMessage("", tool_calls=[{"name": "calculator", "args": {"expression": "17 * 23"},
                                   "id": "srv-1"},
                                  {"name": "calculator", "args": {"expression": "6 * 7"},
                                   "id": "srv-2"}]),
        AIMessage("391 and 42."),
    ]
    state = await graph.ainvoke(QUESTION)
    assert native_model.bound_tools == list(ALL)
    assert [(m.tool_call_id, m.content) for m in tool_messages(state)] == [
        ("srv-1", "391"), ("srv-2", "42")]
    assert state["answer"] == "391 and 42."
    second_prompt = native_model.prompts[1]
    assert isinstance(second_prompt[-1], ToolMessage), "a native model sees ToolMessages"


async def test_tool_error_comes_back_to_the_model_as_a_tool_message(json_model):
    json_model.replies = [call("1 / 0"), final("It cannot be divided by zero.")]
    state = await graph.ainvoke({"messages": [HumanMessage("What is 1 / 0?")]})
    (result,) = tool_messages(state)
    assert result.status == "error" and "zero" in str(result.content)
    seen = json_model.prompts[1][-1]
    assert isinstance(seen, HumanMessage) and seen.content.startswith("calculator failed:")
    assert state["answer"] == "It cannot be divided by zero."
    assert state["metrics"][1]["status"] == "error"


async def test_native_unknown_tool_is_a_tool_error_not_a_crash(native_model):
    native_model.replies = [
        AIMessage("", tool_calls=[{"name": "shell", "args": {"cmd": "ls"}, "id": "x"}]),
        AIMessage("I cannot do that."),
    ]
    state = await graph.ainvoke(QUESTION)
    (result,) = tool_messages(state)
    assert result.status == "error" and "unknown tool 'shell'" in str(result.content)


async def test_step_budget_ends_with_a_clear_answer(json_model):
    json_model.replies = [call("17 * 23"), call("17 * 23"), call("17 * 23")]
    # 2 * max_agent_steps + 2, the documented minimum: the budget, not the limit, stops it.
    state = await graph.ainvoke(QUESTION, {"recursion_limit": 6},
                                context=Context(max_agent_steps=2))
    assert len(json_model.prompts) == 2, "no model call after the budget ran out"
    assert state["answer"].startswith("Stopped after 2 model turns")
    assert "max_agent_steps=2" in state["answer"] and "391" in state["answer"]
    assert state["messages"][-1].content == state["answer"]
    assert not state["messages"][-1].tool_calls


async def test_low_recursion_limit_stops_cleanly_naming_it(json_model):
    json_model.replies = [call("1 + 1")] * 10
    state = await graph.ainvoke(QUESTION, {"recursion_limit": 6})
    assert "recursion_limit" in state["answer"] and "at least 14" in state["answer"]


async def test_zero_step_budget_names_its_key(json_model):
    with pytest.raises(GraphConfigError) as caught:
        await graph.ainvoke(QUESTION, context=Context(max_agent_steps=0))
    assert caught.value.key == "max_agent_steps"


async def test_approval_pauses_and_a_rejection_reaches_the_model(json_model):
    json_model.replies = [call("17 * 23"), final("I was not allowed to compute it.")]
    durable = build_react_agent().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "reject"}}
    gated = Context(approval_tools=["calculator"])
    paused = await durable.ainvoke(QUESTION, config, context=gated)
    assert paused["__interrupt__"][0].value["tool"] == "calculator"
    state = await durable.ainvoke(Command(resume={"action": "reject", "reason": "not now"}),
                                  config, context=gated)
    (result,) = tool_messages(state)
    assert result.status == "error" and "rejected" in result.content and "not now" in result.content
    assert json_model.prompts[1][-1].content.startswith("calculator failed: a person rejected")


async def test_an_edited_call_runs_with_the_new_arguments_recorded(json_model):
    json_model.replies = [call("17 * 23"), final("The answer is 42.")]
    durable = build_react_agent().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "edit"}}
    gated = Context(approval_tools=["calculator"])
    await durable.ainvoke(QUESTION, config, context=gated)
    state = await durable.ainvoke(
        Command(resume={"action": "edit", "args": {"expression": "6 * 7"}}), config,
        context=gated)
    (result,) = tool_messages(state)
    assert result.content == "42" and result.artifact["args"] == {"expression": "6 * 7"}


async def test_streamed_json_is_replaced_by_the_converted_message(json_model):
    json_model.replies = [call("17 * 23"), final("The answer is 391.")]
    streamed, final_state = set(), None
    async for mode, chunk in graph.astream(QUESTION, stream_mode=["messages", "values"]):
        if mode == "messages" and chunk[1]["langgraph_node"] == "think":
            streamed.add(chunk[0].id)
        elif mode == "values":
            final_state = chunk
    thoughts = [m.id for m in final_state["messages"] if isinstance(m, AIMessage)]
    assert thoughts and set(thoughts) <= streamed


async def test_a_second_question_on_a_thread_gets_a_fresh_budget_and_new_ids(json_model):
    json_model.replies = [call("17 * 23"), final("391."), call("6 * 7"), final("42.")]
    durable = build_react_agent().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "two"}}
    context = Context(max_agent_steps=2)
    await durable.ainvoke(QUESTION, config, context=context)
    state = await durable.ainvoke({"messages": [HumanMessage("And 6 * 7?")]}, config,
                                  context=context)
    assert state["answer"] == "42." and state["steps"] == 2
    assert [m.tool_call_id for m in tool_messages(state)] == ["call_0_0", "call_2_0"]


# The graph as Studio and reviewers see it


def test_studio_input_is_just_the_messages():
    assert set(graph.get_input_jsonschema()["properties"]) == {"messages"}
    assert set(graph.get_output_jsonschema()["properties"]) == {
        "messages", "answer", "steps", "metrics", "summary"}


async def test_a_chain_with_one_backend_without_native_tools_uses_json_actions(
        json_model, monkeypatch, tmp_path):
    from tests.wire.config import vllm_at, write_backends

    config = write_backends(tmp_path, {"gpu": vllm_at("http://127.0.0.1:9"),
                                       "small": vllm_at("http://127.0.0.1:9")},
                            {"mixed": ["gpu", "small"], "both-gpu": ["gpu"]})
    monkeypatch.setenv("AGENT_ROUTER_CONFIG", str(config))
    native_on_gpu = {"gpu": capable(native=True)(None), "small": capable(native=False)(None)}
    monkeypatch.setattr("agents.react.nodes.capabilities", lambda cfg: native_on_gpu[cfg.name])
    json_model.replies = [final("4")]
    state = await graph.ainvoke(QUESTION, context={"agent_backend": "mixed"})
    assert state["answer"] == "4"
    assert "json" in json_model.bindings[0]["extra_body"]["structured_outputs"], (
        "the fallback could not call bound tools, so the whole chain gets JSON actions")
    json_model.replies = [AIMessage("4")]
    state = await graph.ainvoke(QUESTION, context={"agent_backend": "both-gpu"})
    assert state["answer"] == "4" and json_model.bound_tools == list(ALL)
