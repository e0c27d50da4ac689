"""Benchmark llama.cpp and a real vLLM that this command starts and stops: ``make bench-vllm``.

Starts vLLM through ``serving/vllm/server.py`` on a free loopback port, serving
the default model converted for it (installing vLLM's virtualenv first if needed),
points the ``vllm`` backend at it with ``AGENT_ROUTER_VLLM_BASE_URL`` and
``AGENT_ROUTER_VLLM_MODEL`` (which ``backends/config.py`` reads), benchmarks
``embedded,vllm`` and stops vLLM's whole process group on every path: the end of the
run, an error, Ctrl-C or SIGTERM. vLLM's log goes to ``<cache>/vllm-bench.log``.

With a vLLM already running (``make vllm`` in another terminal), run the printed
environment line with ``make bench BACKENDS=embedded,vllm`` instead.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from backends.config import cache_dir
from backends.errors import AppError
from backends.model_file import resolve_model_path
from bench.run import QUICK, STANDARD, print_outcome, run_bench
from serving.vllm.server import (
    DEFAULT_KV_CACHE_GB,
    VLLMServer,
    free_port,
    prepare,
    running,
    served_name,
)
from serving.vllm.setup import check_cpu, check_memory

__all__ = ["BACKENDS", "main"]

BACKENDS = ["embedded", "vllm"]


def _progress(elapsed: float, last_line: str) -> None:
    line = last_line.strip().replace("\r", " ")[-60:]
    sys.stderr.write(f"\rwaiting for vLLM: {elapsed:4.0f} s  {line:<60}")
    sys.stderr.flush()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Start vLLM, benchmark ``embedded,vllm`` against it, stop it; return an exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench.with_vllm",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    parser.add_argument("--out", default="bench/results", help="folder for the timestamped run")
    args = parser.parse_args(argv)
    check_cpu()
    python, model_dir = prepare()
    check_memory(DEFAULT_KV_CACHE_GB)
    server = VLLMServer(python, model_dir, served_name(resolve_model_path()),
                        cache_dir() / "vllm-bench.log", free_port())
    server.log_path.unlink(missing_ok=True)
    print(f"starting vLLM on {server.base_url} (log: {server.log_path})", file=sys.stderr)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with running(server, _progress) as up:
            print(f"\nvLLM is ready: {up.base_url}", file=sys.stderr)
            os.environ["AGENT_ROUTER_VLLM_BASE_URL"] = up.base_url
            os.environ["AGENT_ROUTER_VLLM_MODEL"] = up.served_name
            report = asyncio.run(run_bench(BACKENDS, sizes=QUICK if args.quick else STANDARD,
                                           out=Path(args.out)))
    except KeyboardInterrupt:
        print("\ninterrupted; vLLM stopped.", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    return print_outcome(report)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AppError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
