"""Hand out chat models for configured backends, built once and reused.

Models hold HTTP connection pools, and an async pool belongs to the event loop
that opened it (reusing one across ``asyncio.run`` calls fails with "Event loop
is closed"). So models are cached per event loop, per backend and per sampling
parameters; all models of one backend on one loop share one connection pool.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel

from backends.config import BackendConfig, GenerationParams
from backends.embedded import get_engine
from backends.errors import BackendError
from backends.openai_compat import (
    json_schema_format,
    make_openai_chat_model,
    translate_openai_error,
)

__all__ = ["constrained_to", "get_chat_model", "translate_error"]

# llama.cpp's names for the sampling parameters OpenAI's API does not have.
LLAMA_CPP_EXTRA_NAMES = {"top_k": "top_k", "repetition_penalty": "repeat_penalty"}

_Key = tuple[BackendConfig, GenerationParams]
_models: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[_Key, BaseChatModel]] = (
    weakref.WeakKeyDictionary()
)
_async_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, httpx.AsyncClient]
] = weakref.WeakKeyDictionary()
_sync_clients: dict[str, httpx.Client] = {}
_build_lock = threading.Lock()


def _limits(cfg: BackendConfig) -> httpx.Limits:
    # Enough keep-alive connections to fill every server slot at once.
    slots = cfg.engine.n_parallel if cfg.kind == "embedded" else 16
    return httpx.Limits(max_connections=max(slots * 2, 8), max_keepalive_connections=slots)


def _clients(cfg: BackendConfig, loop: asyncio.AbstractEventLoop) -> tuple[httpx.Client, Any]:
    with _build_lock:
        sync_client = _sync_clients.get(cfg.name)
        if sync_client is None:
            sync_client = _sync_clients[cfg.name] = httpx.Client(limits=_limits(cfg))
        per_loop = _async_clients.setdefault(loop, {})
        async_client = per_loop.get(cfg.name)
        if async_client is None:
            async_client = per_loop[cfg.name] = httpx.AsyncClient(limits=_limits(cfg))
    return sync_client, async_client


def _build(cfg: BackendConfig, params: GenerationParams, loop: asyncio.AbstractEventLoop) -> Any:
    engine = get_engine(cfg.engine)
    root = engine.start()
    sync_client, async_client = _clients(cfg, loop)
    return make_openai_chat_model(
        base_url=f"{root}/v1",
        model=engine.model_path or "embedded",
        api_key="not-needed",
        params=cfg.params.merged(params),
        timeout_s=cfg.timeout_s,
        http_client=sync_client,
        http_async_client=async_client,
        extra_names=LLAMA_CPP_EXTRA_NAMES,
    )


async def get_chat_model(
    cfg: BackendConfig, params: GenerationParams | None = None
) -> BaseChatModel:
    """Return the shared chat model for ``cfg`` with ``params`` over its defaults.

    The first call for a backend may start the embedded engine or open TLS
    contexts; that blocking work runs in a worker thread, off the event loop.
    """
    loop = asyncio.get_running_loop()
    key = (cfg, params or GenerationParams())
    models = _models.setdefault(loop, {})
    cached = models.get(key)
    if cached is not None:
        return cached
    built: BaseChatModel = await asyncio.to_thread(_build, cfg, key[1], loop)
    # Two first calls may race to build; keep whichever landed first.
    return models.setdefault(key, built)


def constrained_to(
    model: BaseChatModel, schema: type[BaseModel]
) -> Runnable[LanguageModelInput, BaseMessage]:
    """Return ``model`` bound so the server only decodes JSON matching ``schema``.

    The reply is the raw message, usage included; callers validate its content
    with ``schema.model_validate_json``.
    """
    return model.bind(response_format=json_schema_format(schema))


def translate_error(exc: BaseException, cfg: BackendConfig) -> BackendError | None:
    """Map a client library's exception for ``cfg`` onto our tree; None if foreign."""
    if isinstance(exc, BackendError):
        return exc
    return translate_openai_error(exc, backend=cfg.name, model=None)
