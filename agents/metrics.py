"""Per-node measurements recorded in graph state as a run goes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

__all__ = ["NodeMetric", "summarize", "usage_counts"]


class NodeMetric(TypedDict):
    """One model or tool call made by a node."""

    node: str
    backend: str
    latency_ms: float
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    status: Literal["ok", "error"]
    error: NotRequired[str]
    fallbacks: NotRequired[list[dict[str, Any]]]


def usage_counts(usage: Mapping[str, Any] | None) -> tuple[int, int, int]:
    """Return (prompt, completion, cached) tokens from a LangChain ``usage_metadata``."""
    if not usage:
        return 0, 0, 0
    details = usage.get("input_token_details") or {}
    return (
        int(usage.get("input_tokens", 0)),
        int(usage.get("output_tokens", 0)),
        int(details.get("cache_read", 0) or 0),
    )


def summarize(metrics: Iterable[NodeMetric]) -> dict[str, float]:
    """Sum latency and tokens over a run's metrics."""
    totals = {"latency_ms": 0.0, "prompt_tokens": 0.0, "completion_tokens": 0.0,
              "cached_tokens": 0.0, "calls": 0.0}
    for metric in metrics:
        totals["latency_ms"] += metric["latency_ms"]
        totals["prompt_tokens"] += metric["prompt_tokens"]
        totals["completion_tokens"] += metric["completion_tokens"]
        totals["cached_tokens"] += metric["cached_tokens"]
        totals["calls"] += 1
    return totals
