"""The book's engine comparison: latency, throughput, prompt length, memory, scaling, cache.

Each function takes a target and sizes and returns plain dicts for the report.
Seeds are fixed and temperature is 0, so runs are comparable; one warm-up
request precedes every measured series.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import httpx

from bench.measure import RequestStats, Target, percentiles, prompt_of, stream_chat

__all__ = ["batch_throughput", "concurrency_scaling", "latency", "memory", "prefix_cache",
           "prompt_length_curve"]


def _messages(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


def _summary(stats: list[RequestStats]) -> dict[str, Any]:
    return {"requests": len(stats),
            "ttft_ms": percentiles([s.ttft_ms for s in stats]),
            "tpot_ms": percentiles([s.tpot_ms for s in stats]),
            "e2e_ms": percentiles([s.e2e_ms for s in stats]),
            "completion_tokens": sum(s.completion_tokens for s in stats),
            "cached_tokens": sum(s.cached_tokens for s in stats)}


async def _warm(client: httpx.AsyncClient, target: Target) -> None:
    await stream_chat(client, target, _messages("Hello"), 4)


async def latency(client: httpx.AsyncClient, target: Target, *, requests: int,
                  prompt_tokens: int, max_tokens: int) -> dict[str, Any]:
    """Measure single requests one after another: TTFT, TPOT, end-to-end percentiles."""
    await _warm(client, target)
    stats = [await stream_chat(client, target, _messages(prompt_of(prompt_tokens, i)),
                               max_tokens, seed=i) for i in range(requests)]
    return _summary(stats)


async def _concurrent(client: httpx.AsyncClient, target: Target, users: int,
                      prompt_tokens: int, max_tokens: int) -> dict[str, Any]:
    started = time.perf_counter()
    stats = await asyncio.gather(*(
        stream_chat(client, target, _messages(prompt_of(prompt_tokens, 100 + i)), max_tokens,
                    seed=i) for i in range(users)))
    wall = time.perf_counter() - started
    summary = _summary(list(stats))
    summary.update(users=users, wall_s=round(wall, 3),
                   output_tokens_per_s=round(summary["completion_tokens"] / wall, 2))
    return summary


async def batch_throughput(client: httpx.AsyncClient, target: Target, *, batch: int,
                           prompt_tokens: int, max_tokens: int) -> dict[str, Any]:
    """Send ``batch`` prompts at once; report output tokens per second."""
    await _warm(client, target)
    return await _concurrent(client, target, batch, prompt_tokens, max_tokens)


async def concurrency_scaling(client: httpx.AsyncClient, target: Target, *,
                              levels: list[int], prompt_tokens: int,
                              max_tokens: int) -> list[dict[str, Any]]:
    """Throughput and latency at 1, 2, 4 ... concurrent users."""
    await _warm(client, target)
    return [await _concurrent(client, target, users, prompt_tokens, max_tokens)
            for users in levels]


async def prompt_length_curve(client: httpx.AsyncClient, target: Target, *,
                              lengths: list[int], max_tokens: int,
                              context_length: int | None) -> list[dict[str, Any]]:
    """TTFT and end-to-end latency as the prompt grows (capped at the context window)."""
    await _warm(client, target)
    usable = [n for n in lengths if context_length is None or n + max_tokens + 64 < context_length]
    rows = []
    for n in usable:
        stats = await stream_chat(client, target, _messages(prompt_of(n, n)), max_tokens, seed=n)
        rows.append({"prompt_tokens_requested": n, "prompt_tokens": stats.prompt_tokens,
                     "ttft_ms": stats.ttft_ms, "e2e_ms": stats.e2e_ms})
    return rows


async def prefix_cache(client: httpx.AsyncClient, target: Target, *, requests: int,
                       prefix_tokens: int, max_tokens: int) -> dict[str, Any]:
    """Agent-like load: one long shared system prompt vs the same with it varied per request."""
    await _warm(client, target)
    shared = prompt_of(prefix_tokens, 1)

    async def series(vary: bool) -> list[RequestStats]:
        out = []
        for i in range(requests):
            system = f"{i} {shared}" if vary else shared
            out.append(await stream_chat(client, target, [
                {"role": "system", "content": system},
                {"role": "user", "content": f"Question {i}: say one word."}], max_tokens, seed=i))
        return out

    shared_stats, varied_stats = await series(vary=False), await series(vary=True)
    return {"shared_prefix": _summary(shared_stats), "varied_prefix": _summary(varied_stats)}


def memory(target: Target) -> dict[str, Any]:
    """Resident memory: this process for the embedded engine; else what the server says."""
    if target.kind != "embedded":
        return {"note": f"{target.kind} runs out of process; see its own metrics endpoint"}
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return {"process_rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
            "note": "the embedded engine runs inside this process"}
