"""Call a model from a node: through its backend chain, timed, with usage and fallbacks.

Structured output is bound to each backend's own model inside the chain, with
that engine's mechanism, so a fallback never loses the constraint.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, GenerationChunk
from langchain_core.runnables import Runnable, RunnableBinding
from langchain_core.runnables.config import ensure_config, merge_configs
from langchain_core.tools import BaseTool
from langgraph.config import get_stream_writer

from agents.metrics import NodeMetric, usage_counts
from backends.base import Constraint
from backends.chat import (
    capabilities,
    constrained_to,
    engine_for,
    get_chat_model,
    translate_error,
)
from backends.errors import GraphConfigError, ReplyCutOff
from backends.reload import current_config
from backends.router import Attempt, call_chain
from backends.settings import BackendConfig, GenerationParams

__all__ = ["PromptFor", "call_model", "chain_backends", "sample_model"]

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


@contextlib.contextmanager
def _our_errors(cfg: BackendConfig) -> Iterator[None]:
    """Raise the client library's exceptions for ``cfg`` as ours (foreign ones unchanged)."""
    try:
        yield
    except Exception as exc:
        mapped = translate_error(exc, cfg)
        if mapped is None:
            raise
        raise mapped from exc


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
    with _our_errors(cfg):
        reply = await runnable.ainvoke(prompt, config)
    if not isinstance(reply, AIMessage):
        raise TypeError(f"expected an AIMessage from {cfg.name}, got {type(reply).__name__}")
    engine_for(cfg).verify_reply(reply, prompt, cfg)
    return reply


async def _ask_n(
    cfg: BackendConfig, params: GenerationParams, messages: Sequence[BaseMessage],
    constraint: Constraint | None, samples: int,
) -> list[AIMessage]:
    # One request with OpenAI's ``n``: the server decodes the samples side by side
    # from one prompt pass (vLLM, SGLang and llama.cpp all take it).
    model = await get_chat_model(cfg, params)
    runnable = constrained_to(model, constraint, cfg) if constraint else model
    bound = runnable.kwargs if isinstance(runnable, RunnableBinding) else {}
    config = ensure_config()
    with _our_errors(cfg):
        result = await model.agenerate([list(messages)], callbacks=config.get("callbacks"),
                                        n=samples, stream=False, **bound)
    replies = [g.message for g in result.generations[0]
               if isinstance(g, ChatGeneration) and isinstance(g.message, AIMessage)]
    for reply in replies:
        engine_for(cfg).verify_reply(reply, messages, cfg)
    return replies


async def _sample(
    cfg: BackendConfig, params: GenerationParams, messages: Sequence[BaseMessage],
    constraint: Constraint | None, samples: int,
) -> tuple[list[AIMessage], tuple[int, int, int]]:
    seed = params.seed or 0
    caps = capabilities(cfg)
    if samples > 1 and caps.parallel_sampling:
        # An engine that caps ``n`` (llama.cpp, at its slot count) takes more requests.
        most = caps.max_samples_per_request or samples
        sizes = [min(most, samples - start) for start in range(0, samples, most)]
        try:
            batches = await asyncio.gather(*(
                _ask_n(cfg, params.merged(GenerationParams(seed=seed + 1000 * i)), messages,
                       constraint, size) for i, size in enumerate(sizes)))
        except ReplyCutOff:
            pass  # one runaway sample spoils its batch; ask for each on its own below
        else:
            # Each choice carries its request's usage, which covers that request's choices.
            counts = [usage_counts(b[0].usage_metadata if b else None) for b in batches]
            return [r for b in batches for r in b], _sum(counts)
    # Concurrent requests with their own seeds: the prompt prefix is cached after the
    # first, so the rest pay only for decoding, which the server batches.
    asked = await asyncio.gather(*(
        _ask(cfg, params.merged(GenerationParams(seed=seed + i)), messages, constraint)
        for i in range(samples)), return_exceptions=True)
    replies = [r for r in asked if isinstance(r, AIMessage)]
    failures = [r for r in asked if isinstance(r, BaseException)]
    if failures and not replies:
        raise failures[0]
    for failure in failures:
        if not isinstance(failure, ReplyCutOff):
            raise failure
    return replies, _sum([usage_counts(r.usage_metadata) for r in replies])


def _sum(counts: Sequence[tuple[int, int, int]]) -> tuple[int, int, int]:
    return sum(c[0] for c in counts), sum(c[1] for c in counts), sum(c[2] for c in counts)


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
    metric = _metric(node, answered_by, attempts, started,
                     usage_counts(reply.usage_metadata), first_token)
    if reply.response_metadata.get("finish_reason") == "length":
        metric["finish_reason"] = "length"
    return reply, metric


async def sample_model(
    node: str,
    *,
    chain: str,
    key: str,
    params: GenerationParams,
    messages: Sequence[BaseMessage],
    samples: int,
    constraint: Constraint | None = None,
    local_only: bool = False,
) -> tuple[list[AIMessage], NodeMetric]:
    """Draw ``samples`` replies to one prompt from the first answering backend of ``chain``.

    A backend with parallel sampling gets one request with ``n``; the others get
    that many concurrent requests with consecutive seeds from ``params.seed``. A
    reply cut at its token limit is dropped, not raised, unless every one was.
    The metric's tokens cover every sample; ``samples`` records how many came back.
    """
    backends = await chain_backends(chain, key=key, local_only=local_only)
    started = time.perf_counter()
    (replies, usage), answered_by, attempts = await call_chain(
        chain, backends, lambda cfg: _sample(cfg, params, messages, constraint, samples))
    metric = _metric(node, answered_by, attempts, started, usage, None)
    metric["samples"] = len(replies)
    return replies, metric


def _metric(node: str, answered_by: BackendConfig, attempts: Sequence[Attempt],
            started: float, usage: tuple[int, int, int],
            first_token: FirstToken | None) -> NodeMetric:
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    prompt, completion, cached = usage
    metric = NodeMetric(
        node=node, backend=answered_by.name, latency_ms=latency_ms, prompt_tokens=prompt,
        completion_tokens=completion, cached_tokens=cached, status="ok",
    )
    if first_token is not None and first_token.at is not None:
        metric["ttft_ms"] = round((first_token.at - started) * 1000, 1)
    failed = [dataclasses.asdict(a) for a in attempts if a.outcome != "ok" or a.breaker]
    if failed:
        metric["fallbacks"] = failed
        get_stream_writer()({"event": "fallback", "node": node, "answered_by": answered_by.name,
                             "attempts": failed})
    return metric
