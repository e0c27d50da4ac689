"""Hand out chat models, constraints and checks for configured backends.

Dispatches on a backend's kind to its engine module. Models hold HTTP
connection pools, and an async pool belongs to the event loop that opened it
(reusing one across ``asyncio.run`` calls fails with "Event loop is closed"), so
models are cached per event loop, per backend and per sampling parameters, and
all models of one backend on one loop share one connection pool.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import weakref

import httpx
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable

from backends import embedded, ollama, sglang, vllm
from backends.base import Capabilities, Constraint, Engine, Health, HttpClients, ModelInfo
from backends.errors import BackendError
from backends.settings import BackendConfig, EmbeddedBackend, GenerationParams, OllamaBackend
from backends.transports import ResendDropped, ResendDroppedSync

__all__ = [
    "DEFAULT_CONTEXT_LENGTH",
    "capabilities",
    "context_window",
    "constrained_to",
    "engine_for",
    "get_chat_model",
    "health",
    "model_info",
    "translate_error",
]

# Used when neither the server nor backends.toml states a context length.
DEFAULT_CONTEXT_LENGTH = 2048

# Real context lengths, per backend settings (hashable and frozen, so an edited
# backends.toml is asked again). Only answers from a server are cached.
_context_lengths: dict[BackendConfig, int] = {}

logger = logging.getLogger(__name__)

ENGINES: dict[str, Engine] = {"embedded": embedded, "vllm": vllm, "sglang": sglang,
                              "ollama": ollama}

_Key = tuple[BackendConfig, GenerationParams]
_models: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[_Key, BaseChatModel]] = (
    weakref.WeakKeyDictionary()
)
_async_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, httpx.AsyncClient]
] = weakref.WeakKeyDictionary()
_sync_clients: dict[str, httpx.Client] = {}
_lock = threading.Lock()


def engine_for(cfg: BackendConfig) -> Engine:
    """Return the engine module that speaks ``cfg``'s protocol."""
    return ENGINES[cfg.kind]


def _limits(cfg: BackendConfig) -> httpx.Limits:
    # Enough keep-alive connections to fill every server slot at once.
    slots = cfg.engine.n_parallel if isinstance(cfg, EmbeddedBackend) else 16
    return httpx.Limits(max_connections=max(slots * 2, 8), max_keepalive_connections=slots)


def _timeout(cfg: BackendConfig) -> httpx.Timeout:
    return httpx.Timeout(cfg.timeout_s, connect=cfg.connect_timeout_s)


def _transport(cfg: BackendConfig) -> httpx.BaseTransport:
    pooled = httpx.HTTPTransport(limits=_limits(cfg))
    return ResendDroppedSync(pooled) if isinstance(cfg, EmbeddedBackend) else pooled


def _async_transport(cfg: BackendConfig) -> httpx.AsyncBaseTransport:
    pooled = httpx.AsyncHTTPTransport(limits=_limits(cfg))
    return ResendDropped(pooled) if isinstance(cfg, EmbeddedBackend) else pooled


def _clients(cfg: BackendConfig, loop: asyncio.AbstractEventLoop) -> HttpClients:
    with _lock:
        sync = _sync_clients.get(cfg.name)
        if sync is None:
            sync = _sync_clients[cfg.name] = httpx.Client(transport=_transport(cfg),
                                                          timeout=_timeout(cfg))
        per_loop = _async_clients.setdefault(loop, {})
        async_ = per_loop.get(cfg.name)
        if async_ is None:
            async_ = per_loop[cfg.name] = httpx.AsyncClient(transport=_async_transport(cfg),
                                                            timeout=_timeout(cfg))
    return HttpClients(sync=sync, async_=async_)


async def get_chat_model(
    cfg: BackendConfig, params: GenerationParams | None = None
) -> BaseChatModel:
    """Return the shared chat model for ``cfg`` with ``params`` over its defaults.

    The first call for a backend may start the embedded engine or load TLS
    certificates; that blocking work runs in a worker thread, off the event loop.
    """
    loop = asyncio.get_running_loop()
    key = (cfg, params or GenerationParams())
    models = _models.setdefault(loop, {})
    cached = models.get(key)
    if cached is not None:
        return cached
    clients = await asyncio.to_thread(_clients, cfg, loop)
    built = await asyncio.to_thread(engine_for(cfg).make_chat_model, cfg, key[1], clients)
    # Two first calls may race to build; keep whichever landed first.
    return models.setdefault(key, built)


def constrained_to(
    model: BaseChatModel, constraint: Constraint, cfg: BackendConfig
) -> Runnable[LanguageModelInput, BaseMessage]:
    """Return ``model`` bound so ``cfg``'s server enforces ``constraint`` while decoding.

    The reply is the raw message, usage included; callers validate its content.
    """
    return engine_for(cfg).constrain(model, constraint, cfg)


def capabilities(cfg: BackendConfig) -> Capabilities:
    """Return what ``cfg``'s engine can do: its kind's defaults, then the config's overrides."""
    return dataclasses.replace(engine_for(cfg).capabilities(cfg),
                               **cfg.capabilities.model_dump(exclude_none=True))


async def health(cfg: BackendConfig) -> Health:
    """Check that ``cfg``'s server answers and serves its model."""
    clients = await asyncio.to_thread(_clients, cfg, asyncio.get_running_loop())
    return await engine_for(cfg).health(cfg, clients.async_)


async def model_info(cfg: BackendConfig) -> ModelInfo:
    """Ask ``cfg``'s server about its model (context length, quantisation)."""
    clients = await asyncio.to_thread(_clients, cfg, asyncio.get_running_loop())
    return await engine_for(cfg).model_info(cfg, clients.async_)


def translate_error(exc: BaseException, cfg: BackendConfig) -> BackendError | None:
    """Map a client library's exception for ``cfg`` onto our tree; None if foreign."""
    if isinstance(exc, BackendError):
        return exc
    return engine_for(cfg).translate(exc, cfg)


async def context_window(cfg: BackendConfig) -> int:
    """Return ``cfg``'s context window in tokens, as its server reports it.

    Falls back to the ``context_length`` in backends.toml, then to
    ``DEFAULT_CONTEXT_LENGTH``, when the server cannot say or cannot be reached
    (then the chain's fallback decides who answers). May start the embedded engine.
    """
    cached = _context_lengths.get(cfg)
    if cached is not None:
        return cached
    try:
        reported = (await model_info(cfg)).context_length
    except (httpx.HTTPError, BackendError, KeyError, ValueError) as exc:
        logger.warning("cannot read the context length of backend %r (%s: %s); assuming %d",
                       cfg.name, type(exc).__name__, exc,
                       cfg.context_length or DEFAULT_CONTEXT_LENGTH)
        return cfg.context_length or DEFAULT_CONTEXT_LENGTH
    if reported is None:
        return cfg.context_length or DEFAULT_CONTEXT_LENGTH
    if isinstance(cfg, OllamaBackend):
        # /api/show reports what the model was trained for; Ollama serves num_ctx.
        reported = min(reported, cfg.num_ctx)
    _context_lengths[cfg] = reported
    return reported
