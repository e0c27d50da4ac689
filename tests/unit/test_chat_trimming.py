"""What the chat node sends: the fixed system prompt, then the newest whole turns that fit."""

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.messages.utils import count_tokens_approximately

from agents.chat import history_budget, trim_history
from agents.chat.prompts import CHAT_SYSTEM
from backends import chat
from backends.base import ModelInfo
from backends.chat import DEFAULT_CONTEXT_LENGTH, context_window
from backends.errors import BackendUnavailable, ContextTooLong, GraphConfigError
from backends.validation import parse_config


def conversation(turns: int, words: int = 60) -> list:
    history = []
    for i in range(turns):
        history += [HumanMessage(f"question {i} " + "word " * words),
                    AIMessage(f"answer {i} " + "word " * words)]
    return [*history, HumanMessage("the newest question")]


@pytest.mark.parametrize("budget", [60, 150, 400, 1000, 5000])
def test_trimmed_prompt_is_system_then_a_suffix_starting_on_a_human_message(budget):
    history = conversation(20)
    prompt = trim_history(history, budget=budget, backend="b")
    assert isinstance(prompt[0], SystemMessage) and prompt[0].content == CHAT_SYSTEM
    kept = prompt[1:]
    assert kept == history[len(history) - len(kept):], "a suffix, so prefix caching still hits"
    assert isinstance(kept[0], HumanMessage), "no reply is sent without its question"
    assert kept[-1] is history[-1], "the newest message is always sent"
    assert count_tokens_approximately(prompt) <= budget


def test_a_history_that_fits_is_sent_whole():
    history = conversation(3)
    assert trim_history(history, budget=10_000, backend="b")[1:] == history


def test_the_system_prompt_is_byte_identical_however_much_is_dropped():
    history = conversation(30)
    systems = {trim_history(history, budget=b, backend="b")[0].content
               for b in (100, 700, 3000)}
    assert systems == {CHAT_SYSTEM}


def test_a_trailing_reply_never_leaves_its_question_behind():
    history = [*conversation(5)[:-1], HumanMessage("q " + "word " * 60),
               AIMessage("a " + "word " * 60)]
    # Room for the last exchange and the reply before it, but not that reply's question.
    budget = count_tokens_approximately([SystemMessage(CHAT_SYSTEM), *history[-3:]]) + 10
    prompt = trim_history(history, budget=budget, backend="b")
    assert prompt[1:] == history[-2:]


def test_a_message_too_long_for_the_window_fails_clearly():
    history = [HumanMessage("hi"), AIMessage("hello"), HumanMessage("word " * 4000)]
    with pytest.raises(ContextTooLong) as caught:
        trim_history(history, budget=1500, backend="embedded")
    message = str(caught.value)
    assert "newest message needs about" in message and "1500" in message
    assert "backend 'embedded'" in message and caught.value.backend == "embedded"


def test_a_conversation_without_a_human_message_is_refused():
    with pytest.raises(GraphConfigError) as caught:
        trim_history([AIMessage("hello")], budget=1500, backend="b")
    assert caught.value.key == "messages"


def test_budget_reserves_the_reply_and_a_margin():
    assert history_budget(2048, 32) == 2048 - 32 - 256
    assert history_budget(512, 32) == 512 - 32 - 64
    assert history_budget(600, 700) < 0


def configured():
    return parse_config({"backends": {
        "remote": {"kind": "vllm", "base_url": "http://127.0.0.1:9", "model": "m"},
        "sized": {"kind": "vllm", "base_url": "http://127.0.0.1:9", "model": "m",
                  "context_length": 4096},
        "llama": {"kind": "ollama", "base_url": "http://127.0.0.1:9", "model": "m",
                  "num_ctx": 3000},
    }}, source="test").backends


@pytest.fixture
def fake_model_info(monkeypatch):
    calls = []

    def install(answer):
        async def model_info(cfg):
            calls.append(cfg.name)
            if isinstance(answer, Exception):
                raise answer
            return ModelInfo(cfg.name, "m", answer)

        monkeypatch.setattr(chat, "model_info", model_info)
        monkeypatch.setattr(chat, "_context_lengths", {})
        return calls

    return install


async def test_the_servers_context_length_is_asked_once_per_backend(fake_model_info):
    calls = fake_model_info(32768)
    cfg = configured()["remote"]
    assert [await context_window(cfg) for _ in range(3)] == [32768] * 3
    assert calls == ["remote"]


async def test_ollama_serves_num_ctx_not_the_models_trained_length(fake_model_info):
    fake_model_info(131072)
    assert await context_window(configured()["llama"]) == 3000


@pytest.mark.parametrize("answer", [None, BackendUnavailable("down", backend="remote")])
async def test_an_unknown_length_falls_back_to_the_config_then_the_default(
        fake_model_info, answer):
    calls = fake_model_info(answer)
    assert await context_window(configured()["sized"]) == 4096
    assert await context_window(configured()["remote"]) == DEFAULT_CONTEXT_LENGTH
    assert await context_window(configured()["remote"]) == DEFAULT_CONTEXT_LENGTH
    assert calls.count("remote") == 2, "a fallback is not cached: the server may come back"


async def test_each_backend_of_the_chain_gets_the_history_that_fits_its_window(
        tmp_path, monkeypatch):
    from agents.context import Context
    from backends.router import reset_breakers
    from graphs.chat import graph
    from tests.wire.config import vllm_at, write_backends
    from tests.wire.faulty import OPENAI_503, FaultyServer, chat_completion, ok, status

    no_model_card = {"/v1/models": status(404, {"detail": "Not Found"})}
    big = FaultyServer(default=status(503, OPENAI_503), fixed=no_model_card)
    small = FaultyServer(default=ok(chat_completion("hello")), fixed=no_model_card)
    with big, small:
        config = write_backends(tmp_path, {
            "big": vllm_at(big.base_url, context_length=32768, max_retries=0),
            "small": vllm_at(small.base_url, context_length=1024)}, {"pair": ["big", "small"]})
        monkeypatch.setenv("AGENT_ROUTER_CONFIG", str(config))
        reset_breakers()
        history = conversation(30)
        events, state = [], None
        async for mode, chunk in graph.astream(
                {"messages": history}, context=Context(chat_backend="pair", max_answer_tokens=16),
                stream_mode=["custom", "values"]):
            if mode == "custom":
                events.append(chunk)
            else:
                state = chunk
        [to_big] = [r.json() for r in big.requests if r.path.endswith("/chat/completions")]
        [to_small] = [r.json() for r in small.requests if r.path.endswith("/chat/completions")]
    reset_breakers()
    assert state["messages"][-1].content == "hello"
    assert len(to_big["messages"]) == len(history) + 1, "the big window takes it all"
    assert len(to_small["messages"]) < len(to_big["messages"]) // 3, "the fallback's is cut"
    assert to_small["messages"][-1]["content"] == "the newest question"
    [trimmed] = [e for e in events if e["event"] == "history_trimmed"]
    assert trimmed["backend"] == "small"
    assert [f["backend"] for f in state["metrics"][0]["fallbacks"]] == ["big"]
