"""Per-node measurements recorded in graph state as a run goes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

__all__ = ["NodeMetric", "Vote", "failed_call", "summarize", "usage_counts"]


class Vote(TypedDict):
    """How plan-and-execute's vote among sampled plans went (``choose_result``'s metric)."""

    winner: int
    votes: int
    margin: int
    samples: int
    outcomes: int
    usable: int


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
    ttft_ms: NotRequired[float]
    fallbacks: NotRequired[list[dict[str, Any]]]
    # "length" when the reply stopped at its token budget: max_tokens, or the rest of the
    # window where the server cut max_tokens silently (vLLM answers 200 and generates less).
    finish_reason: NotRequired[str]
    samples: NotRequired[int]
    answer_check: NotRequired[Literal["passed", "repaired", "templated"]]
    # split_question: the message was split, is one question, or its split failed the check.
    split: NotRequired[Literal["split", "whole", "rejected"]]
    vote: NotRequired[Vote]


def failed_call(node: str, backend: str, error: str) -> NodeMetric:
    """Return the metric of a model call whose reply could not be used."""
    return NodeMetric(node=node, backend=backend, latency_ms=0.0, prompt_tokens=0,
                      completion_tokens=0, cached_tokens=0, status="error", error=error)


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


SUMMED = ("latency_ms", "prompt_tokens", "completion_tokens", "cached_tokens")


def summarize(metrics: Iterable[NodeMetric]) -> dict[str, dict[str, float]]:
    """Sum calls, latency and tokens per node, and over the whole run under ``total``."""
    summary: dict[str, dict[str, float]] = {}
    for metric in metrics:
        for key in (metric["node"], "total"):
            row = summary.setdefault(key, dict.fromkeys(("calls", *SUMMED), 0.0))
            row["calls"] += 1
            for field in SUMMED:
                row[field] += metric[field]  # type: ignore[literal-required]
    for row in summary.values():
        row["latency_ms"] = round(row["latency_ms"], 1)
    return summary
