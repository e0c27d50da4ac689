"""Chat models for servers that speak OpenAI's API: llama.cpp, vLLM, SGLang.

Builds ``ChatOpenAI`` with our own HTTP clients (so connections are pooled per
backend and never cross event loops), one retry layer (ours, so the SDK's
``max_retries`` is 0), and maps the ``openai`` SDK's exceptions onto ours.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from backends.base import Health, HttpClients
from backends.config import api_key
from backends.errors import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    ContextTooLong,
    InvalidRequest,
    ReplyCutOff,
)
from backends.settings import GenerationParams, RemoteBackend

__all__ = [
    "bind_extra_body",
    "bind_json_schema",
    "json_schema_format",
    "make_openai_chat_model",
    "openai_health",
    "openai_models",
    "remote_chat_model",
    "translate_openai_error",
    "verify_openai_reply",
]

# Error "type" values servers use for a prompt longer than the context window.
CONTEXT_ERROR_TYPES = frozenset({"exceed_context_size_error", "context_length_exceeded"})


def make_openai_chat_model(
    *,
    base_url: str,
    model: str,
    api_key: str,
    params: GenerationParams,
    timeout_s: float,
    http_client: httpx.Client,
    http_async_client: httpx.AsyncClient,
    extra_names: dict[str, str],
) -> ChatOpenAI:
    """Build a ChatOpenAI for an OpenAI-compatible server.

    Args:
        base_url: the server's ``/v1`` URL.
        model: the model name the server expects.
        api_key: sent as a bearer token; local servers accept any value.
        params: sampling parameters in our vocabulary.
        timeout_s: per-request timeout.
        http_client: shared synchronous client for this backend.
        http_async_client: shared async client for this backend and event loop.
        extra_names: the server's request-body names for parameters OpenAI's API
            lacks (``top_k``, ``repetition_penalty``).
    """
    extra_body: dict[str, Any] = {}
    if params.top_k is not None:
        extra_body[extra_names["top_k"]] = params.top_k
    if params.repetition_penalty is not None:
        extra_body[extra_names["repetition_penalty"]] = params.repetition_penalty
    # Field names, not aliases (max_completion_tokens, stop_sequences), which the
    # mypy plugin-free signature does not list.
    return ChatOpenAI(  # type: ignore[call-arg]
        model=model,
        base_url=base_url,
        api_key=api_key,  # type: ignore[arg-type]
        temperature=params.temperature,
        top_p=params.top_p,
        max_tokens=params.max_tokens,
        stop=list(params.stop) if params.stop else None,
        seed=params.seed,
        frequency_penalty=params.frequency_penalty,
        extra_body=extra_body or None,
        timeout=timeout_s,
        max_retries=0,
        stream_usage=True,
        http_client=http_client,
        http_async_client=http_async_client,
    )


def json_schema_format(schema: type[BaseModel]) -> dict[str, Any]:
    """Return OpenAI's ``response_format`` asking the server to decode only ``schema``."""
    return {
        "type": "json_schema",
        "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema(),
                        "strict": True},
    }


def _error_field(exc: openai.APIStatusError, *names: str) -> str | None:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            for name in names:
                if inner.get(name) is not None:
                    return str(inner[name])
    return None


