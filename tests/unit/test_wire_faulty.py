"""The fault-injecting server: each behaviour as an httpx client sees it, and its request log."""

import json
import threading
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.wire.faulty import (
    LLAMACPP_CONTEXT_ERROR,
    NDJSON,
    OLLAMA_BUSY_503,
    OPENAI_429,
    OPENAI_500,
    OPENAI_503,
    SGLANG_CONTEXT_ERROR,
    SGLANG_NATIVE_CONTEXT_ERROR,
    VLLM_CONTEXT_ERROR,
    VLLM_LEGACY_CONTEXT_ERROR,
    FaultyServer,
    drop_after,
    hang,
    llamacpp_context_error,
    malformed,
    ndjson,
    ok,
    ok_stream,
    sse,
    status,
)

EVENTS = [{"choices": [{"delta": {"content": word}}]} for word in ("one", "two", "three")]


@pytest.fixture
def server() -> Iterator[FaultyServer]:
    with FaultyServer() as faulty:
        yield faulty
    assert "faulty-server" not in {t.name for t in threading.enumerate()}, "stop() joins"


@pytest.mark.parametrize(("code", "body"), [
    (400, VLLM_CONTEXT_ERROR), (400, VLLM_LEGACY_CONTEXT_ERROR), (400, LLAMACPP_CONTEXT_ERROR),
    (400, SGLANG_CONTEXT_ERROR), (400, SGLANG_NATIVE_CONTEXT_ERROR), (429, OPENAI_429),
    (500, OPENAI_500), (503, OPENAI_503), (503, OLLAMA_BUSY_503),
])
def test_status_answers_code_and_exact_body(server, code, body):
    server.push(status(code, body, headers={"Retry-After": "1"}))
    response = httpx.post(f"{server.base_url}/v1/chat/completions", json={"model": "m"})
    assert response.status_code == code
    assert response.json() == body
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == "application/json"


def test_context_error_bodies_carry_the_numbers():
    body = llamacpp_context_error(3000, 2048)["error"]
    assert (body["n_prompt_tokens"], body["n_ctx"], body["type"]) == (
        3000, 2048, "exceed_context_size_error")
    assert "3000 tokens" in body["message"]
    assert VLLM_CONTEXT_ERROR["error"]["type"] == "BadRequestError"
    assert SGLANG_CONTEXT_ERROR["object"] == "error" and SGLANG_CONTEXT_ERROR["code"] == 400


def test_ok_then_default_once_the_script_is_used_up(server):
    server.push(ok({"answer": 42}))
    with httpx.Client(base_url=server.base_url) as client:
        assert client.get("/anything").json() == {"answer": 42}
        exhausted = client.post("/anything", json={})
    assert exhausted.status_code == 500
    assert "script exhausted" in exhausted.json()["error"]["message"]
    assert server.remaining == 0


def test_fixed_paths_do_not_consume_the_script(server):
    server.fixed["/health"] = ok({"status": "ok"})
    server.push(status(503, OPENAI_503), ok({"n": 2}))
    with httpx.Client(base_url=server.base_url) as client:
        assert client.get("/health").status_code == 200
        assert client.post("/generate", json={}).status_code == 503
        assert client.get("/health").status_code == 200
        assert client.post("/generate", json={}).json() == {"n": 2}
    assert server.paths() == ["/health", "/generate", "/health", "/generate"]


def test_hang_outlasts_a_short_client_timeout(server):
    server.push(hang(5.0))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server.base_url}/api/chat", json={}, timeout=0.3)
    assert server.paths() == ["/api/chat"]


def test_ok_stream_delivers_sse_and_ndjson_whole(server):
    server.push(ok_stream(sse(EVENTS)), ok_stream(ndjson(EVENTS), NDJSON))
    with httpx.Client(base_url=server.base_url) as client:
        with client.stream("POST", "/v1/chat/completions", json={}) as response:
            assert response.headers["content-type"] == "text/event-stream"
            data = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
        with client.stream("POST", "/api/chat", json={}) as response:
            assert response.headers["content-type"] == NDJSON
            lines = [json.loads(line) for line in response.iter_lines() if line]
    assert [json.loads(d) for d in data[:-1]] == EVENTS and data[-1] == "[DONE]"
    assert lines == EVENTS


@pytest.mark.parametrize("chunks", [sse(EVENTS), ndjson(EVENTS)], ids=["sse", "ndjson"])
def test_drop_after_cuts_the_stream_with_a_read_error(server, chunks):
    server.push(drop_after(chunks, 2))
    received = []
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        with httpx.stream("POST", f"{server.base_url}/v1/chat/completions", json={}) as response:
            assert response.status_code == 200
            for text in response.iter_text():
                received.append(text)
    assert "".join(received) == "".join(chunks[:2])


def test_malformed_body_fails_json_parsing(server):
    server.push(malformed())
    response = httpx.post(f"{server.base_url}/v1/chat/completions", json={})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_request_log_keeps_order_headers_bodies_and_times(server):
    server.push(status(503, OPENAI_503), ok({"ok": True}), ok({"ok": True}))
    with httpx.Client(base_url=server.base_url, headers={"Authorization": "Bearer k"}) as client:
        client.post("/v1/chat/completions", json={"n": 1})
        client.post("/generate?stream=1", content=b"raw bytes")
        client.get("/health")
    first, second, third = server.requests
    assert [r.path for r in server.requests] == ["/v1/chat/completions", "/generate", "/health"]
    assert first.method == "POST" and first.json() == {"n": 1}
    assert first.headers["authorization"] == "Bearer k"
    assert second.query == "stream=1" and second.body == b"raw bytes"
    assert third.method == "GET" and third.json() is None
    assert first.arrived <= second.arrived <= third.arrived


def test_log_shows_a_client_did_not_retry(server):
    server.push(status(400, VLLM_CONTEXT_ERROR), status(429, OPENAI_429))
    with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="k", max_retries=0) as client:
        with pytest.raises(openai.BadRequestError) as bad:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        assert "maximum context length" in bad.value.message
        assert len(server.requests) == 1, "a 400 must not be retried"
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert len(server.requests) == 2 and server.remaining == 0
