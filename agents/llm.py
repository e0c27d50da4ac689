"""Call a model from a node: through its backend chain, timed, with usage and fallbacks.

Structured output is bound to each backend's own model inside the chain, with
that engine's mechanism, so a fallback never loses the constraint.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk
from langchain_core.runnables import Runnable
from langchain_core.runnables.config import ensure_config, merge_configs
from langchain_core.tools import BaseTool
from langgraph.config import get_stream_writer

from agents.metrics import NodeMetric, usage_counts
from backends.base import Constraint
from backends.chat import constrained_to, engine_for, get_chat_model, translate_error
from backends.config import current_config
from backends.errors import GraphConfigError
from backends.router import call_chain
from backends.settings import BackendConfig, GenerationParams

__all__ = ["PromptFor", "call_model", "chain_backends"]

# Builds the prompt for one backend of a chain; raising ContextTooLong moves on to the next.
PromptFor = Callable[[BackendConfig], Awaitable[Sequence[BaseMessage]]]


async def chain_backends(chain: str, *, key: str,
                         local_only: bool) -> tuple[BackendConfig, ...]:
    """Return the backends ``chain`` tries, only the local ones for sensitive requests."""
    backends = (await current_config()).chain(chain, key=key)
    if local_only:
        backends = tuple(cfg for cfg in backends if cfg.local)
        if not backends:
            raise GraphConfigError(
                f"{key}={chain!r} has no backend flagged local, and this request is marked "
                "sensitive; add a local backend to the chain or choose another", key=key)
    return backends


class FirstToken(BaseCallbackHandler):
    """Notes when a streamed reply's first token arrives (streaming runs only)."""

    # Called in the event loop, not a worker thread: it only reads a clock, and an
    # async handler would cost a coroutine for every callback event of every call.
    run_inline = True

    def __init__(self) -> None:
        self.at: float | None = None

    def on_llm_new_token(
        self,
        token: str | list[str | dict[str, Any]],
        *,
        chunk: GenerationChunk | ChatGenerationChunk | None = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """Record the first token's arrival."""
        if self.at is None and token:
            self.at = time.perf_counter()


async def _ask(
    cfg: BackendConfig, params: GenerationParams, messages: Sequence[BaseMessage] | PromptFor,
    constraint: Constraint | None, tools: Sequence[BaseTool] = (),
    first_token: FirstToken | None = None,
) -> AIMessage:
    prompt = list(await messages(cfg) if callable(messages) else messages)
    model = await get_chat_model(cfg, params)
    runnable: Runnable[LanguageModelInput, BaseMessage] = model
    if tools:
        runnable = model.bind_tools(list(tools))
    elif constraint:
        runnable = constrained_to(model, constraint, cfg)
    # The run's own config (LangGraph's stream handlers) plus the timer: passing
    # callbacks alone would replace the inherited ones and silence streaming.
    config = merge_configs(ensure_config(), {"callbacks": [first_token]} if first_token else {})
    try:
        reply = await runnable.ainvoke(prompt, config)
    except Exception as exc:
        mapped = translate_error(exc, cfg)
        if mapped is None:
            raise
        raise mapped from exc
    if not isinstance(reply, AIMessage):
        raise TypeError(f"expected an AIMessage from {cfg.name}, got {type(reply).__name__}")
    engine_for(cfg).verify_reply(reply, prompt, cfg)
    return reply


async def call_model(
    node: str,
    *,
    chain: str,
    key: str,
    params: GenerationParams,
    messages: Sequence[BaseMessage] | PromptFor,
    constraint: Constraint | None = None,
    local_only: bool = False,
    tools: Sequence[BaseTool] = (),
) -> tuple[AIMessage, NodeMetric]:
    """Ask the first answering backend of ``chain``; return its reply and the call's metric.

    Args:
        node: the calling node's name, for metrics and events.
        chain: a chain or backend name from the backends configuration.
        key: the context field that chose ``chain``, named in configuration errors.
        params: sampling parameters for this call.
        messages: the prompt, or a coroutine function that builds it for each backend
            tried (to fit that backend's own context window, say).
        constraint: what the server must enforce while decoding, if anything.
        local_only: use only the chain's backends flagged ``local`` (sensitive data).
        tools: tools bound for native tool calling (each backend's own model binds them);
            not together with ``constraint``.
    """
    if tools and constraint:
        raise ValueError("call_model takes tools or a constraint, not both")
    backends = await chain_backends(chain, key=key, local_only=local_only)
    started = time.perf_counter()
    first_token = FirstToken()
    reply, answered_by, attempts = await call_chain(
        chain, backends,
        lambda cfg: _ask(cfg, params, messages, constraint, tools, first_token),
    )
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    prompt, completion, cached = usage_counts(reply.usage_metadata)
    metric = NodeMetric(
        node=node, backend=answered_by.name, latency_ms=latency_ms, prompt_tokens=prompt,
        completion_tokens=completion, cached_tokens=cached, status="ok",
    )
    if first_token.at is not None:
        metric["ttft_ms"] = round((first_token.at - started) * 1000, 1)
    failed = [dataclasses.asdict(a) for a in attempts if a.outcome != "ok" or a.breaker]
    if failed:
        metric["fallbacks"] = failed
        get_stream_writer()({"event": "fallback", "node": node, "answered_by": answered_by.name,
                             "attempts": failed})
    return reply, metric
