"""Ollama's native API, through ChatOllama.

Ollama cuts prompts longer than ``num_ctx`` without a word and still answers
200, so a reply is checked after the fact: when the evaluated prompt is at the
window's edge while far more text was sent than that many tokens can hold, the
prompt was truncated and the answer is refused as ``ContextTooLong``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import httpx
import ollama
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable
from langchain_ollama import ChatOllama

from backends.base import (
    Capabilities,
    Choice,
    Constraint,
    Health,
    HttpClients,
    JsonSchema,
    ModelInfo,
    unsupported,
)
from backends.config import auth_headers
from backends.errors import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    ContextTooLong,
    InvalidRequest,
)
from backends.settings import BackendConfig, GenerationParams, OllamaBackend

__all__ = [
    "capabilities",
    "constrain",
    "health",
    "make_chat_model",
    "model_info",
    "translate",
    "verify_reply",
]

# English prose runs at roughly 3-5 characters per token; far more characters per
# evaluated token than this means part of the prompt never reached the model.
MAX_CHARS_PER_TOKEN = 8.0
WINDOW_EDGE = 0.9


def _ollama(cfg: BackendConfig) -> OllamaBackend:
    assert isinstance(cfg, OllamaBackend), f"{cfg.name} is not an Ollama backend"
    return cfg


def capabilities(cfg: BackendConfig) -> Capabilities:
    """Return what Ollama can do: JSON-schema ``format``, no regex or grammar."""
    return Capabilities(native_tools=True, json_schema=True, regex=False, ebnf=False,
                        choices=True, parallel_sampling=False, logprobs=True,
                        cached_tokens=False)


def make_chat_model(
    cfg: BackendConfig, params: GenerationParams, clients: HttpClients
) -> BaseChatModel:
    """Build a ChatOllama; ``frequency_penalty`` cannot be sent through it."""
    backend = _ollama(cfg)
    merged = backend.params.merged(params)
    if merged.frequency_penalty is not None:
        raise InvalidRequest("ChatOllama cannot send frequency_penalty; use "
                             "repetition_penalty for Ollama backends", backend=backend.name)
    client_kwargs = {"timeout": httpx.Timeout(backend.timeout_s,
                                              connect=backend.connect_timeout_s),
                     "headers": auth_headers(backend)}
    return ChatOllama(
        model=backend.model, base_url=backend.base_url, num_ctx=backend.num_ctx,
        keep_alive=backend.keep_alive, temperature=merged.temperature, top_p=merged.top_p,
        top_k=merged.top_k, num_predict=merged.max_tokens,
        stop=list(merged.stop) if merged.stop else None, seed=merged.seed,
        repeat_penalty=merged.repetition_penalty, client_kwargs=client_kwargs,
    )


def constrain(
    model: BaseChatModel, constraint: Constraint, cfg: BackendConfig
) -> Runnable[LanguageModelInput, BaseMessage]:
    """Bind Ollama's ``format`` (a JSON schema); choices become a JSON string enum."""
    match constraint:
        case JsonSchema(schema):
            return model.bind(format=schema.model_json_schema())
        case Choice(options):
            return model.bind(format={"type": "string", "enum": list(options)})
        case _:
            raise unsupported(cfg, constraint)


def verify_reply(
    reply: AIMessage, messages: Sequence[BaseMessage], cfg: BackendConfig
) -> None:
    """Refuse replies from a cut stream or a silently truncated prompt."""
    backend = _ollama(cfg)
    meta = reply.response_metadata
    if not meta.get("done_reason"):
        raise BackendUnavailable("the reply ended before Ollama said it was done",
                                 backend=backend.name, model=backend.model)
    evaluated = int(meta.get("prompt_eval_count") or 0)
    sent = sum(len(str(message.content)) for message in messages)
    if evaluated >= WINDOW_EDGE * backend.num_ctx and sent > MAX_CHARS_PER_TOKEN * evaluated:
        raise ContextTooLong(
            f"Ollama evaluated {evaluated} prompt tokens of a {sent}-character prompt with "
            f"num_ctx={backend.num_ctx}: it truncated the prompt. Raise num_ctx or shorten "
            "the history", backend=backend.name, model=backend.model)


async def health(cfg: BackendConfig, client: httpx.AsyncClient) -> Health:
    """Check ``/api/tags`` answers and lists the configured model."""
    backend = _ollama(cfg)
    started = time.perf_counter()
    try:
        response = await client.get(f"{backend.base_url}/api/tags", headers=auth_headers(backend))
        response.raise_for_status()
        names = {entry["name"] for entry in response.json().get("models", [])}
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return Health(backend.name, backend.kind, False, False,
                      round((time.perf_counter() - started) * 1000, 1),
                      f"{type(exc).__name__}: {exc}")
    latency = round((time.perf_counter() - started) * 1000, 1)
    loaded = backend.model in names or f"{backend.model}:latest" in names
    return Health(backend.name, backend.kind, True, loaded, latency,
                  "" if loaded else f"not pulled: run `ollama pull {backend.model}`")


async def model_info(cfg: BackendConfig, client: httpx.AsyncClient) -> ModelInfo:
    """Read context length, quantisation and size from ``/api/show``."""
    backend = _ollama(cfg)
    response = await client.post(f"{backend.base_url}/api/show", json={"model": backend.model},
                                 headers=auth_headers(backend))
    response.raise_for_status()
    shown = response.json()
    info = shown.get("model_info", {})
    arch = info.get("general.architecture", "")
    length = info.get(f"{arch}.context_length")
    details = shown.get("details", {})
    return ModelInfo(backend.name, backend.model, int(length) if length else None,
                     quantization=details.get("quantization_level"),
                     parameters=details.get("parameter_size"))


def translate(exc: BaseException, cfg: BackendConfig) -> BackendError | None:
    """Map the ollama client's and httpx's exceptions onto ours."""
    backend, model = cfg.name, getattr(cfg, "model", None)
    if isinstance(exc, httpx.TimeoutException):
        return BackendTimeout(f"no answer in time: {exc}", backend=backend, model=model)
    if isinstance(exc, ConnectionError | httpx.TransportError):
        return BackendUnavailable(f"cannot reach Ollama: {exc}", backend=backend, model=model)
    if isinstance(exc, ollama.ResponseError):
        # -1: the error arrived as a line inside a stream that had already started.
        if exc.status_code in (-1, 429) or exc.status_code >= 500:
            return BackendUnavailable(f"HTTP {exc.status_code}: {exc.error}",
                                      backend=backend, model=model)
        return InvalidRequest(f"HTTP {exc.status_code}: {exc.error}", backend=backend,
                              model=model)
    if isinstance(exc, ollama.RequestError | json.JSONDecodeError):
        return InvalidRequest(f"{type(exc).__name__}: {exc}", backend=backend, model=model)
    return None
