"""The embedded engine: llama.cpp's own server, in-process, on a loopback port.

``xllamacpp`` ships llama.cpp's HTTP server as a prebuilt CPU wheel. One server
per process (per distinct settings) is started on first use and shared: it batches
concurrent requests across ``n_parallel`` slots and reuses cached prompt prefixes,
and it speaks OpenAI's API, so nodes reach it through the same ``ChatOpenAI``
code path as a vLLM server.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from collections.abc import Sequence
from typing import Any

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
    unsupported,
)
from backends.errors import BackendError, EngineStartError, ModelFileError
from backends.model_file import resolve_model_path
from backends.openai_compat import (
    bind_extra_body,
    bind_json_schema,
    make_openai_chat_model,
    openai_health,
    translate_openai_error,
    verify_openai_reply,
)
from backends.settings import BackendConfig, EmbeddedBackend, EmbeddedSettings, GenerationParams

__all__ = [
    "EmbeddedEngine",
    "capabilities",
    "constrain",
    "engine_at",
    "get_engine",
    "health",
    "make_chat_model",
    "model_info",
    "translate",
    "verify_reply",
]

# llama.cpp's names for the sampling parameters OpenAI's API does not have.
EXTRA_NAMES = {"top_k": "top_k", "repetition_penalty": "repeat_penalty"}


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class EmbeddedEngine:
    """One llama.cpp server bound to 127.0.0.1, started lazily and at most once."""

    def __init__(self, settings: EmbeddedSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._server: Any = None
        self._base_url: str | None = None
        self.model_path: str | None = None
        self.supports_tool_calls = False
        self.props: dict[str, Any] = {}

    @property
    def started(self) -> bool:
        """Tell whether the server is running."""
        return self._server is not None

    @property
    def base_url(self) -> str:
        """Return the server's root URL (``http://127.0.0.1:<port>``), starting it if needed."""
        return self._base_url or self.start()

    def start(self) -> str:
        """Start the server unless it runs already; return its root URL.

        Blocks for the model load (about half a second for the default model), so
        async callers run it in a worker thread.
        """
        with self._lock:
            if self._base_url is None:
                self._base_url = self._start_locked()
            return self._base_url

    def _params(self, model_path: str) -> Any:
        import xllamacpp

        settings = self.settings
        threads = settings.threads or os.cpu_count() or 1
        params = xllamacpp.CommonParams()
        params.model.path = model_path
        params.n_ctx = settings.n_ctx
        params.n_parallel = settings.n_parallel
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.port = settings.port
        params.hostnames = ["127.0.0.1"]
        params.cache_prompt = True
        params.cache_ram_mib = settings.cache_ram_mib
        params.endpoint_metrics = True
        # The engine logs every request to stderr; keep it out of the user's terminal.
        params.verbosity = 1 if settings.verbose else -1
        return params

    def _start_locked(self) -> str:
        import xllamacpp

        model_path = str(resolve_model_path(self.settings.model_path))
        port = self.settings.port
        if port and not _port_is_free(port):
            raise EngineStartError(
                f"port {port} on 127.0.0.1 is already in use; set engine.port = 0 in "
                "backends.toml to pick a free port, or stop whatever listens there"
            )
        try:
            server = xllamacpp.Server(self._params(model_path))
        except RuntimeError as exc:
            raise EngineStartError(
                f"llama.cpp could not start with model {model_path} "
                f"(n_ctx={self.settings.n_ctx}, n_parallel={self.settings.n_parallel}): {exc}. "
                "Check that the file is a GGUF model llama.cpp supports; set "
                "engine.verbose = true in backends.toml to see the engine's log"
            ) from exc
        base_url = str(server.listening_address).rstrip("/")
        if not base_url.startswith("http"):
            base_url = f"http://{base_url}"
        try:
            httpx.get(f"{base_url}/health", timeout=10.0).raise_for_status()
        except httpx.HTTPError as exc:
            raise EngineStartError(
                f"the embedded engine started but {base_url}/health failed: {exc}"
            ) from exc
        # Read once and kept: they do not change while the server runs.
        props = httpx.get(f"{base_url}/props", timeout=10.0).json()
        self.props = props
        caps = props.get("chat_template_caps", {})
        self.supports_tool_calls = bool(caps.get("supports_tool_calls", False))
        self._server = server
        self.model_path = model_path
        return base_url

    def stop(self) -> None:
        """Stop the server; the next ``start`` loads the model again."""
        with self._lock:
            self._server = None
            self._base_url = None


_engines: dict[EmbeddedSettings, EmbeddedEngine] = {}
_engines_lock = threading.Lock()


