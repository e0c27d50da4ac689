"""``agent-router eval``: turn the command's arguments into a run and print its summary."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from backends.errors import AppError

__all__ = ["parse_samples", "run_command"]

MAX_SAMPLES = 32


def parse_samples(text: str) -> tuple[int, ...]:
    """Read ``--samples`` such as ``1,5`` into distinct ks, in the order given.

    Raises:
        AppError: A value is not a whole number from 1 to MAX_SAMPLES.
    """
    ks: list[int] = []
    for part in text.split(","):
        try:
            k = int(part.strip())
        except ValueError:
            k = 0
        if not 1 <= k <= MAX_SAMPLES:
            raise AppError(f"--samples {text!r}: each k must be a whole number from 1 to "
                           f"{MAX_SAMPLES}, e.g. --samples 1,5")
        if k not in ks:
            ks.append(k)
    return tuple(ks)


def _router_setup(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """Point the router eval at a small model and a larger one; return (escalation, baseline)."""
    from backends.catalogue import DEFAULT_MODEL
    from evals.router_setup import LARGE_CHAIN, write_router_backends

    # Every embedded backend would take AGENT_ROUTER_MODEL: each gets its model in the file.
    small = os.environ.pop("AGENT_ROUTER_MODEL", None) or DEFAULT_MODEL.name
    config = write_router_backends(Path(args.out) / "router-setup", small, args.large_model)
    os.environ["AGENT_ROUTER_CONFIG"] = str(config)
    return LARGE_CHAIN, None if args.no_baseline else LARGE_CHAIN


def run_command(args: argparse.Namespace) -> int:
    """Run the evaluation the arguments describe; return 0 when it ran, 1 when it could not."""
    escalation = baseline = None
    if args.graph == "router" and not args.backend:
        escalation, baseline = _router_setup(args)
    try:
        # Inside the try: importing the graphs loads backends.toml, which may be invalid.
        from evals.questions import QUESTIONS
        from evals.report import summary_markdown
        from evals.run import EvalSettings, default_samples, run_eval

        settings = EvalSettings(
            graph=args.graph, backend=args.backend,
            samples=parse_samples(args.samples) if args.samples else default_samples(),
            split=args.split, limit=args.limit,
            questions=Path(args.questions) if args.questions else QUESTIONS,
            concurrency=args.concurrency, out=Path(args.out), escalation=escalation,
            baseline=baseline,
            categories=tuple(args.categories.split(",")) if args.categories else ())
        report = asyncio.run(run_eval(settings))
    except AppError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    results = json.loads((report.parent / "results.json").read_text(encoding="utf-8"))
    print(summary_markdown(results))
    print(f"written to {report.parent}")
    return 0
