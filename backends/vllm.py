"""vLLM's OpenAI-compatible server, through ChatOpenAI.

Constrained decoding uses vLLM's own request fields: ``structured_outputs``
(``json``, ``regex``, ``choice``, ``grammar``) since v0.12, or the older
``guided_*`` fields, chosen by the backend's ``structured_outputs`` setting.
"""

from __future__ import annotations

import dataclasses
import re
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
)
from backends.config import auth_headers
from backends.errors import BackendError
from backends.openai_compat import (
    bind_extra_body,
    openai_health,
    openai_models,
    remote_chat_model,
    translate_openai_error,
    verify_openai_reply,
)
from backends.settings import BackendConfig, GenerationParams, VLLMBackend

__all__ = ["capabilities", "constrain", "health", "make_chat_model", "model_info", "translate",
           "verify_reply"]

EXTRA_NAMES = {"top_k": "top_k", "repetition_penalty": "repetition_penalty"}
# Older vLLM releases report context overflow only as a BadRequestError worded so.
CONTEXT_PHRASES = ("maximum context length", "the model's context length is only")


def _vllm(cfg: BackendConfig) -> VLLMBackend:
    assert isinstance(cfg, VLLMBackend), f"{cfg.name} is not a vLLM backend"
    return cfg


def capabilities(cfg: BackendConfig) -> Capabilities:
    """Return what a vLLM server can do (tool calls need its --tool-call-parser)."""
    return Capabilities(native_tools=True, json_schema=True, regex=True, ebnf=True, choices=True,
                        parallel_sampling=True, logprobs=True, cached_tokens=True)


def make_chat_model(
    cfg: BackendConfig, params: GenerationParams, clients: HttpClients
) -> BaseChatModel:
    """Build a ChatOpenAI for the vLLM server."""
    return remote_chat_model(_vllm(cfg), params, clients, EXTRA_NAMES)


def constraint_fields(constraint: Constraint, family: str) -> dict[str, Any]:
    """Return the request-body fields that make vLLM enforce ``constraint``."""
    value: Any
    match constraint:
        case JsonSchema(schema):
            name, value = "json", schema.model_json_schema()
        case Regex(pattern):
            name, value = "regex", pattern
        case Choice(options):
            name, value = "choice", list(options)
        case Grammar(ebnf):
            name, value = "grammar", ebnf
    if family == "guided":
        return {f"guided_{name}": value}
    return {"structured_outputs": {name: value}}


def constrain(
    model: BaseChatModel, constraint: Constraint, cfg: BackendConfig
) -> Runnable[LanguageModelInput, BaseMessage]:
    """Bind vLLM's structured-output fields for ``constraint``."""
    return bind_extra_body(model, constraint_fields(constraint, _vllm(cfg).structured_outputs))


async def health(cfg: BackendConfig, client: httpx.AsyncClient) -> Health:
    """Check ``/health``, that ``/v1/models`` serves the model, and the constraint fields.

    vLLM 0.12 removed the ``guided_*`` fields and ignores them without an error, so
    a backend set to ``guided`` against such a server would decode unconstrained.
    """
    vllm = _vllm(cfg)
    status = await openai_health(vllm.name, vllm.kind, vllm.base_url, vllm.model, client,
                                 auth_headers(vllm))
    if not status.reachable or vllm.structured_outputs != "guided":
        return status
    version = await _server_version(vllm, client)
    if version is not None and version >= (0, 12):
        return dataclasses.replace(status, model_loaded=False, detail=(
            f"vLLM {'.'.join(map(str, version))} ignores guided_* fields: set "
            "structured_outputs = \"structured_outputs\""))
    return status


async def _server_version(cfg: VLLMBackend, client: httpx.AsyncClient) -> tuple[int, ...] | None:
    try:
        response = await client.get(f"{cfg.base_url}/version", headers=auth_headers(cfg))
        response.raise_for_status()
        text = str(response.json().get("version", ""))
    except (httpx.HTTPError, ValueError):
        return None
    numbers = re.findall(r"\d+", text)[:2]
    return tuple(int(n) for n in numbers) if len(numbers) == 2 else None


async def model_info(cfg: BackendConfig, client: httpx.AsyncClient) -> ModelInfo:
    """Read the model's context length (``max_model_len``) from ``/v1/models``."""
    vllm = _vllm(cfg)
    entry = (await openai_models(vllm.base_url, client, auth_headers(vllm))).get(vllm.model, {})
    length = entry.get("max_model_len")
    return ModelInfo(vllm.name, vllm.model, int(length) if length else vllm.context_length)


def translate(exc: BaseException, cfg: BackendConfig) -> BackendError | None:
    """Map the openai SDK's exceptions onto ours."""
    return translate_openai_error(exc, backend=cfg.name, model=getattr(cfg, "model", None),
                                  context_phrases=CONTEXT_PHRASES)


def verify_reply(
    reply: AIMessage, messages: Sequence[BaseMessage], cfg: BackendConfig
) -> None:
    """Refuse a reply whose stream was cut before the server finished it."""
    verify_openai_reply(reply, cfg.name)