def get_engine(settings: EmbeddedSettings) -> EmbeddedEngine:
    """Return the process-wide engine for ``settings`` (not started yet if never used)."""
    with _engines_lock:
        engine = _engines.get(settings)
        if engine is None:
            engine = _engines[settings] = EmbeddedEngine(settings)
        return engine


def engine_at(base_url: str) -> EmbeddedEngine | None:
    """Return the started in-process engine serving ``base_url``, if there is one.

    Code that talks to it over HTTP can use its ``props`` instead of asking again.
    """
    with _engines_lock:
        return next((engine for engine in _engines.values()
                     if engine.started and engine.base_url == base_url.rstrip("/")), None)


def _embedded(cfg: BackendConfig) -> EmbeddedBackend:
    assert isinstance(cfg, EmbeddedBackend), f"{cfg.name} is not an embedded backend"
    return cfg


def capabilities(cfg: BackendConfig) -> Capabilities:
    """Return what llama.cpp's server does (its regex support is via GBNF, not regex).

    Native tool calls depend on the model's chat template: the engine reads that
    from ``/props`` when it starts (False until then).
    """
    engine = get_engine(_embedded(cfg).engine)
    # llama.cpp refuses an ``n`` above its slot count.
    return Capabilities(native_tools=engine.supports_tool_calls, json_schema=True, regex=False,
                        ebnf=True, choices=True, parallel_sampling=True, logprobs=True,
                        cached_tokens=True, max_samples_per_request=engine.settings.n_parallel)


def make_chat_model(
    cfg: BackendConfig, params: GenerationParams, clients: HttpClients
) -> BaseChatModel:
    """Start the engine if needed (blocking) and build a ChatOpenAI for it."""
    embedded = _embedded(cfg)
    engine = get_engine(embedded.engine)
    root = engine.start()
    return make_openai_chat_model(
        base_url=f"{root}/v1", model=engine.model_path or "embedded", api_key="not-needed",
        params=embedded.params.merged(params), timeout_s=embedded.timeout_s,
        http_client=clients.sync, http_async_client=clients.async_, extra_names=EXTRA_NAMES,
    )


def _gbnf_literal(text: str) -> str:
    return json.dumps(text)  # GBNF string literals use JSON's escapes


def constrain(
    model: BaseChatModel, constraint: Constraint, cfg: BackendConfig
) -> Runnable[LanguageModelInput, BaseMessage]:
    """Bind llama.cpp's ``response_format`` or GBNF ``grammar`` for ``constraint``."""
    match constraint:
        case JsonSchema(schema):
            return bind_json_schema(model, schema)
        case Choice(options):
            grammar = "root ::= " + " | ".join(_gbnf_literal(o) for o in options)
            return bind_extra_body(model, {"grammar": grammar})
        case Grammar(ebnf):
            return bind_extra_body(model, {"grammar": ebnf})
        case Regex():
            raise unsupported(cfg, constraint)


async def health(cfg: BackendConfig, client: httpx.AsyncClient) -> Health:
    """Report whether the engine has started; a check never starts it."""
    engine = get_engine(_embedded(cfg).engine)
    if not engine.started:
        try:
            path = await asyncio.to_thread(resolve_model_path, engine.settings.model_path)
        except ModelFileError as exc:
            return Health(cfg.name, cfg.kind, True, False, 0.0, str(exc))
        return Health(cfg.name, cfg.kind, True, True, 0.0, f"starts on first use ({path.name})")
    return await openai_health(cfg.name, cfg.kind, engine.base_url, engine.model_path or "",
                               client, {})


async def model_info(cfg: BackendConfig, client: httpx.AsyncClient) -> ModelInfo:
    """Report context per slot and quantisation from ``/props`` as read at start-up."""
    engine = get_engine(_embedded(cfg).engine)
    await asyncio.to_thread(engine.start)
    props = engine.props
    return ModelInfo(
        backend=cfg.name, model=str(props.get("model_path", engine.model_path)),
        context_length=int(props["default_generation_settings"]["n_ctx"]),
        quantization=props.get("model_ftype"),
    )


def translate(exc: BaseException, cfg: BackendConfig) -> BackendError | None:
    """Map the openai SDK's exceptions onto ours."""
    return translate_openai_error(exc, backend=cfg.name, model=None)


def verify_reply(
    reply: AIMessage, messages: Sequence[BaseMessage], cfg: BackendConfig
) -> None:
    """Refuse a reply whose stream was cut before the server finished it."""
    verify_openai_reply(reply, cfg.name)
