"""Run the benchmark suite over configured backends and write a timestamped report."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

from backends.chat import health, model_info
from backends.config import load_config
from backends.errors import AppError
from backends.settings import EmbeddedBackend
from bench import engines, overhead
from bench.local_server import server_memory
from bench.measure import target_for
from bench.models import describe, same_model
from bench.provenance import commit
from bench.report import write_report

__all__ = ["QUICK", "SMOKE", "STANDARD", "print_outcome", "run_bench"]

STEPS = 5  # measured steps per backend, for the progress bar

# For the test suite: every code path once, as small as it gets.
# ``rounds``: repetitions of each of our own measures; ``overhead_rounds`` for the
# one-token calls, which are cheap and need many rounds to resolve a millisecond;
# ``ks``: fan-out widths, around the embedded engine's 4 parallel slots.
SMOKE: dict[str, Any] = {"requests": 2, "prompt_tokens": 8, "max_tokens": 2, "batch": 2,
                         "levels": [1, 2], "lengths": [16], "prefix_tokens": 40,
                         "rounds": 1, "overhead_rounds": 2, "ks": [2]}

QUICK: dict[str, Any] = {"requests": 3, "prompt_tokens": 32, "max_tokens": 16, "batch": 4,
                         "levels": [1, 2, 4], "lengths": [64, 256], "prefix_tokens": 300,
                         "rounds": 3, "overhead_rounds": 30, "ks": [4]}
STANDARD: dict[str, Any] = {"requests": 20, "prompt_tokens": 128, "max_tokens": 64,
                            "batch": 16, "levels": [1, 2, 4, 8, 16],
                            "lengths": [64, 256, 1024, 4096], "prefix_tokens": 1000,
                            "rounds": 5, "overhead_rounds": 200,
                            "ks": [2, 4, 8]}


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            names = [line.split(":", 1)[1].strip() for line in cpuinfo
                     if line.startswith("model name")]
    except OSError:
        return None
    return names[0] if names else None


async def _backend(client: httpx.AsyncClient, name: str, sizes: dict[str, Any],
                   bar: tqdm) -> dict[str, Any]:
    cfg = load_config().backends[name]
    target = target_for(cfg)
    checked = await health(cfg)
    if not (checked.reachable and checked.model_loaded):
        raise AppError(f"{name} is not ready at {target.root}: {checked.detail}")
    info = await model_info(cfg)
    common = {"max_tokens": sizes["max_tokens"]}
    steps: dict[str, Callable[[], Awaitable[Any]]] = {
        "latency": lambda: engines.latency(client, target, requests=sizes["requests"],
                                           prompt_tokens=sizes["prompt_tokens"], **common),
        "throughput": lambda: engines.batch_throughput(
            client, target, batch=sizes["batch"], prompt_tokens=sizes["prompt_tokens"],
            **common),
        "concurrency": lambda: engines.concurrency_scaling(
            client, target, levels=sizes["levels"], prompt_tokens=sizes["prompt_tokens"],
            **common),
        "prompt_length": lambda: engines.prompt_length_curve(
            client, target, lengths=sizes["lengths"], context_length=info.context_length,
            **common),
        "prefix_cache": lambda: engines.prefix_cache(
            client, target, requests=sizes["requests"], prefix_tokens=sizes["prefix_tokens"],
            **common),
    }
    result: dict[str, Any] = {"kind": cfg.kind, "model": info.model,
                              "context_length": info.context_length,
                              "model_source": await describe(client, target, info)}
    # Before any request: the model and the KV cache; the rest grows with cached prompts.
    if isinstance(cfg, EmbeddedBackend):
        result["engine"] = cfg.engine.model_dump()  # slots, threads, context: to reproduce
        result["process_rss_mb_engine_started"] = engines.process_rss_mb()
    else:
        before = server_memory(target.root).get("all_processes_rss_mb")
        if before is not None:  # a server on this machine: every process of it
            result["all_processes_rss_mb_engine_started"] = before
    for step, run in steps.items():
        bar.set_description(f"{name}: {step}")
        result[step] = await run()
        bar.update()
    result["memory"] = await engines.memory(client, target)
    return result


async def _ours(client: httpx.AsyncClient, first: str, sizes: dict[str, Any], bar: tqdm,
                measured: dict[str, Any]) -> dict[str, Any]:
    target = target_for(load_config().backends[first])
    bar.set_description("ours: graph overhead")
    graph = await overhead.graph_overhead(target, first, rounds=sizes["overhead_rounds"],
                                          typical_call_ms=measured["latency"]["e2e_ms"]["p50"])
    bar.update()
    bar.set_description("ours: fan-out")
    fan = [await overhead.fan_out(client, target, first, k=k, max_tokens=sizes["max_tokens"],
                                  rounds=sizes["rounds"]) for k in sizes["ks"]]
    bar.update()
    bar.set_description("ours: structured output")
    structured = await overhead.structured_cost(first, rounds=sizes["rounds"])
    bar.update()
    return {"graph_overhead": graph, "fan_out": fan, "structured": structured}


async def run_bench(backends: list[str], *, sizes: dict[str, Any], out: Path) -> Path:
    """Benchmark ``backends``, then our own costs on the first; return the report path."""
    started = dt.datetime.now(dt.UTC)
    results: dict[str, Any] = {"meta": {"commit": commit(), "started": started.isoformat(),
                                        "cpus": os.cpu_count(), "cpu_model": _cpu_model(),
                                        "sizes": sizes,
                                        "process_rss_mb_at_start": engines.process_rss_mb()},
                               "backends": {}}
    with tqdm(total=STEPS * len(backends) + 3, unit="step") as bar:
        # A fresh connection per request, as vllm bench serve opens a session per
        # request, for every engine alike; it also never meets the kept-alive
        # connections llama.cpp drops (backends/transports.py). Against the embedded
        # engine on 2 cores the connection costs about 1.4 ms of each request.
        fresh = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=600, limits=fresh) as client:
            for index, name in enumerate(backends):
                try:
                    results["backends"][name] = await _backend(client, name, sizes, bar)
                except (httpx.HTTPError, AppError) as exc:
                    # One dead server must not cost the others' numbers.
                    results["backends"][name] = {"error": f"{type(exc).__name__}: {exc}"}
                    bar.write(f"{name} failed, going on without it: {exc}")
                    bar.update(STEPS * (index + 1) - bar.n)
            first = backends[0]
            if "error" in results["backends"][first]:
                results["ours"] = {"skipped": f"{first}, the first backend named, failed"}
            else:
                results["ours"] = await _ours(client, first, sizes, bar,
                                              results["backends"][first])
    measured = {n: r for n, r in results["backends"].items() if "error" not in r}
    results["meta"]["same_model"] = same_model(measured)
    folder = out / started.strftime("%Y%m%dT%H%M%SZ")
    return write_report(results, folder)


def print_outcome(report: Path) -> int:
    """Print a finished run's report; return 1 if a backend could not be measured, else 0."""
    print(report.read_text())
    print(f"written to {report.parent}")
    results = json.loads((report.parent / "results.json").read_text())
    failed = [name for name, r in results["backends"].items() if "error" in r]
    if failed:
        print(f"error: {', '.join(failed)} could not be measured; see the report",
              file=sys.stderr)
        return 1
    return 0