def translate_openai_error(
    exc: BaseException, *, backend: str, model: str | None,
    context_phrases: tuple[str, ...] = (),
) -> BackendError | None:
    """Map an ``openai`` SDK exception onto our tree; None if it is not one of theirs.

    Args:
        exc: the exception the SDK raised.
        backend: the backend's name, carried by the mapped error.
        model: the model asked for.
        context_phrases: text by which a server that sends context overflow as a
            plain BadRequestError (vLLM, SGLang) says so; matched only on HTTP 400.
    """
    where: dict[str, Any] = {"backend": backend, "model": model}
    if isinstance(exc, openai.APITimeoutError):
        return BackendTimeout(f"no answer in time: {exc}", **where)
    if isinstance(exc, openai.APIConnectionError):
        return BackendUnavailable(f"cannot connect: {exc}", **where)
    if isinstance(exc, openai.APIStatusError):
        request_id = exc.request_id
        where["request_id"] = request_id
        overflow_said = exc.status_code == 400 and (
            _error_field(exc, "param") == "input_tokens"  # vLLM marks it so since ~0.12
            or any(phrase in exc.message for phrase in context_phrases))
        if _error_field(exc, "type", "code") in CONTEXT_ERROR_TYPES or overflow_said:
            return ContextTooLong(f"prompt exceeds the context window: {exc.message}", **where)
        if exc.status_code == 429 or exc.status_code >= 500:
            return BackendUnavailable(f"HTTP {exc.status_code}: {exc.message}", **where)
        return InvalidRequest(f"HTTP {exc.status_code}: {exc.message}", **where)
    if isinstance(exc, json.JSONDecodeError):
        # The SDK lets a garbled 200 body escape as a raw JSONDecodeError.
        return BackendUnavailable(f"the server sent a malformed body: {exc}", **where)
    if isinstance(exc, openai.LengthFinishReasonError):
        used = getattr(getattr(getattr(exc, "completion", None), "usage", None),
                       "completion_tokens", None)
        limit = f"its {used}-token limit" if used else "its token limit"
        return ReplyCutOff(f"the model's reply reached {limit} before it was complete",
                           **where)
    if isinstance(exc, openai.APIResponseValidationError):
        return InvalidRequest("the server's reply does not have the shape of the API", **where)
    if isinstance(exc, openai.OpenAIError):
        return BackendUnavailable(f"{type(exc).__name__}: {exc}", **where)
    return None


def remote_chat_model(
    cfg: RemoteBackend, params: GenerationParams, clients: HttpClients,
    extra_names: dict[str, str],
) -> ChatOpenAI:
    """Build a ChatOpenAI for a remote server's ``/v1`` API from its backend settings."""
    return make_openai_chat_model(
        base_url=f"{cfg.base_url}/v1", model=cfg.model, api_key=api_key(cfg) or "EMPTY",
        params=cfg.params.merged(params), timeout_s=cfg.timeout_s,
        http_client=clients.sync, http_async_client=clients.async_, extra_names=extra_names,
    )


def bind_extra_body(model: BaseChatModel, fields: dict[str, Any]) -> Runnable[Any, BaseMessage]:
    """Bind request-body fields on top of the ones ``model`` already sends."""
    current = getattr(model, "extra_body", None) or {}
    return model.bind(extra_body={**current, **fields})


def bind_json_schema(model: BaseChatModel, schema: type[BaseModel]) -> Runnable[Any, BaseMessage]:
    """Bind OpenAI's ``response_format`` json_schema, which the server enforces."""
    return model.bind(response_format=json_schema_format(schema))


async def openai_health(
    cfg_name: str, kind: str, root: str, model: str, client: httpx.AsyncClient,
    headers: dict[str, str],
) -> Health:
    """Check ``/health`` and that ``/v1/models`` lists ``model``."""
    started = time.perf_counter()
    try:
        (await client.get(f"{root}/health", headers=headers)).raise_for_status()
        listed = await openai_models(root, client, headers)
    except (httpx.HTTPError, ValueError) as exc:
        return Health(cfg_name, kind, False, False, _ms(started), f"{type(exc).__name__}: {exc}")
    loaded = model in listed
    detail = "" if loaded else f"serves {sorted(listed)}, not {model!r}"
    return Health(cfg_name, kind, True, loaded, _ms(started), detail)


async def openai_models(
    root: str, client: httpx.AsyncClient, headers: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Return ``/v1/models`` as {model id: entry}."""
    response = await client.get(f"{root}/v1/models", headers=headers)
    response.raise_for_status()
    return {entry["id"]: entry for entry in response.json().get("data", [])}


def verify_openai_reply(reply: AIMessage, backend: str) -> None:
    """Refuse a reply whose stream ended without a finish reason (a cut connection)."""
    if not reply.response_metadata.get("finish_reason"):
        raise BackendUnavailable("the reply ended without a finish reason: the stream was cut",
                                 backend=backend)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
