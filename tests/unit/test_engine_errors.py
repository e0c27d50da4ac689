"""Every exception the Ollama client and httpx raise maps onto our tree."""

import inspect
import json

import httpx
import ollama
import pytest

from backends import ollama as ollama_engine
from backends import sglang as sglang_engine
from backends.errors import BackendTimeout, BackendUnavailable, ContextTooLong, InvalidRequest
from backends.settings import OllamaBackend, SGLangBackend

OLLAMA = OllamaBackend(name="o", kind="ollama", base_url="http://127.0.0.1:1", model="m")
NATIVE = SGLangBackend(name="s", kind="sglang", base_url="http://127.0.0.1:1", model="m",
                       api="native")
REQUEST = httpx.Request("POST", "http://127.0.0.1:1/x")


def status_error(code: int, body: str) -> httpx.HTTPStatusError:
    response = httpx.Response(code, request=REQUEST, text=body)
    return httpx.HTTPStatusError("status", request=REQUEST, response=response)


@pytest.mark.parametrize(("exc", "expected"), [
    (ConnectionError("Failed to connect to Ollama"), BackendUnavailable),
    (httpx.ReadTimeout("slow", request=REQUEST), BackendTimeout),
    (httpx.ConnectTimeout("slow", request=REQUEST), BackendTimeout),
    (httpx.RemoteProtocolError("cut", request=REQUEST), BackendUnavailable),
    (httpx.ReadError("reset", request=REQUEST), BackendUnavailable),
    (ollama.ResponseError("busy", 503), BackendUnavailable),
    (ollama.ResponseError("slow down", 429), BackendUnavailable),
    (ollama.ResponseError("runner died mid-stream", -1), BackendUnavailable),
    (ollama.ResponseError("model 'x' not found", 404), InvalidRequest),
    (ollama.ResponseError("invalid format", 400), InvalidRequest),
    (ollama.RequestError("must provide a model"), InvalidRequest),
    (json.JSONDecodeError("bad", "{", 0), InvalidRequest),
], ids=repr)
def test_ollama_client_errors_are_mapped(exc, expected):
    assert type(ollama_engine.translate(exc, OLLAMA)) is expected


def test_every_public_ollama_exception_is_mapped():
    for name, cls in inspect.getmembers(ollama, inspect.isclass):
        if issubclass(cls, Exception) and not name.startswith("_"):
            exc = cls("x", 500) if cls is ollama.ResponseError else cls("x")
            assert ollama_engine.translate(exc, OLLAMA) is not None, name


@pytest.mark.parametrize(("exc", "expected"), [
    (status_error(400, '{"error": {"message": "The input (3000 tokens) is longer than the '
                       'model\'s context length (2048 tokens)."}}'), ContextTooLong),
    (status_error(400, '{"error": {"message": "regex and json_schema both set"}}'),
     InvalidRequest),
    (status_error(503, "overloaded"), BackendUnavailable),
    (status_error(429, "too many"), BackendUnavailable),
    (httpx.ReadTimeout("slow", request=REQUEST), BackendTimeout),
    (httpx.ConnectError("refused", request=REQUEST), BackendUnavailable),
    (httpx.RemoteProtocolError("cut", request=REQUEST), BackendUnavailable),
    (json.JSONDecodeError("bad", "{", 0), BackendUnavailable),
], ids=repr)
def test_sglang_native_errors_are_mapped(exc, expected):
    assert type(sglang_engine.translate(exc, NATIVE)) is expected


def test_every_httpx_transport_error_is_mapped_for_both():
    transport_errors = [cls for _, cls in inspect.getmembers(httpx, inspect.isclass)
                        if issubclass(cls, httpx.TransportError)]
    assert len(transport_errors) > 5
    for cls in transport_errors:
        exc = cls("x", request=REQUEST) if "request" in inspect.signature(cls).parameters \
            else cls("x")
        assert ollama_engine.translate(exc, OLLAMA) is not None, cls.__name__
        assert sglang_engine.translate(exc, NATIVE) is not None, cls.__name__
