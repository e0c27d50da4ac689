"""The book's engine comparison: latency, throughput, prompt length, memory, scaling, cache.

Each function takes a target and sizes and returns plain dicts for the report.
Seeds are fixed and temperature is 0, so runs are comparable; a warm-up of as
many requests at once as the series sends precedes every measured series.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import httpx

from bench.local_server import server_memory
from bench.measure import RequestStats, Target, percentiles, prompt_of, stream_chat
from serving.procfs import ProcessStatus, mb, read_status

__all__ = ["batch_throughput", "concurrency_scaling", "fitting_lengths", "latency", "memory",
           "prefix_cache", "process_peak_rss_mb", "process_rss_mb", "prometheus_values",
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


async def _warm(client: httpx.AsyncClient, target: Target, *, users: int = 1,
                prompt_tokens: int = 8) -> None:
    # As many requests at once as the series will send: the engine's first batch
    # of a size allocates buffers, which would otherwise bill the first sample.
    await asyncio.gather(*(
        stream_chat(client, target, _messages(prompt_of(prompt_tokens, 900 + i)), 4)
        for i in range(users)))


async def latency(client: httpx.AsyncClient, target: Target, *, requests: int,
                  prompt_tokens: int, max_tokens: int) -> dict[str, Any]:
    """Measure single requests one after another: TTFT, TPOT, end-to-end percentiles."""
    await _warm(client, target, prompt_tokens=prompt_tokens)
    stats = [await stream_chat(client, target, _messages(prompt_of(prompt_tokens, i)),
                               max_tokens, seed=i) for i in range(requests)]
    return _summary(stats)


async def _concurrent(client: httpx.AsyncClient, target: Target, users: int,
                      prompt_tokens: int, max_tokens: int, *, seeds_from: int) -> dict[str, Any]:
    started = time.perf_counter()
    stats = await asyncio.gather(*(
        stream_chat(client, target, _messages(prompt_of(prompt_tokens, seeds_from + i)),
                    max_tokens, seed=i) for i in range(users)))
    wall = time.perf_counter() - started
    summary = _summary(list(stats))
    summary.update(users=users, wall_s=round(wall, 3),
                   output_tokens_per_s=round(summary["completion_tokens"] / wall, 2))
    return summary


async def batch_throughput(client: httpx.AsyncClient, target: Target, *, batch: int,
                           prompt_tokens: int, max_tokens: int) -> dict[str, Any]:
    """Send ``batch`` prompts at once; report output tokens per second."""
    await _warm(client, target, users=batch, prompt_tokens=prompt_tokens)
    return await _concurrent(client, target, batch, prompt_tokens, max_tokens,
                             seeds_from=50_000)


async def concurrency_scaling(client: httpx.AsyncClient, target: Target, *,
                              levels: list[int], prompt_tokens: int,
                              max_tokens: int) -> list[dict[str, Any]]:
    """Throughput and latency at 1, 2, 4 ... concurrent users."""
    await _warm(client, target, users=max(levels), prompt_tokens=prompt_tokens)
    return [await _concurrent(client, target, users, prompt_tokens, max_tokens,
                              seeds_from=1000 * users) for users in levels]


def fitting_lengths(lengths: list[int], *, context_length: int | None,
                    max_tokens: int) -> list[int]:
    """Return the prompt lengths to measure: those the window takes, then the window's cap.

    Lengths past the cap are replaced by the cap itself, so the curve ends at the
    longest prompt the model accepts.
    """
    wanted = sorted(set(lengths))
    if context_length is None:
        return wanted
    cap = context_length - max_tokens - 64  # room for the reply and the chat template
    fitting = [n for n in wanted if n < cap]
    return fitting + [cap] if len(fitting) < len(wanted) else fitting


async def prompt_length_curve(client: httpx.AsyncClient, target: Target, *,
                              lengths: list[int], max_tokens: int,
                              context_length: int | None) -> list[dict[str, Any]]:
    """TTFT and end-to-end latency as the prompt grows (capped at the context window)."""
    await _warm(client, target)
    usable = fitting_lengths(lengths, context_length=context_length, max_tokens=max_tokens)
    rows = []
    for n in usable:
        stats = await stream_chat(client, target, _messages(prompt_of(n, n)), max_tokens, seed=n)
        rows.append({"prompt_tokens_requested": n, "prompt_tokens": stats.prompt_tokens,
                     "completion_tokens": stats.completion_tokens, "ttft_ms": stats.ttft_ms,
                     "e2e_ms": stats.e2e_ms})
    return rows


async def prefix_cache(client: httpx.AsyncClient, target: Target, *, requests: int,
                       prefix_tokens: int, max_tokens: int) -> dict[str, Any]:
    """Agent-like load: one long shared system prompt vs the same with it varied per request."""
    await _warm(client, target)
    shared = prompt_of(prefix_tokens, 7_000)

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


def _own_status() -> ProcessStatus:
    own = read_status(os.getpid())
    if own is None:  # a system without Linux /proc
        raise OSError(f"cannot read /proc/{os.getpid()}/status")
    return own


def process_rss_mb() -> float:
    """Resident memory of this process in MB (Linux ``/proc``)."""
    return mb(_own_status().rss_kb)


def process_peak_rss_mb() -> float:
    """The most resident memory this process has held since it started, in MB."""
    return mb(_own_status().peak_rss_kb)


def prometheus_values(text: str) -> dict[str, float]:
    """Map each metric name in a Prometheus text exposition to its first sample's value."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if "{" in line:  # name{labels} value [timestamp]; label values may hold spaces
            name, samples = line[:line.index("{")], line[line.rindex("}") + 1:].split()
        else:
            name, *samples = line.split()
        try:
            values.setdefault(name, float(samples[0]))
        except (IndexError, ValueError):
            continue
    return values


