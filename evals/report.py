"""Summarise an evaluation run per category and write ``results.json`` and ``report.md``.

Accuracy is the strict score (``evals.score``) over every question of the
category: a run that ended without an answer is a wrong answer. Beside it, the
lenient score the eval used before, so the change shows. Faithful % is the eval's
own checker (``evals.faithful``) over the tool-route runs that ended with an
answer. Latency and tokens are medians per question.

A report of the test half gives per-category figures only: its individual misses
are never listed, so no one tunes on them. The dev half's misses are listed.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.questions import CATEGORIES
from evals.router_report import router_markdown, router_summary

__all__ = ["markdown_report", "summarize", "summary_markdown", "write_eval_report"]

ANSWER_CHARS = 90  # of each missed answer shown in the report


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _row(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    judged = [r for r in records if not r["crashed"] and r["faithful"] is not None]
    faithful = sum(bool(r["faithful"]) for r in judged)
    correct = sum(bool(r["correct"]) for r in records)
    lenient = sum(bool(r.get("lenient_correct")) for r in records)
    return {
        "questions": len(records),
        "correct": correct,
        "accuracy_pct": _pct(correct, len(records)),
        "lenient_pct": _pct(lenient, len(records)),
        "faithful": faithful,
        "faithful_pct": _pct(faithful, len(judged)),
        "crashes": sum(bool(r["crashed"]) for r in records),
        "median_latency_s": round(statistics.median(r["latency_s"] for r in records), 2),
        "median_tokens": statistics.median(r["tokens"] for r in records),
    }


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Return one summary row per category present (set order), then ``overall``."""
    known = [c for c in CATEGORIES if any(r["category"] == c for r in records)]
    others = sorted({r["category"] for r in records} - set(CATEGORIES))
    rows = {c: _row([r for r in records if r["category"] == c]) for c in [*known, *others]}
    if records:
        rows["overall"] = _row(records)
    return rows


def _cell(value: Any, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value}{suffix}"


def _table(summary: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| category | questions | accuracy | lenient (old) | faithful | no answer "
             "| median latency s | median tokens |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, row in summary.items():
        label = f"**{name}**" if name == "overall" else name
        lines.append(
            f"| {label} | {row['questions']} | {_cell(row['accuracy_pct'], '%')} "
            f"| {_cell(row.get('lenient_pct'), '%')} "
            f"| {_cell(row['faithful_pct'], '%')} | {row['crashes']} "
            f"| {row['median_latency_s']} | {row['median_tokens']:g} |")
    return [*lines, ""]


def _why(record: dict[str, Any]) -> str:
    if record["crashed"]:
        return f"no answer: {record['error'] or 'empty'}"
    reasons = []
    if not record["correct"]:
        reasons.append(f"missing {', '.join(record['missing'])}")
    if record["unsupported"]:
        reasons.append(f"unsupported {', '.join(record['unsupported'])}")
    if record.get("false_claims"):
        reasons.append(f"false {'; '.join(record['false_claims'])}")
    if record["leaks_trace"]:
        reasons.append("copies the trace")
    return "; ".join(reasons)


def _clip(text: str, limit: int = ANSWER_CHARS) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def _misses(records: Sequence[dict[str, Any]]) -> list[str]:
    missed = [r for r in records
              if r["crashed"] or not r["correct"] or r["faithful"] is False]
    if not missed:
        return ["Every answer was right and faithful.", ""]
    lines = ["| id | expected | answer | why |", "| --- | --- | --- | --- |"]
    lines += [f"| {r['id']} | {', '.join(r['expected'])} | {_clip(r['answer'])} "
              f"| {_clip(_why(r))} |" for r in missed]
    return [*lines, ""]


def _comparison(runs: Sequence[dict[str, Any]]) -> list[str]:
    runs = [run for run in runs if run.get("label", "graph") == "graph"]
    if len(runs) < 2:
        return []
    base = runs[0]
    lines = ["## k comparison", ""]
    for run in runs[1:]:
        acc, base_acc = (r["summary"]["overall"]["accuracy_pct"] for r in (run, base))
        ratio = run["wall_s"] / base["wall_s"] if base["wall_s"] else float("nan")
        lines.append(
            f"- k = {run['k']} vs k = {base['k']}: accuracy {acc}% vs {base_acc}% "
            f"({acc - base_acc:+.1f} points); wall time {run['wall_s']} s vs "
            f"{base['wall_s']} s ({ratio:.2f}x).")
    return [*lines, ""]


def _models(meta: dict[str, Any]) -> str:
    shown = []
    for name, model in meta["models"].items():
        sha = f", sha256 {model['sha256']}" if model.get("sha256") else ""
        shown.append(f"{name}: {model['model']}{sha}")
    return "; ".join(shown)


def summary_markdown(results: dict[str, Any]) -> str:
    """Return the run's header, one table per k, and the k comparison."""
    meta = results["meta"]
    sizes = meta["sizes"]
    lines = [f"# Evaluation: {meta['graph']}, {meta['split']} split", "",
             f"Commit {meta['commit']}, started {meta['started']}. Backend: {meta['backend']} "
             f"(models: {_models(meta)}). {sizes['questions']} questions "
             f"({sizes['dev']} dev, {sizes['test']} test), {meta['concurrency']} at a time.", ""]
    if meta.get("k_note"):
        lines += [f"k: {meta['k_note']}.", ""]
    for run in results["runs"]:
        lines += [f"## {_name(run)} (wall time {run['wall_s']} s)", "", *_table(run["summary"])]
    lines += _comparison(results["runs"])
    if meta["graph"] == "router":
        lines += router_markdown(results["runs"])
    return "\n".join(lines)


def _name(run: dict[str, Any]) -> str:
    k = "k = -" if run["k"] is None else f"k = {run['k']}"
    label = run.get("label", "graph")
    return k if label == "graph" else f"{label}, {k}"


def markdown_report(results: dict[str, Any]) -> str:
    """Return the whole report: the summary, then each pass's misses on the dev half only."""
    lines = [summary_markdown(results)]
    if results["meta"]["split"] != "dev":
        lines += ["Misses are listed for the dev half only: this run measured test "
                  "questions, which no one may tune on.", ""]
        return "\n".join(lines)
    for run in results["runs"]:
        lines += [f"## Misses, {_name(run)}", "", *_misses(run["records"])]
    return "\n".join(lines)


def write_eval_report(results: dict[str, Any], folder: Path) -> Path:
    """Add per-run summaries to ``results``, write both files in ``folder``; return report.md."""
    folder.mkdir(parents=True, exist_ok=True)
    for run in results["runs"]:
        run["summary"] = summarize(run["records"])
        if results["meta"]["graph"] == "router":
            run["router_summary"] = router_summary(run["records"])
    (folder / "results.json").write_text(
        json.dumps(results, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    report = folder / "report.md"
    report.write_text(markdown_report(results), encoding="utf-8")
    return report
