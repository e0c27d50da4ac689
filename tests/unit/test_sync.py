"""Async nodes also run under plain ``graph.invoke`` through ``sync_and_async``."""

import asyncio
import threading
from dataclasses import dataclass
from typing import TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

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
