"""The graphs served by Aegra under load: ``make bench-server`` (``python -m bench.server``).

Two deployments, one instance and two instances (each on a database of its own in one
PostgreSQL, with its own Redis queue), are measured level by level: clients submit runs
and wait for each (``runs.wait`` on a new thread), round-robin over the deployment's
instances, at 1, 4 and 16 clients at a time. The runs are ``plan_execute`` questions
(``--graph chat``: one short chat reply each). Reported per level: runs per second
(completed runs over the wall time of the level), the p50/p95 of a run's latency
(submit to final state, as the client sees it), the p50/p95 of the run itself (its
record's created to updated time: queueing and execution, without the client's wait),
failed runs, and the share of the prompt tokens the engine found in its prefix cache
(from the runs' own node metrics).

Both deployments stay up and each level is measured on one, then the other, so that load
from other jobs on a shared machine weighs on both alike; each row records the 1-minute
load average when it started. Every instance calls one engine, as production instances
share model servers behind one URL (docs/deploy.md): the embedded llama.cpp engine with
the settings of
backends.toml (``n_parallel`` slots, every core), started in this process and served
over HTTP. The instances reach it as an OpenAI-compatible server (an ``sglang``-kind
entry with ``api = "openai"``: llama.cpp takes the same ``response_format`` JSON
schemas as the embedded backend sends). So one instance and two differ only in the
server in front of the engine. Results go to ``bench/results/<timestamp>-server.json``
with the engine, the model and the commit.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph_sdk import get_client

from backends.config import load_config
from backends.embedded import get_engine
from backends.settings import EmbeddedBackend
from bench.provenance import commit
from serving.api.aegra import Deployment, migrate
from serving.api.serve import local_postgres, local_redis, local_services, running_instances
from serving.api.stack import free_port
from serving.api.venv import AEGRA_VERSION, ensure_venv, find_python, project_root

__all__ = ["LEVELS", "QUICK_RUNS", "RUNS", "WORKLOADS", "Workload", "measure_level", "quantile",
           "run_bench"]

LEVELS = (1, 4, 16)
RUNS = {1: 8, 4: 16, 16: 32}  # runs per level: enough for a p95 at 16 clients
QUICK_RUNS = {1: 2, 4: 4, 16: 16}
RUN_TIMEOUT_S = 1800.0


@dataclass(frozen=True)
class Workload:
    """One kind of run: the graph, its input for a number, and what counts as done."""

    graph: str
    context: dict[str, Any]

    def input(self, n: int) -> dict[str, Any]:
        if self.graph == "chat":
            return {"messages": [{"role": "user", "content": f"Say the number {n}."}]}
        return {"question": f"What is {n} * 3?"}

    def done(self, result: object) -> bool:
        if not isinstance(result, dict) or "__error__" in result:
            return False
        if self.graph == "chat":
            return [m.get("type") for m in result.get("messages", [])] == ["human", "ai"]
        return bool(result.get("answer"))


# plan_execute: split, plan, a calculator step, answer (three to four model calls);
# chat: one short reply (the server's own cost shows more).
WORKLOADS = {"plan_execute": Workload("plan_execute", {}),
             "chat": Workload("chat", {"max_answer_tokens": 8})}


def quantile(values: Sequence[float], q: float) -> float:
    """Return the ``q`` quantile of ``values``, interpolating linearly (numpy's default)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def _server_seconds(client: Any, thread_id: str) -> float:
    # The run's own record: created (queued) to last updated (finalized), in the server's
    # clock. runs.wait on Aegra learns of the end by polling every 2 s, which the
    # client-side latency includes.
    [run] = await client.runs.list(thread_id)
    created = dt.datetime.fromisoformat(str(run["created_at"]))
    updated = dt.datetime.fromisoformat(str(run["updated_at"]))
    return (updated - created).total_seconds()


async def measure_level(urls: Sequence[str], clients: int, runs: int,
                        workload: Workload = WORKLOADS["plan_execute"]) -> dict[str, Any]:
    """Run ``runs`` runs of ``workload``, ``clients`` at a time, round-robin over ``urls``."""
    numbers = itertools.count(11)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(runs):
        queue.put_nowait(i)
    latencies: list[float] = []
    server_side: list[float] = []
    failures: list[str] = []
    tokens = {"prompt": 0, "cached": 0}
    sdk = [get_client(url=url, api_key=None) for url in urls]

    async def client_loop() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            client = sdk[i % len(sdk)]
            n = next(numbers)
            started = time.perf_counter()
            thread = await client.threads.create()
            result = await client.runs.wait(thread["thread_id"], workload.graph,
                                            input=workload.input(n), context=workload.context,
                                            raise_error=False)
            if workload.done(result):
                latencies.append(time.perf_counter() - started)
                server_side.append(await _server_seconds(client, thread["thread_id"]))
                assert isinstance(result, dict)
                for metric in result.get("metrics", []):  # what the engine had to prefill
                    tokens["prompt"] += int(metric.get("prompt_tokens") or 0)
                    tokens["cached"] += int(metric.get("cached_tokens") or 0)
            else:
                failures.append(str(result)[:200])

    started = time.perf_counter()
    try:
        async with asyncio.timeout(RUN_TIMEOUT_S):
            await asyncio.gather(*(client_loop() for _ in range(clients)))
    finally:
        for client in sdk:
            await client.aclose()
    wall = time.perf_counter() - started
    return {"clients": clients, "runs": runs, "completed": len(latencies),
            "failed": len(failures), "failures": failures[:3], "wall_s": wall,
            "runs_per_s": len(latencies) / wall if wall else 0.0,
            "p50_s": quantile(latencies, 0.5), "p95_s": quantile(latencies, 0.95),
            "server_p50_s": quantile(server_side, 0.5),
            "server_p95_s": quantile(server_side, 0.95),
            "prompt_tokens": tokens["prompt"], "cached_tokens": tokens["cached"],
            "cached_share": tokens["cached"] / tokens["prompt"] if tokens["prompt"] else 0.0}


def _engine_backends(folder: Path) -> tuple[Path, dict[str, Any]]:
    embedded = load_config().backend("embedded", key="bench")
    assert isinstance(embedded, EmbeddedBackend)
    engine = get_engine(embedded.engine)
    root = engine.start()
    entry: dict[str, Any] = {"kind": "sglang", "api": "openai", "base_url": root,
                             "model": "embedded", "timeout_s": RUN_TIMEOUT_S, "max_retries": 0,
                             "context_length": 2048}
    # llama.cpp takes JSON schemas (response_format) only, and one sample per request.
    capabilities = {"parallel_sampling": False, "native_tools": False, "regex": False,
                    "ebnf": False, "choices": False}
    lines = ['[chains]', 'planner = ["engine"]', 'drafter = ["engine"]', 'answer = ["engine"]',
             "", "[backends.engine]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in entry.items()]
    lines += ["[backends.engine.capabilities]",
              *(f"{k} = {json.dumps(v)}" for k, v in capabilities.items())]
    path = folder / "backends.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    described = {"engine": "embedded llama.cpp (xllamacpp), shared over HTTP",
                 "model": str(engine.model_path), "n_parallel": embedded.engine.n_parallel,
                 "n_ctx": embedded.engine.n_ctx}
    return path, described


async def _levels(deployments: dict[int, tuple[list[str], Workload]],
                  runs: dict[int, int]) -> list[dict[str, Any]]:
    """Measure each level on every deployment in turn, so that a machine whose load
    drifts (other jobs on the same cores) weighs on both alike."""
    rows = []
    for clients in LEVELS:
        for instances, (urls, workload) in deployments.items():
            load = os.getloadavg()[0]
            row = await measure_level(urls, clients, runs[clients], workload)
            rows.append({"instances": instances, "load_avg_1m": load, **row})
            print(_row(rows[-1]), flush=True)
    return rows


def _row(row: dict[str, Any]) -> str:
    return (f"{row['instances']:>9}  {row['clients']:>7}  {row['completed']:>4}/{row['runs']:<4}"
            f"  {row['runs_per_s']:>6.2f}  {row['p50_s']:>6.1f}  {row['p95_s']:>6.1f}"
            f"  {row['server_p50_s']:>6.1f}  {row['server_p95_s']:>6.1f}"
            f"  {row['failed']:>6}  {row['cached_share']:>6.0%}  {row['load_avg_1m']:>4.1f}")


async def run_bench(quick: bool, out: Path, workload: Workload) -> dict[str, Any]:
    """Measure one instance and two; print the table; write and return the report."""
    root = project_root()
    python = ensure_venv(root, find_python())
    runs = QUICK_RUNS if quick else RUNS
    with tempfile.TemporaryDirectory(prefix="agent-router-bench-server-") as scratch:
        state = Path(scratch)
        backends, engine = _engine_backends(state)
        env = {**os.environ, "AGENT_ROUTER_CONFIG": str(backends)}
        postgres, redis = local_postgres(state, durable=False), local_redis(state, durable=False)
        print(f"{'instances':>9}  {'clients':>7}  {'done':>9}  {'runs/s':>6}  {'p50 s':>6}"
              f"  {'p95 s':>6}  {'run50':>6}  {'run95':>6}  {'failed':>6}  {'cached':>6}"
              f"  {'load':>4}", flush=True)
        with ExitStack() as stack:
            stack.enter_context(local_services([postgres, redis]))
            deployments = {}
            for instances in (1, 2):
                name = f"bench_{instances}"
                deployment = Deployment(root / "langgraph.json", postgres.create_database(name),
                                        redis.url(), queue=name)
                migrate(python, deployment, env, state / f"migrate-{name}.log")
                servers = stack.enter_context(running_instances(
                    python, deployment, [free_port() for _ in range(instances)], state,
                    base_env=env))
                urls = [server.base_url for server in servers]
                # Warm-up: a run through each instance (its first imports the model clients).
                await measure_level(urls, len(urls), len(urls), workload)
                deployments[instances] = (urls, workload)
            rows = await _levels(deployments, runs)
    report = {"scenario": "server", "graph": workload.graph, "context": workload.context,
              "server": f"aegra {AEGRA_VERSION}",
              "commit": commit(), "cpus": os.cpu_count(), "load_avg": os.getloadavg(),
              "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **engine,
              "rows": rows}
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (out / f"{stamp}-server.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out / f'{stamp}-server.json'}")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.server", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few runs per level, for a smoke run")
    parser.add_argument("--out", default="bench/results", help="folder for the JSON report")
    parser.add_argument("--graph", default="plan_execute", choices=sorted(WORKLOADS))
    args = parser.parse_args(argv)
    try:
        asyncio.run(run_bench(args.quick, Path(args.out), WORKLOADS[args.graph]))
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
