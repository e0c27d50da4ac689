"""Fallback and breakers against a fault-injecting HTTP server on 127.0.0.1.

Real client libraries (openai via ChatOpenAI, httpx, ollama), real sockets; the
server answers each request from a script: errors in each engine's own format,
hangs past the timeout, streams cut mid-way, malformed bodies.
"""

import pytest
from langchain_core.messages import HumanMessage

from agents.llm import _ask
from backends.errors import BackendTimeout, BackendUnavailable, ContextTooLong, InvalidRequest
from backends.router import NoBackendLeft, call_chain, reset_breakers
from backends.settings import GenerationParams, OllamaBackend, SGLangBackend, VLLMBackend
from tests.wire.faulty import (
    OLLAMA_BUSY_503,
    OPENAI_429,
    OPENAI_500,
    OPENAI_503,
    SGLANG_CONTEXT_ERROR,
    SGLANG_NATIVE_CONTEXT_ERROR,
    VLLM_CONTEXT_ERROR,
    FaultyServer,
    chat_completion,
    drop_after,
    hang,
    malformed,
    ok,
    ok_stream,
    sse,
    status,
)

MESSAGES = [HumanMessage("hi")]
PARAMS = GenerationParams(max_tokens=8)


def completion(text: str = "fine") -> dict:
    return chat_completion(text)


def chunk(text: str, finish: str | None = None) -> dict:
    return {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}


@pytest.fixture(autouse=True)
def fresh_breakers():
    reset_breakers()
    yield
    reset_breakers()


@pytest.fixture
def servers():
    started: list[FaultyServer] = []

    def start(*script, **kwargs) -> FaultyServer:
        server = FaultyServer(script, **kwargs)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def vllm(server: FaultyServer, name: str = "v", **settings) -> VLLMBackend:
    defaults = {"max_retries": 1, "retry_backoff_s": 0.01, "timeout_s": 5.0}
    return VLLMBackend(name=name, kind="vllm", base_url=server.base_url, model="m",
                       **{**defaults, **settings})


async def ask_chain(*backends):
    return await call_chain("test", backends, lambda cfg: _ask(cfg, PARAMS, MESSAGES, None))


async def test_503_is_retried_once_on_the_same_backend(servers):
    server = servers(status(503, OPENAI_503), ok(completion("after retry")))
    reply, answered, attempts = await ask_chain(vllm(server))
    assert reply.content == "after retry" and answered.name == "v"
    assert len(server.requests) == 2
    assert [a.outcome for a in attempts] == ["failed", "ok"]


@pytest.mark.parametrize("failure", [status(500, OPENAI_500), status(429, OPENAI_429),
                                     malformed()], ids=["500", "429", "malformed"])
async def test_failing_backend_falls_through_to_the_next(servers, failure):
    bad = servers(failure, failure)
    good = servers(ok(completion("from b")))
    reply, answered, _ = await ask_chain(vllm(bad, "a"), vllm(good, "b"))
    assert (reply.content, answered.name) == ("from b", "b")
    assert len(bad.requests) == 2, "one retry on the failing backend, then the next"


async def test_hang_past_the_timeout_is_a_timeout_then_fallback(servers):
    slow = servers(hang(30), hang(30))
    good = servers(ok(completion("quick")))
    reply, _, attempts = await ask_chain(vllm(slow, "slow", timeout_s=0.3, max_retries=0),
                                         vllm(good, "good"))
    assert reply.content == "quick"
    assert attempts[0].error == "BackendTimeout"


async def test_context_overflow_is_not_retried_and_moves_to_a_larger_window(servers):
    small = servers(status(400, VLLM_CONTEXT_ERROR))
    large = servers(ok(completion("long answer")))
    reply, answered, attempts = await ask_chain(
        vllm(small, "small", context_length=2048), vllm(large, "large", context_length=32768))
    assert answered.name == "large" and len(small.requests) == 1
    assert attempts[0].error == "ContextTooLong"


async def test_plain_bad_request_is_raised_not_retried_nor_routed(servers):
    bad = servers(status(400, {"error": {"message": "unknown field 'x'",
                                         "type": "BadRequestError", "code": 400}}))
    other = servers(ok(completion()))
    with pytest.raises(InvalidRequest):
        await ask_chain(vllm(bad, "a", max_retries=3), vllm(other, "b"))
    assert len(bad.requests) == 1 and other.requests == []


