"""The chat graph on the embedded engine: memory per thread, across restarts, trimmed to fit."""

import os
import sys
import textwrap
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.messages.utils import count_tokens_approximately
from langgraph.checkpoint.memory import InMemorySaver

from agents.context import Context
from agents.llm import chain_backends
from backends.chat import context_window
from backends.errors import InputError
from graphs.chat import build_chat, graph
from serving.api.persistence import open_async_sqlite
from tests import procs

ROOT = Path(__file__).parents[2]
TURN_TIMEOUT_S = 600  # generous: the model can crawl on a loaded machine
SHORT = Context(max_answer_tokens=16)
THREAD = {"configurable": {"thread_id": "t"}}


def kinds(state: dict) -> list[str]:
    return [m.type for m in state["messages"]]


async def test_the_second_turn_sees_the_first(model_path):
    chat = build_chat().compile(checkpointer=InMemorySaver())
    await chat.ainvoke({"messages": [HumanMessage("My name is Ada.")]}, THREAD, context=SHORT)
    state = await chat.ainvoke({"messages": [HumanMessage("What is my name?")]}, THREAD,
                               context=SHORT)
    assert kinds(state) == ["human", "ai", "human", "ai"]
    first, second = state["metrics"]
    assert state["summary"]["write_reply"]["calls"] == 2, "the thread's calls are summed"
    assert second["prompt_tokens"] > first["prompt_tokens"] + first["completion_tokens"]
    assert second["cached_tokens"] >= first["prompt_tokens"] // 2, (
        "the first exchange is re-sent as the same prefix, so the server's cache serves it")


def test_plain_sync_invoke_works_too(model_path):
    chat = build_chat().compile(checkpointer=InMemorySaver())
    for text in ("Hello.", "Say it again."):
        state = chat.invoke({"messages": [HumanMessage(text)]}, THREAD, context=SHORT)
    assert kinds(state) == ["human", "ai", "human", "ai"]
    alone = graph.invoke({"messages": [HumanMessage("Hello.")]}, context=SHORT)
    assert kinds(alone) == ["human", "ai"], "without a checkpointer each call starts afresh"


TURN_SCRIPT = textwrap.dedent("""
    import sys
    from agents.context import Context
    from graphs.chat import build_chat
    from serving.api.persistence import compile_with_sqlite

    chat = compile_with_sqlite(build_chat(), sys.argv[1])
    config = {"configurable": {"thread_id": "t"}}
    chat.invoke({"messages": [("user", sys.argv[2])]}, config,
                context=Context(max_answer_tokens=16))
    print(len(chat.get_state(config).values["messages"]))
""")


def run_turn(script: Path, database: Path, text: str) -> int:
    done = procs.run(
        [sys.executable, str(script), str(database), text], cwd=ROOT, capture_output=True,
        text=True, timeout=TURN_TIMEOUT_S, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return int(done.stdout.split()[-1])


def test_memory_survives_a_process_restart(tmp_path, model_path):
    script, database = tmp_path / "turn.py", tmp_path / "chat.sqlite"
    script.write_text(TURN_SCRIPT)
    assert run_turn(script, database, "My name is Ada.") == 2
    assert run_turn(script, database, "What is my name?") == 4


async def test_async_sqlite_keeps_the_thread_between_connections(tmp_path, model_path):
    database = tmp_path / "chat.sqlite"
    for text in ("Hello.", "Say it again."):
        async with open_async_sqlite(database) as saver:
            chat = build_chat().compile(checkpointer=saver)
            state = await chat.ainvoke({"messages": [HumanMessage(text)]}, THREAD,
                                       context=SHORT)
    assert kinds(state) == ["human", "ai", "human", "ai"]


async def test_the_window_is_the_servers_real_one(model_path):
    [cfg, *_] = await chain_backends(Context().chat_backend, key="chat_backend",
                                     local_only=False)
    assert await context_window(cfg) == cfg.engine.n_ctx // cfg.engine.n_parallel


async def test_a_long_conversation_is_trimmed_instead_of_overflowing(model_path):
    filler = "The river runs past the old mill and the children play by the water. " * 5
    history = []
    for i in range(40):
        history += [HumanMessage(f"Story part {i}: {filler}"), AIMessage(f"Noted {i}: {filler}")]
    [cfg, *_] = await chain_backends("answer", key="chat_backend", local_only=False)
    window = await context_window(cfg)
    assert count_tokens_approximately(history) > 3 * window
    events, state = [], None
    async for mode, chunk in graph.astream(
            {"messages": [*history, HumanMessage("Say hello.")]}, context=SHORT,
            stream_mode=["custom", "values"]):
        if mode == "custom":
            events.append(chunk)
        else:
            state = chunk
    assert len(state["messages"]) == 82, "the state keeps the whole conversation"
    assert state["messages"][-1].type == "ai"
    (trimmed,) = [e for e in events if e["event"] == "history_trimmed"]
    assert trimmed["dropped"] > 60 and trimmed["sent"] >= 3
    assert state["metrics"][0]["prompt_tokens"] + 16 <= window


async def test_a_message_larger_than_the_window_fails_before_any_call(model_path):
    with pytest.raises(InputError, match="more than the context window") as refused:
        await graph.ainvoke({"messages": [HumanMessage("word " * 3000)]}, context=SHORT)
    assert refused.value.field == "messages"
