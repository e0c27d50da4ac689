"""``agent-router``: ask, manage models, check backends, serve, benchmark and evaluate.

Every command runs in one event loop per process: chat models cache their HTTP
connection pools per loop, so a second ``asyncio.run`` would only rebuild them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import sys
from collections.abc import Sequence

from agent_router.ask import add_ask
from agent_router.listing import add_checks
from agent_router.models import add_models
from agent_router.tables import Commands
from backends.errors import AppError

__all__ = ["OFFLINE_ENV", "dev_command", "main"]

DEV_JOBS = 8  # concurrent runs the dev server executes; the embedded engine batches 4
STUDIO = "https://smith.langchain.com/studio/?baseUrl={api}"
# langgraph dev phones home for analytics and a version check unless told not to.
OFFLINE_ENV = {"LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "true"}


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
    from backends.catalogue import CATALOGUE

    if args.model:  # backends/config.py reads it when the configuration is first loaded
        os.environ["AGENT_ROUTER_MODEL"] = args.model if args.model in CATALOGUE \
            else os.path.abspath(os.path.expanduser(args.model))
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
    for add in (add_ask, add_models, add_checks, _add_bench, _add_eval, _add_servers):
        add(commands)
    return parser


def _add_bench(commands: Commands) -> None:
    bench = commands.add_parser("bench", help="benchmark backends and our own overhead")
    bench.add_argument("--backends", help="comma-separated backend names (default: embedded)")
    bench.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    bench.add_argument("--out", default="bench/results", help="folder for the timestamped run")
    bench.set_defaults(run=_cmd_bench)


def _add_eval(commands: Commands) -> None:
    evaluate = commands.add_parser("eval", help="score a graph on the project's question set")
    evaluate.add_argument("--graph", default="plan_execute",
                          choices=("plan_execute", "react_agent", "router", "chat"))
    evaluate.add_argument("--backend", help="backend or chain for every model call of the graph")
    evaluate.add_argument("--model", help="catalogue name or GGUF file for the embedded engine")
    evaluate.add_argument("--split", default="test", choices=("dev", "test", "all"))
    evaluate.add_argument("--samples", help="plans drawn per question, one run per k, e.g. 1,5 "
                                            "(default: 1 and the graph's default)")
    evaluate.add_argument("--limit", type=int, help="only the first N questions")
    evaluate.add_argument("--questions", help="JSONL question file (default: the project's set)")
    evaluate.add_argument("--concurrency", type=int, default=1,
                          help="questions run at once (default 1: latencies without queueing)")
    evaluate.add_argument("--out", default="bench/results", help="folder for the timestamped run")
    evaluate.add_argument("--categories", help="only these categories, e.g. calendar,units")
    evaluate.add_argument("--large-model", default="qwen2.5-coder-1.5b",
                          help="router: the larger model escalations go to (catalogue name or "
                               "GGUF path), flagged non-local as a remote server would be")
    evaluate.add_argument("--no-baseline", action="store_true",
                          help="router: skip the pass that sends everything to the larger model")
    evaluate.set_defaults(run=_cmd_eval)


def _add_servers(commands: Commands) -> None:
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