async def test_breaker_opens_and_later_calls_skip_the_dead_server(servers):
    dead = servers(default=status(503, OPENAI_503))
    good = servers(default=ok(completion()))
    chain = (vllm(dead, "dead", max_retries=0, breaker_threshold=2), vllm(good, "good"))
    for _ in range(2):
        await ask_chain(*chain)
    assert len(dead.requests) == 2
    _, _, attempts = await ask_chain(*chain)
    assert attempts[0].outcome == "skipped" and len(dead.requests) == 2


async def test_stream_cut_mid_way_surfaces_instead_of_a_truncated_answer(servers):
    events = sse([chunk("The answer is "), chunk("forty"), chunk("-two", "stop")])
    server = servers(drop_after(events, 2))
    cfg = vllm(server, max_retries=0)
    from backends.chat import get_chat_model, translate_error

    model = await get_chat_model(cfg, PARAMS)
    with pytest.raises(Exception) as caught:
        [c async for c in model.astream(MESSAGES)]
    assert isinstance(translate_error(caught.value, cfg), BackendUnavailable)


async def test_stream_ending_without_a_finish_reason_is_refused(servers):
    events = sse([chunk("The answer is "), chunk("forty")])  # [DONE], but never finished
    server = servers(ok_stream(events), ok_stream(events))
    cfg = vllm(server, max_retries=0)

    async def streamed(backend):
        from backends.chat import engine_for, get_chat_model

        model = await get_chat_model(backend, PARAMS)
        reply = None
        async for piece in model.astream(MESSAGES):
            reply = piece if reply is None else reply + piece
        engine_for(backend).verify_reply(reply, MESSAGES, backend)
        return reply

    with pytest.raises(NoBackendLeft) as caught:
        await call_chain("test", [cfg], streamed)
    assert "stream was cut" in str(caught.value)


async def test_sglang_openai_context_error_is_recognised(servers):
    server = servers(status(400, SGLANG_CONTEXT_ERROR))
    cfg = SGLangBackend(name="s", kind="sglang", base_url=server.base_url, model="m",
                        max_retries=0)
    with pytest.raises(ContextTooLong) as caught:
        await call_chain("test", [cfg], lambda c: _ask(c, PARAMS, MESSAGES, None))
    assert "longer than the model's context length" in str(caught.value)


async def test_sglang_native_errors_map_by_status(servers):
    server = servers(status(400, SGLANG_NATIVE_CONTEXT_ERROR), status(503, OPENAI_503),
                     status(400, {"error": {"message": "bad regex"}}))
    cfg = SGLangBackend(name="s", kind="sglang", base_url=server.base_url, model="m",
                        api="native", max_retries=0)
    with pytest.raises(ContextTooLong):
        await _ask(cfg, PARAMS, MESSAGES, None)
    with pytest.raises(BackendUnavailable):
        await _ask(cfg, PARAMS, MESSAGES, None)
    with pytest.raises(InvalidRequest):
        await _ask(cfg, PARAMS, MESSAGES, None)
    assert server.paths() == ["/generate"] * 3


async def test_ollama_busy_and_hang(servers):
    server = servers(status(503, OLLAMA_BUSY_503), hang(30))
    cfg = OllamaBackend(name="o", kind="ollama", base_url=server.base_url, model="m",
                        timeout_s=0.3, max_retries=0)
    with pytest.raises(BackendUnavailable, match="server busy"):
        await _ask(cfg, PARAMS, MESSAGES, None)
    with pytest.raises(BackendTimeout):
        await _ask(cfg, PARAMS, MESSAGES, None)


async def test_ollama_error_inside_a_started_stream_is_retryable(servers):
    from tests.wire.faulty import NDJSON

    lines = ['{"model":"m","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant",'
             '"content":"par"},"done":false}\n',
             '{"error":"llama runner process has terminated"}\n']
    broken = servers(ok_stream(lines, NDJSON))
    good = servers(default=ok(completion("from vllm")))
    chain = [OllamaBackend(name="o", kind="ollama", base_url=broken.base_url, model="m",
                           max_retries=0),
             vllm(good, "v")]
    reply, answered, attempts = await ask_chain(*chain)
    assert answered.name == "v" and attempts[0].error == "BackendUnavailable"
