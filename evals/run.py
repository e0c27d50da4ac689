"""Run the evaluation question set through a graph and write ``results.json`` and ``report.md``.

Each value of ``samples`` (k) is one pass over the questions with
``context={"plan_samples": k}``; graphs that never plan ignore k and run once.
Questions run ``concurrency`` at a time: 1 (the default) keeps each latency
clean, more finishes sooner on a batching engine but every latency then
includes waiting for the others.

A run counts as crashed when the graph raised or ended without an answer. Its
tool results are gathered from the stream of every (sub)graph, so the router,
which runs plan-and-execute inside a node, is checked against them as well.
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

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from tqdm import tqdm

from agents.context import Context
from backends.errors import GraphConfigError
from bench.provenance import commit
from evals.meta import check_backends
from evals.questions import QUESTIONS, Question, load_questions, resolve_expected
from evals.report import write_eval_report
from evals.score import faithfulness, score_answer, sources_of

__all__ = ["BACKEND_FIELDS", "GRAPHS", "K_AWARE", "EvalSettings", "default_samples",
           "run_eval", "run_question"]

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


def _contexts(settings: EvalSettings) -> list[tuple[int | None, dict[str, Any]]]:
    base: dict[str, Any] = {name: settings.backend for name in BACKEND_FIELDS[settings.graph]
                            if settings.backend}
    if settings.graph not in K_AWARE or _samples_default() is None:
        return [(None, base)]
    return [(k, {**base, SAMPLES_FIELD: k}) for k in settings.samples]


def _input(graph: str, question: str) -> dict[str, Any]:
    if graph == "plan_execute":
        return {"question": question}
    if graph == "router":
        return {"request": question}
    return {"messages": [HumanMessage(question)]}


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(part if isinstance(part, str) else str(part.get("text", ""))
                   for part in content)


def _final_answer(graph: str, final: dict[str, Any]) -> str:
    if graph in ("plan_execute", "router"):
        return str(final.get("answer") or "")
    replies = [m for m in final.get("messages", []) if isinstance(m, AIMessage)]
    return _text(replies[-1]) if replies else ""


def _message_results(final: dict[str, Any]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for message in final.get("messages", []):
        if isinstance(message, AIMessage):
            results += [{"tool": call["name"], "args": call["args"], "output": ""}
                        for call in message.tool_calls]
        elif isinstance(message, ToolMessage):
            results.append({"tool": message.name or "", "args": {}, "output": _text(message)})
    return results


async def _stream(graph: Any, graph_name: str, question: str, context: dict[str, Any],
                  seen: dict[str, Any]) -> None:
    # Fills ``seen`` as the run goes, so a run that raises keeps what it got to.
    async for namespace, mode, chunk in graph.astream(
            _input(graph_name, question), context=context, stream_mode=["updates", "values"],
            subgraphs=True):
        if mode == "values" and not namespace:
            seen["final"] = chunk
            continue
        if mode != "updates":
            continue
        for update in chunk.values():
            if not isinstance(update, dict):
                continue
            seen["tool_results"] = [*seen["tool_results"], *update.get("tool_results", [])]
            for key in ("plan", "vote"):
                if update.get(key) is not None:
                    seen[key] = update[key]


def _answer_check(metrics: Sequence[dict[str, Any]]) -> str | None:
    checks = [m["answer_check"] for m in metrics
              if m.get("node") == "write_answer" and "answer_check" in m]
    return str(checks[-1]) if checks else None


async def run_question(graph: Any, graph_name: str, question: Question,
                       context: dict[str, Any]) -> dict[str, Any]:
    """Run one question and return its record: answer, score, faithfulness, cost."""
    today = dt.datetime.now(dt.UTC).date()
    record: dict[str, Any] = {
        "id": question.id, "split": question.split, "category": question.category,
        "question": question.question,
        "expected": [resolve_expected(item, today).label() for item in question.expected],
        "today": today.isoformat(), "error": None,
    }
    seen: dict[str, Any] = {"final": {}, "tool_results": [], "plan": None, "vote": None}
    started = time.perf_counter()
    try:
        await _stream(graph, graph_name, question.question, context, seen)
    # A crash is what this measures: any error the graph raises is recorded and
    # counted, with its type, and the next question runs.
    except Exception as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
    record["latency_s"] = round(time.perf_counter() - started, 3)
    final = seen["final"]
    answer = _final_answer(graph_name, final).strip()
    metrics = final.get("metrics", [])
    tool_results = seen["tool_results"] or _message_results(final)
    record.update({
        "answer": answer,
        "crashed": record["error"] is not None or not answer,
        "prompt_tokens": sum(int(m.get("prompt_tokens", 0)) for m in metrics),
        "completion_tokens": sum(int(m.get("completion_tokens", 0)) for m in metrics),
        "plan": final.get("plan", seen["plan"]),
        "tool_results": [{key: r.get(key) for key in ("tool", "args", "status", "output")}
                         for r in tool_results],
        "answer_check": _answer_check(metrics),
        "vote": seen["vote"] if seen["vote"] is not None else final.get("vote"),
        "problems": final.get("problems", []),
    })
    record["tokens"] = record["prompt_tokens"] + record["completion_tokens"]
    if record["crashed"]:
        record.update(correct=False, missing=record["expected"], faithful=None,
                      unsupported=[], leaks_trace=False)
        return record
    correct, missing = score_answer(question, answer, today)
    faithful, unsupported, leaked = faithfulness(
        answer, sources_of(question.question, tool_results))
    record.update(correct=correct, missing=missing, faithful=faithful,
                  unsupported=unsupported, leaks_trace=leaked)
    return record


async def _pass(graph: Any, settings: EvalSettings, questions: Sequence[Question],
                context: dict[str, Any], bar: tqdm) -> list[dict[str, Any]]:
    gate = asyncio.Semaphore(settings.concurrency)

    async def one(question: Question) -> dict[str, Any]:
        async with gate:
            record = await run_question(graph, settings.graph, question, context)
        bar.update()
        return record

    return list(await asyncio.gather(*(one(q) for q in questions)))


async def run_eval(settings: EvalSettings) -> Path:
    """Run the question set as ``settings`` say; return the path of ``report.md``.

    Raises:
        GraphConfigError: The graph, the samples, the questions or the context is invalid.
        BackendUnavailable: No backend of a chain the graph uses is up.
    """
    if settings.graph not in GRAPHS:
        raise GraphConfigError(f"--graph {settings.graph!r} is not one of {GRAPHS}", key="graph")
    if settings.concurrency < 1 or not settings.samples or min(settings.samples) < 1 \
            or (settings.limit is not None and settings.limit < 1):
        raise GraphConfigError("--concurrency, --limit and every --samples value must be at "
                               "least 1", key="samples")
    questions = load_questions(settings.questions, split=settings.split, limit=settings.limit)
    contexts = _contexts(settings)
    checked = await check_backends(BACKEND_FIELDS[settings.graph],
                                   [context for _, context in contexts])
    graph = importlib.import_module(f"graphs.{settings.graph}").graph
    started = dt.datetime.now(dt.UTC)
    runs = []
    with tqdm(total=len(questions) * len(contexts), unit="question") as bar:
        for k, context in contexts:
            bar.set_description(f"{settings.graph} k={k or '-'} (warm-up)")
            # One unscored run first, as the bench warms up: it starts the embedded
            # engine and caches the prompt prefixes, so no k pays for that in its time.
            await run_question(graph, settings.graph, questions[0], context)
            bar.set_description(f"{settings.graph} k={k or '-'}")
            began = time.perf_counter()
            records = await _pass(graph, settings, questions, context, bar)
            runs.append({"k": k, "context": context, "records": records,
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
