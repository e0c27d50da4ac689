"""Call a model from a node: time it, read its token usage, map its errors."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable

from agents.metrics import NodeMetric, usage_counts
from backends.chat import translate_error
from backends.config import BackendConfig

__all__ = ["call_model"]


def _raw_message(reply: Any) -> AIMessage | None:
    # with_structured_output(include_raw=True) answers {"raw": AIMessage, "parsed": ...}.
    if isinstance(reply, dict):
        reply = reply.get("raw")
    return reply if isinstance(reply, AIMessage) else None


async def call_model(
    node: str, cfg: BackendConfig, model: Runnable[Any, Any], messages: Sequence[BaseMessage]
) -> tuple[Any, NodeMetric]:
    """Invoke ``model`` on ``messages``; return its reply and the call's metric.

    Client-library errors are raised as our BackendError subclasses.
    """
    started = time.perf_counter()
    try:
        reply = await model.ainvoke(list(messages))
    except Exception as exc:
        mapped = translate_error(exc, cfg)
        if mapped is None:
            raise
        raise mapped from exc
    latency_ms = (time.perf_counter() - started) * 1000
    raw = _raw_message(reply)
    prompt, completion, cached = usage_counts(raw.usage_metadata if raw else None)
    metric = NodeMetric(
        node=node, backend=cfg.name, latency_ms=round(latency_ms, 1), prompt_tokens=prompt,
        completion_tokens=completion, cached_tokens=cached, status="ok",
    )
    return reply, metric
