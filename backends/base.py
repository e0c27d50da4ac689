"""What every engine module provides, and the value types they exchange.

Each of ``embedded``, ``vllm``, ``sglang`` and ``ollama`` implements ``Engine``
as module-level functions; ``backends.chat`` dispatches on a backend's kind.
Constrained decoding is asked for with a ``Constraint``; each engine maps it to
its own request fields, or raises ``InvalidRequest`` when it cannot enforce it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel

from backends.errors import BackendError, InvalidRequest
from backends.settings import BackendConfig, GenerationParams

__all__ = [
    "Capabilities",
    "Choice",
    "Constraint",
    "Engine",
    "Grammar",
    "Health",
    "HttpClients",
    "JsonSchema",
    "ModelInfo",
    "Regex",
    "read_choice",
    "unsupported",
]


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do natively; graphs choose their mechanism from this."""

    native_tools: bool
    json_schema: bool
    regex: bool
    ebnf: bool
    choices: bool
    parallel_sampling: bool
    logprobs: bool
    cached_tokens: bool
    # The most samples one request's ``n`` may ask for (llama.cpp: its slot count).
    max_samples_per_request: int | None = None


@dataclass(frozen=True)
class Health:
    """The result of one connection check."""

    backend: str
    kind: str
    reachable: bool
    model_loaded: bool
    latency_ms: float
    detail: str = ""


@dataclass(frozen=True)
class ModelInfo:
    """What the server reports about the model it serves."""

    backend: str
    model: str
    context_length: int | None
    quantization: str | None = None
    parameters: str | None = None


@dataclass(frozen=True)
class JsonSchema:
    """Output must be JSON valid against ``schema``."""

    schema: type[BaseModel]


@dataclass(frozen=True)
class Regex:
    """Output must match ``pattern`` in full."""

    pattern: str


@dataclass(frozen=True)
class Choice:
    """Output must be exactly one of ``options``."""

    options: tuple[str, ...]


@dataclass(frozen=True)
class Grammar:
    """Output must follow an EBNF grammar (engine dialect)."""

    ebnf: str


Constraint = JsonSchema | Regex | Choice | Grammar


@dataclass(frozen=True)
class HttpClients:
    """The connection pools a backend's models share (the async one per event loop)."""

    sync: httpx.Client
    async_: httpx.AsyncClient


class Engine(Protocol):
    """The functions each engine module defines."""

    def capabilities(self, cfg: BackendConfig) -> Capabilities:
        """Return what ``cfg``'s server can do."""

    def make_chat_model(
        self, cfg: BackendConfig, params: GenerationParams, clients: HttpClients
    ) -> BaseChatModel:
        """Build a chat model for ``cfg`` (may block: called in a worker thread)."""

    def constrain(
        self, model: BaseChatModel, constraint: Constraint, cfg: BackendConfig
    ) -> Runnable[LanguageModelInput, BaseMessage]:
        """Bind ``model`` so the server enforces ``constraint`` while decoding."""

    async def health(self, cfg: BackendConfig, client: httpx.AsyncClient) -> Health:
        """Check that the server answers and serves the configured model."""

    async def model_info(self, cfg: BackendConfig, client: httpx.AsyncClient) -> ModelInfo:
        """Ask the server about its model."""

    def translate(self, exc: BaseException, cfg: BackendConfig) -> BackendError | None:
        """Map the client library's exception onto ours; None if it is not theirs."""

    def verify_reply(
        self, reply: AIMessage, messages: Sequence[BaseMessage], cfg: BackendConfig
    ) -> None:
        """Raise a BackendError if ``reply`` is incomplete or answers a mangled prompt."""


def read_choice(text: str, options: Sequence[str], backend: str) -> str:
    """Return which of ``options`` a Choice-constrained reply picked.

    Engines that enforce choices through a JSON string enum (Ollama) answer
    ``"red"`` with quotes; the others answer ``red``.
    """
    picked = text.strip()
    if picked.startswith('"'):
        with contextlib.suppress(json.JSONDecodeError):
            picked = str(json.loads(picked))
    if picked not in options:
        raise InvalidRequest(f"reply {text!r} is none of {list(options)}", backend=backend)
    return picked


def unsupported(cfg: BackendConfig, constraint: Constraint) -> InvalidRequest:
    """Return the error for a constraint ``cfg``'s engine cannot enforce."""
    return InvalidRequest(
        f"{cfg.kind} cannot enforce a {type(constraint).__name__} constraint while decoding; "
        "use a JsonSchema or Choice constraint, or route this node to another backend",
        backend=cfg.name,
    )
