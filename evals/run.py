"""Run the evaluation question set through a graph and write ``results.json`` and ``report.md``.

Each value of ``samples`` (k) is one pass over the questions with
``context={"plan_samples": k}``; graphs that never plan ignore k and run once.
Questions run ``concurrency`` at a time: 1 (the default) keeps each latency
clean, more finishes sooner on a batching engine but every latency then
includes waiting for the others.

Each question's run is recorded by ``evals.record``. For the router graph,
``escalation`` names the larger chain it may escalate to, and ``baseline`` a
chain that every model call of a second, comparison pass goes to ("always the
large model").
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import importlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from agents.context import Context
from backends.config import load_config
from backends.errors import GraphConfigError
from bench.provenance import commit
from evals.meta import check_backends
from evals.questions import QUESTIONS, Question, load_questions
from evals.record import run_question
from evals.report import write_eval_report

__all__ = ["BACKEND_FIELDS", "GRAPHS", "K_AWARE", "EvalSettings", "default_samples",
           "run_eval"]

GRAPHS = ("plan_execute", "react_agent", "router", "chat")
# The router runs plan-and-execute with its own context for tool requests.
K_AWARE = ("plan_execute", "router")
# The Context fields naming the backends each graph calls; --backend sets them all.
BACKEND_FIELDS: dict[str, tuple[str, ...]] = {
    "plan_execute": ("planner_backend", "drafter_backend", "answer_backend"),
    "router": ("router_backend", "chat_backend", "planner_backend", "drafter_backend",
               "answer_backend"),
    "react_agent": ("agent_backend",),
    "chat": ("chat_backend",),
}
SAMPLES_FIELD = "plan_samples"


@dataclass(frozen=True)
class EvalSettings:
    """What to run: the graph, its backend, the ks, which questions, how many at once."""

    graph: str = "plan_execute"
    backend: str | None = None
    samples: tuple[int, ...] = (1,)
    split: str = "test"
    limit: int | None = None
    questions: Path = QUESTIONS
    concurrency: int = 1
    out: Path = Path("bench/results")
    escalation: str | None = None
    baseline: str | None = None
    categories: tuple[str, ...] = ()


def _samples_default() -> int | None:
    fields = {f.name: f for f in dataclasses.fields(Context)}
    chosen = fields.get(SAMPLES_FIELD)
    if chosen is None or not isinstance(chosen.default, int):
        return None
    return chosen.default


def default_samples() -> tuple[int, ...]:
    """Return k = 1 and the graph's default k, or (1,) while the default is 1."""
    default = _samples_default()
    return (1,) if default is None or default == 1 else (1, default)


Pass = tuple[str, int | None, dict[str, Any]]


def _passes(settings: EvalSettings) -> list[Pass]:
    """Return (label, k, context) for each pass over the questions."""
    base: dict[str, Any] = {name: settings.backend for name in BACKEND_FIELDS[settings.graph]
                            if settings.backend}
    if settings.graph == "router" and settings.escalation:
        base["escalation_backend"] = settings.escalation
    if settings.graph not in K_AWARE or _samples_default() is None:
        passes: list[Pass] = [("graph", None, base)]
    else:
        passes = [("graph", k, {**base, SAMPLES_FIELD: k}) for k in settings.samples]
    if settings.baseline:
        always = dict.fromkeys(BACKEND_FIELDS[settings.graph], settings.baseline)
        if settings.graph == "router":
            always["escalation_backend"] = ""
        passes.append((f"always {settings.baseline}", passes[0][1],
                       {**passes[0][2], **always}))
    return passes


async def _pass(graph: Any, settings: EvalSettings, questions: Sequence[Question],
                context: dict[str, Any], remote: set[str], bar: tqdm) -> list[dict[str, Any]]:
    gate = asyncio.Semaphore(settings.concurrency)

    async def one(question: Question) -> dict[str, Any]:
        async with gate:
            record = await run_question(graph, settings.graph, question, context, remote)
        bar.update()
        return record

    return list(await asyncio.gather(*(one(q) for q in questions)))


def _questions(settings: EvalSettings) -> list[Question]:
    if settings.graph not in GRAPHS:
        raise GraphConfigError(f"--graph {settings.graph!r} is not one of {GRAPHS}", key="graph")
    if settings.concurrency < 1 or not settings.samples or min(settings.samples) < 1 \
            or (settings.limit is not None and settings.limit < 1):
        raise GraphConfigError("--concurrency, --limit and every --samples value must be at "
                               "least 1", key="samples")
    questions = [q for q in load_questions(settings.questions, split=settings.split)
                 if not settings.categories or q.category in settings.categories]
    if not questions:
        raise GraphConfigError(f"no {settings.split} question is in the categories "
                               f"{list(settings.categories)}", key="categories")
    return questions[:settings.limit]


async def run_eval(settings: EvalSettings) -> Path:
    """Run the question set as ``settings`` say; return the path of ``report.md``.

    Raises:
        GraphConfigError: The graph, the samples, the questions or the context is invalid.
        BackendUnavailable: No backend of a chain the graph uses is up.
    """
    questions = _questions(settings)
    passes = _passes(settings)
    fields = (*BACKEND_FIELDS[settings.graph],
              *(("escalation_backend",) if settings.escalation else ()))
    checked = await check_backends(fields, [context for _, _, context in passes])
    remote = {name for name, cfg in load_config().backends.items() if not cfg.local}
    graph = importlib.import_module(f"graphs.{settings.graph}").graph
    started = dt.datetime.now(dt.UTC)
    runs = []
    with tqdm(total=len(questions) * len(passes), unit="question") as bar:
        for label, k, context in passes:
            name = f"{settings.graph} {label} k={k or '-'}"
            bar.set_description(f"{name} (warm-up)")
            # One unscored run first, as the bench warms up: it starts the embedded
            # engine and caches the prompt prefixes, so no k pays for that in its time.
            await run_question(graph, settings.graph, questions[0], context)
            bar.set_description(name)
            began = time.perf_counter()
            records = await _pass(graph, settings, questions, context, remote, bar)
            runs.append({"label": label, "k": k, "context": context, "records": records,
                         "wall_s": round(time.perf_counter() - began, 2)})
    sizes = {split: sum(q.split == split for q in questions) for split in ("dev", "test")}
    meta = {"commit": commit(), "started": started.isoformat(), "graph": settings.graph,
            "backend": settings.backend or "graph defaults", **checked,
            "samples": [run["k"] for run in runs],
            "k_note": None if runs[0]["k"] is not None else _k_note(settings.graph),
            "split": settings.split, "questions_file": str(settings.questions),
            "sizes": {"questions": len(questions), **sizes,
                      "categories": dict(sorted(_count(questions).items()))},
            "concurrency": settings.concurrency, "limit": settings.limit,
            "categories": list(settings.categories), "remote_backends": sorted(remote),
            "warm_up": "the first question, run once unscored before each k"}
    folder = settings.out / f"eval-{started.strftime('%Y%m%dT%H%M%SZ')}"
    return write_eval_report({"meta": meta, "runs": runs}, folder)


def _k_note(graph: str) -> str:
    if graph in K_AWARE:
        return f"this build's Context has no {SAMPLES_FIELD} field: ran once"
    return f"{graph} draws no plans, so it ignores k: ran once"


def _count(questions: Sequence[Question]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for question in questions:
        counts[question.category] = counts.get(question.category, 0) + 1
    return counts
