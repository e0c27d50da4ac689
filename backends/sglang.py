"""SGLang's server, through its OpenAI-compatible chat API.

Constrained decoding uses SGLang's own fields: ``regex`` and ``ebnf`` in the
request body, ``response_format`` for JSON schemas (one constraint per request).
A fixed set of choices becomes a regex alternation, which SGLang compiles into
its decoding grammar.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import httpx
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable

from backends.base import (
    Capabilities,
    Choice,
    Constraint,
    Grammar,
    Health,
    HttpClients,
    JsonSchema,
    ModelInfo,
    Regex,
)
from backends.config import auth_headers
from backends.errors import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    ContextTooLong,
    InvalidRequest,
)
from backends.openai_compat import (
    bind_extra_body,
    bind_json_schema,
    openai_models,
    remote_chat_model,
    translate_openai_error,
    verify_openai_reply,
)
from backends.settings import BackendConfig, GenerationParams, SGLangBackend
from backends.sglang_native import ChatSGLangNative, choice_regex, constraint_params

__all__ = ["capabilities", "constrain", "health", "make_chat_model", "model_info", "translate",
           "verify_reply"]

EXTRA_NAMES = {"top_k": "top_k", "repetition_penalty": "repetition_penalty"}
# SGLang reports context overflow only as a plain 400 with one of these wordings.
CONTEXT_PHRASES = ("longer than the model's context length", "exceeds the maximum allowed length")


def _sglang(cfg: BackendConfig) -> SGLangBackend:
    assert isinstance(cfg, SGLangBackend), f"{cfg.name} is not an SGLang backend"
    return cfg


def capabilities(cfg: BackendConfig) -> Capabilities:
    """Return what an SGLang server can do (tool calls need its --tool-call-parser)."""
    return Capabilities(native_tools=True, json_schema=True, regex=True, ebnf=True, choices=True,
                        parallel_sampling=True, logprobs=True, cached_tokens=True)


def make_chat_model(
    cfg: BackendConfig, params: GenerationParams, clients: HttpClients
) -> BaseChatModel:
    """Build a chat model for SGLang's ``/v1`` API, or its native ``/generate`` one."""
    sglang = _sglang(cfg)
    if sglang.api == "native":
        return ChatSGLangNative(base_url=sglang.base_url, model=sglang.model,
                                chat_template=sglang.chat_template,
                                params=sglang.params.merged(params), headers=auth_headers(sglang),
                                http_client=clients.sync, http_async_client=clients.async_)
    return remote_chat_model(sglang, params, clients, EXTRA_NAMES)


def constrain(
    model: BaseChatModel, constraint: Constraint, cfg: BackendConfig
) -> Runnable[LanguageModelInput, BaseMessage]:
    """Bind SGLang's constraint field for ``constraint`` (one per request)."""
    if isinstance(model, ChatSGLangNative):
        return model.bind(sampling_extra=constraint_params(constraint))
    match constraint:
        case JsonSchema(schema):
            return bind_json_schema(model, schema)
        case Regex(pattern):
            return bind_extra_body(model, {"regex": pattern})
        case Choice(options):
            return bind_extra_body(model, {"regex": choice_regex(options)})
        case Grammar(ebnf):
            return bind_extra_body(model, {"ebnf": ebnf})


async def health(cfg: BackendConfig, client: httpx.AsyncClient) -> Health:
    """Check ``/health`` and that ``/get_model_info`` reports the configured model."""
    sglang = _sglang(cfg)
    started = time.perf_counter()
    try:
        (await client.get(f"{sglang.base_url}/health", headers=auth_headers(sglang))
         ).raise_for_status()
        info = await client.get(f"{sglang.base_url}/get_model_info", headers=auth_headers(sglang))
        info.raise_for_status()
        served = str(info.json().get("model_path", ""))
    except (httpx.HTTPError, ValueError) as exc:
        return Health(sglang.name, sglang.kind, False, False,
                      round((time.perf_counter() - started) * 1000, 1),
                      f"{type(exc).__name__}: {exc}")
    latency = round((time.perf_counter() - started) * 1000, 1)
    loaded = served == sglang.model
    return Health(sglang.name, sglang.kind, True, loaded, latency,
                  "" if loaded else f"serves {served!r}, not {sglang.model!r}")


async def model_info(cfg: BackendConfig, client: httpx.AsyncClient) -> ModelInfo:
    """Read the model from ``/get_model_info`` and its context from ``/v1/models``."""
    sglang = _sglang(cfg)
    info = await client.get(f"{sglang.base_url}/get_model_info", headers=auth_headers(sglang))
    info.raise_for_status()
    served = str(info.json().get("model_path", sglang.model))
    entry = (await openai_models(sglang.base_url, client, auth_headers(sglang))).get(served, {})
    length = entry.get("max_model_len")
    return ModelInfo(sglang.name, served, int(length) if length else sglang.context_length)


def translate(exc: BaseException, cfg: BackendConfig) -> BackendError | None:
    """Map the openai SDK's (chat API) or httpx's (native API) exceptions onto ours."""
    backend, model = cfg.name, getattr(cfg, "model", None)
    if isinstance(exc, httpx.HTTPStatusError):
        status, text = exc.response.status_code, exc.response.text
        if status == 400 and any(phrase in text for phrase in CONTEXT_PHRASES):
            return ContextTooLong(f"prompt exceeds the context window: {text[:200]}",
                                  backend=backend, model=model)
        if status == 429 or status >= 500:
            return BackendUnavailable(f"HTTP {status}: {text[:200]}", backend=backend,
                                      model=model)
        return InvalidRequest(f"HTTP {status}: {text[:200]}", backend=backend, model=model)
    if isinstance(exc, httpx.TimeoutException):
        return BackendTimeout(f"no answer in time: {exc}", backend=backend, model=model)
    if isinstance(exc, httpx.TransportError | json.JSONDecodeError):
        return BackendUnavailable(f"{type(exc).__name__}: {exc}", backend=backend, model=model)
    return translate_openai_error(exc, backend=backend, model=model,
                                  context_phrases=CONTEXT_PHRASES)


def verify_reply(
    reply: AIMessage, messages: Sequence[BaseMessage], cfg: BackendConfig
) -> None:
    """Refuse a reply whose stream was cut before the server finished it."""
    verify_openai_reply(reply, cfg.name)
