"""Every exception the openai SDK raises maps onto our tree."""

import inspect

import httpx
import openai
import pytest

from backends.errors import (
    BackendTimeout,
    BackendUnavailable,
    ContextTooLong,
    InvalidRequest,
)
from backends.openai_compat import translate_openai_error

REQUEST = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")


def status_error(cls, status: int, body: object = None):
    response = httpx.Response(status, request=REQUEST, headers={"x-request-id": "req-7"})
    return cls(f"status {status}", response=response, body=body)


def translate(exc):
    return translate_openai_error(exc, backend="vllm-a", model="m")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (openai.APITimeoutError(request=REQUEST), BackendTimeout),
        (openai.APIConnectionError(request=REQUEST), BackendUnavailable),
        (status_error(openai.RateLimitError, 429), BackendUnavailable),
        (status_error(openai.InternalServerError, 503), BackendUnavailable),
        (status_error(openai.BadRequestError, 400), InvalidRequest),
        (status_error(openai.AuthenticationError, 401), InvalidRequest),
        (status_error(openai.PermissionDeniedError, 403), InvalidRequest),
        (status_error(openai.NotFoundError, 404), InvalidRequest),
        (status_error(openai.ConflictError, 409), InvalidRequest),
        (status_error(openai.UnprocessableEntityError, 422), InvalidRequest),
        (status_error(openai.APIStatusError, 502), BackendUnavailable),
        (openai.APIResponseValidationError(
            httpx.Response(200, request=REQUEST), body=None), InvalidRequest),
        (openai.OpenAIError("client misconfigured"), BackendUnavailable),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else value.__name__,
)
def test_sdk_exception_maps_to_our_type(exc, expected):
    mapped = translate(exc)
    assert type(mapped) is expected
    assert mapped.backend == "vllm-a"


def test_llama_cpp_context_overflow_is_context_too_long():
    body = {"error": {"code": 400, "type": "exceed_context_size_error",
                      "message": "the request exceeds the available context size"}}
    mapped = translate(status_error(openai.BadRequestError, 400, body))
    assert isinstance(mapped, ContextTooLong)
    assert mapped.request_id == "req-7"


def test_foreign_exceptions_are_not_ours_to_map():
    assert translate(ValueError("bug")) is None


def bare_instance(cls):
    """Build any SDK exception without its constructor (their signatures differ)."""
    exc = cls.__new__(cls)
    Exception.__init__(exc, cls.__name__)
    exc.message, exc.request, exc.body, exc.code = cls.__name__, REQUEST, None, None
    if issubclass(cls, openai.APIStatusError):
        exc.status_code = 500 if cls is openai.InternalServerError else 400
        exc.response = httpx.Response(exc.status_code, request=REQUEST)
        exc.request_id = None
    return exc


def test_every_public_sdk_exception_is_mapped():
    """A new openai release adding an exception class must not slip through unmapped."""
    unmapped = []
    for name, cls in inspect.getmembers(openai, inspect.isclass):
        if not issubclass(cls, openai.OpenAIError) or name.startswith("_"):
            continue
        exc = bare_instance(cls)
        if translate(exc) is None:
            unmapped.append(name)
    assert unmapped == []


@pytest.mark.parametrize("body", [
    {"error": {"message": "This model's maximum context length is 2048 tokens. However, you "
                          "requested 10 output tokens and your prompt contains at least 2100 "
                          "input tokens", "type": "BadRequestError", "param": "input_tokens",
               "code": 400}},
    {"error": {"message": "You passed 2100 input tokens and requested 10 output tokens. However, "
                          "the model's context length is only 2048 tokens.",
               "type": "BadRequestError", "param": None, "code": 400}},
], ids=["param-input_tokens", "older-wording"])
def test_vllm_context_overflow_in_its_versions_formats(body):
    from backends.vllm import CONTEXT_PHRASES

    exc = status_error(openai.BadRequestError, 400, body)
    exc.message = body["error"]["message"]
    mapped = translate_openai_error(exc, backend="v", model="m", context_phrases=CONTEXT_PHRASES)
    assert isinstance(mapped, ContextTooLong)
