"""Async nodes also run under plain ``graph.invoke`` through ``sync_and_async``."""

import asyncio
import operator
import threading
from dataclasses import dataclass
from typing import Annotated, TypedDict

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, Send, interrupt

from agents.sync import sync_and_async


@dataclass
class Ctx:
    greeting: str = "hello"


class State(TypedDict):
    name: str
    text: str
    loop_id: int


async def greet(state: State, runtime: Runtime[Ctx]) -> dict:
    await asyncio.sleep(0)
    get_stream_writer()({"greeted": state["name"]})
    context = runtime.context or Ctx()
    return {"text": f"{context.greeting} {state['name']}",
            "loop_id": id(asyncio.get_running_loop())}


def build():
    builder = StateGraph(State, context_schema=Ctx)
    builder.add_node("greet", sync_and_async(greet))
    builder.add_edge(START, "greet")
    builder.add_edge("greet", END)
    return builder.compile()


def test_sync_invoke_runs_the_async_node_with_its_runtime():
    graph = build()
    first = graph.invoke({"name": "ada"}, context=Ctx(greeting="hi"))
    second = graph.invoke({"name": "bob"})
    assert first["text"] == "hi ada"
    assert second["text"] == "hello bob"
    assert first["loop_id"] == second["loop_id"], "sync calls share one background loop"


def test_sync_stream_carries_custom_events():
    chunks = list(build().stream({"name": "ada"}, stream_mode="custom"))
    assert chunks == [{"greeted": "ada"}]


async def test_async_invoke_runs_on_the_callers_loop():
    result = await build().ainvoke({"name": "cy"})
    assert result["text"] == "hello cy"
    assert result["loop_id"] == id(asyncio.get_running_loop())


def test_sync_invoke_works_from_many_threads_at_once():
    graph = build()
    results: list[str] = []

    def run(name: str) -> None:
        results.append(graph.invoke({"name": name})["text"])

    threads = [threading.Thread(target=run, args=(f"u{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == sorted(f"hello u{i}" for i in range(8))


class Step(TypedDict):
    item: str


class FanState(TypedDict):
    items: list[str]
    done: Annotated[list[str], operator.add]


async def fan_out(state: FanState) -> dict:
    return {}


async def work(step: Step, runtime: Runtime[Ctx], config: RunnableConfig) -> dict:
    context = runtime.context or Ctx()
    return {"done": [f"{context.greeting} {step['item']} in {config['configurable']['tag']}"]}


def build_fan_out():
    builder = StateGraph(FanState, context_schema=Ctx)
    builder.add_node("fan_out", sync_and_async(fan_out))
    builder.add_node("work", sync_and_async(work), input_schema=Step)
    builder.add_edge(START, "fan_out")
    builder.add_conditional_edges(
        "fan_out", lambda state: [Send("work", {"item": i}) for i in state["items"]], ["work"])
    builder.add_edge("work", END)
    return builder.compile()


def test_send_with_an_input_schema_passes_runtime_and_config_both_ways():
    graph = build_fan_out()
    config: RunnableConfig = {"configurable": {"tag": "t1"}}
    sync = graph.invoke({"items": ["a", "b"]}, config, context=Ctx(greeting="hi"))
    asynchronous = asyncio.run(graph.ainvoke({"items": ["a", "b"]}, config))
    assert sorted(sync["done"]) == ["hi a in t1", "hi b in t1"]
    assert sorted(asynchronous["done"]) == ["hello a in t1", "hello b in t1"]


class Approval(TypedDict):
    request: str
    approved: bool


async def ask(state: Approval) -> dict:
    return {"approved": interrupt({"approve": state["request"]})}


def test_interrupt_and_resume_under_sync_invoke():
    builder = StateGraph(Approval)
    builder.add_node("ask", sync_and_async(ask))
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    paused = graph.invoke({"request": "rm -rf"}, config)
    assert [i.value for i in paused["__interrupt__"]] == [{"approve": "rm -rf"}]
    assert graph.invoke(Command(resume=False), config)["approved"] is False


class Chat(TypedDict):
    messages: Annotated[list, operator.add]


async def reply(state: Chat) -> dict:
    model = GenericFakeChatModel(messages=iter([AIMessage("one two three")]))
    return {"messages": [await model.ainvoke(state["messages"])]}


def test_messages_stream_carries_model_tokens_from_the_background_loop():
    builder = StateGraph(Chat)
    builder.add_node("reply", sync_and_async(reply))
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    chunks = list(builder.compile().stream({"messages": [HumanMessage("hi")]},
                                           stream_mode="messages"))
    assert "".join(str(chunk.content) for chunk, _ in chunks) == "one two three"
    assert {meta["langgraph_node"] for _, meta in chunks} == {"reply"}


async def wants_something_else(state: State, verbose: bool) -> dict:
    return {}


def test_a_node_asking_for_an_unknown_keyword_is_refused_when_wrapped():
    with pytest.raises(TypeError, match="verbose"):
        sync_and_async(wants_something_else)