_KV_USAGE = ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "sglang:token_usage")


async def _server_metrics(client: httpx.AsyncClient, target: Target) -> dict[str, Any]:
    response = await client.get(f"{target.root}/metrics", headers=target.headers)
    if response.status_code != 200:
        hint = " (start SGLang with --enable-metrics)" if target.kind == "sglang" else ""
        return {"note": f"GET /metrics answered {response.status_code}{hint}"}
    values = prometheus_values(response.text)
    found: dict[str, Any] = {}
    if "process_resident_memory_bytes" in values:
        found["server_rss_mb"] = round(values["process_resident_memory_bytes"] / 2**20, 1)
    usage = next((values[name] for name in _KV_USAGE if name in values), None)
    if usage is not None:
        found["kv_cache_usage"] = round(usage, 4)
    return found or {"note": "GET /metrics reports no memory figures"}


async def _ollama_ps(client: httpx.AsyncClient, target: Target) -> dict[str, Any]:
    response = await client.get(f"{target.root}/api/ps", headers=target.headers)
    response.raise_for_status()
    loaded = [m for m in response.json().get("models", [])
              if target.model in (m.get("name"), m.get("model"))]
    if not loaded:
        return {"note": f"{target.model} is not loaded (GET /api/ps)"}
    return {"model_memory_mb": round(loaded[0].get("size", 0) / 2**20, 1),
            "model_vram_mb": round(loaded[0].get("size_vram", 0) / 2**20, 1)}


async def memory(client: httpx.AsyncClient, target: Target) -> dict[str, Any]:
    """Resident memory: this process for the embedded engine; else the server's processes.

    A server on loopback is measured on this machine: the process listening on its
    port and all its children (``bench/local_server.py``), which for vLLM takes in the
    engine worker holding the weights and KV cache. Next to that, what the server
    reports itself: vLLM and SGLang through Prometheus ``/metrics`` (the API-server
    process's resident memory alone, and how full the KV cache is), Ollama through
    ``/api/ps`` (the loaded model's size in memory and in VRAM).
    """
    if target.kind == "embedded":
        return {"process_rss_mb": process_rss_mb(), "peak_rss_mb": process_peak_rss_mb(),
                "note": "the embedded engine runs inside this process"}
    local = server_memory(target.root)
    try:
        if target.kind == "ollama":
            return {**local, **await _ollama_ps(client, target)}
        return {**local, **await _server_metrics(client, target)}
    except (httpx.HTTPError, ValueError) as exc:
        return {**local, "note": f"the server did not report its memory: {exc}"}
