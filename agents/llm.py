"""Call a model from a node: time it, read its token usage, map its errors."""

from __future__ import annotations

import time
from collections.abc import Sequence

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable

from agents.metrics import NodeMetric, usage_counts
from backends.chat import translate_error
from backends.config import BackendConfig

__all__ = ["call_model"]


async def call_model(
    node: str,
    cfg: BackendConfig,
    model: Runnable[LanguageModelInput, BaseMessage],
    messages: Sequence[BaseMessage],
) -> tuple[AIMessage, NodeMetric]:
    """Invoke ``model`` on ``messages``; return its reply and the call's metric.

    Client-library errors are raised as our BackendError subclasses.
    """
    started = time.perf_counter()
    try:
        reply = await model.ainvoke(list(messages))
        if not isinstance(reply, AIMessage):
            raise TypeError(f"{node}: expected an AIMessage from {cfg.name}, got {type(reply)}")
    except Exception as exc:
        mapped = translate_error(exc, cfg)
        if mapped is None:
            raise
        raise mapped from exc
    latency_ms = (time.perf_counter() - started) * 1000
    prompt, completion, cached = usage_counts(reply.usage_metadata)
    metric = NodeMetric(
        node=node, backend=cfg.name, latency_ms=round(latency_ms, 1), prompt_tokens=prompt,
        completion_tokens=completion, cached_tokens=cached, status="ok",
    )
    return reply, metric
