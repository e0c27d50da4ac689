"""Measure one streamed chat request against a backend, over its own protocol.

TTFT is the time to the first content token, TPOT the mean time per later
token, end-to-end the whole request. Token counts come from the server's
usage report (OpenAI ``usage``, Ollama ``eval_count``), never from guesses.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx

from backends.config import auth_headers
from backends.embedded import get_engine
from backends.settings import BackendConfig, EmbeddedBackend

__all__ = ["RequestStats", "Target", "percentiles", "prompt_of", "stream_chat", "target_for"]

WORDS = ("river stone light garden window paper music winter coffee signal market "
         "forest engine silver letter bridge").split()


@dataclass(frozen=True)
class Target:
    """Where and how to send benchmark requests for one backend."""

    name: str
    kind: str
    root: str
    model: str
    headers: dict[str, str]


@dataclass(frozen=True)
class RequestStats:
    """One request's timings and the server's token counts."""

    ttft_ms: float
    tpot_ms: float
    e2e_ms: float
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int


def target_for(cfg: BackendConfig) -> Target:
    """Resolve ``cfg`` to a request target (starts the embedded engine if needed)."""
    if isinstance(cfg, EmbeddedBackend):
        engine = get_engine(cfg.engine)
        root = engine.start()
        return Target(cfg.name, cfg.kind, root, engine.model_path or "", {})
    return Target(cfg.name, cfg.kind, cfg.base_url, cfg.model, auth_headers(cfg))


def prompt_of(tokens: int, seed: int) -> str:
    """Return a prompt of about ``tokens`` tokens (each of these words is one token).

    The same seed gives the same prompt; different seeds share no useful prefix,
    so the server's prompt cache cannot answer one request from another's.
    """
    return " ".join(random.Random(seed).choices(WORDS, k=max(tokens, 1)))


def percentiles(values: list[float]) -> dict[str, float]:
    """Return p50/p90/p99 and the mean of ``values`` (empty: all zero).

    Percentiles interpolate linearly between the nearest samples, as numpy's
    default does and so ``vllm bench serve`` and SGLang's ``bench_serving``.
    """
    if not values:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "mean": 0.0}
    ordered = sorted(values)

    def pick(q: float) -> float:
        position = q * (len(ordered) - 1)
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 2)

    return {"p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99),
            "mean": round(statistics.fmean(values), 2)}


def _stats(started: float, first: float | None, tokens: int, prompt: int,
           cached: int) -> RequestStats:
    end = time.perf_counter()
    first = first or end
    tpot = (end - first) / (tokens - 1) if tokens > 1 else 0.0
    return RequestStats(round((first - started) * 1000, 2), round(tpot * 1000, 2),
                        round((end - started) * 1000, 2), prompt, tokens, cached)


async def _openai(client: httpx.AsyncClient, target: Target, messages: list[dict[str, str]],
                  max_tokens: int, seed: int) -> RequestStats:
    body = {"model": target.model, "messages": messages, "max_tokens": max_tokens,
            "temperature": 0, "seed": seed, "stream": True,
            "stream_options": {"include_usage": True}}
    started, first = time.perf_counter(), None
    usage: dict[str, Any] = {}
    async with client.stream("POST", f"{target.root}/v1/chat/completions", json=body,
                             headers=target.headers) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data:") or line.endswith("[DONE]"):
                continue
            event = json.loads(line[5:])
            usage = event.get("usage") or usage
            choices = event.get("choices") or [{}]
            if first is None and (choices[0].get("delta") or {}).get("content"):
                first = time.perf_counter()
    details = usage.get("prompt_tokens_details") or {}
    return _stats(started, first, int(usage.get("completion_tokens", 0)),
                  int(usage.get("prompt_tokens", 0)), int(details.get("cached_tokens") or 0))


async def _ollama(client: httpx.AsyncClient, target: Target, messages: list[dict[str, str]],
                  max_tokens: int, seed: int) -> RequestStats:
    body = {"model": target.model, "messages": messages, "stream": True,
            "options": {"num_predict": max_tokens, "temperature": 0, "seed": seed}}
    started, first, final = time.perf_counter(), None, {}
    async with client.stream("POST", f"{target.root}/api/chat", json=body,
                             headers=target.headers) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.strip():
                continue
            event: dict[str, Any] = json.loads(line)
            if first is None and event.get("message", {}).get("content"):
                first = time.perf_counter()
            if event.get("done"):
                final = event
    return _stats(started, first, int(final.get("eval_count", 0)),
                  int(final.get("prompt_eval_count", 0)), 0)


async def stream_chat(client: httpx.AsyncClient, target: Target, messages: list[dict[str, str]],
                      max_tokens: int, seed: int = 0) -> RequestStats:
    """Send one streamed chat request in ``target``'s protocol; return its stats."""
    if target.kind == "ollama":
        return await _ollama(client, target, messages, max_tokens, seed)
    return await _openai(client, target, messages, max_tokens, seed)
