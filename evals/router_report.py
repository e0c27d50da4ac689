"""The router measured the way the routers it competes with publish their figures.

For each run of the router graph: how often it routes right (a confusion matrix
of the labelled route against the route taken), the share of requests that
reached the larger chain (routed there as complex, or escalated after the
self-check said no), answer accuracy against a pass that sends everything to the
larger chain, the router's own added latency (its classify and check calls) at
p50 and p95, and sensitive requests that reached a backend not flagged local,
which must be 0. A request labelled complex that may use no larger chain (none is
configured, or it is sensitive and none is local) is expected to stay simple:
complexity is only asked when there is somewhere to send a complex request.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

__all__ = ["LABELS", "router_markdown", "router_summary"]

LABELS = ("tools", "chat/simple", "chat/complex")


def _label(route: str | None, complexity: str | None) -> str:
    return "tools" if route == "tools" else f"chat/{complexity or 'simple'}"


def _kept_simple(record: dict[str, Any]) -> bool:
    """Whether a request labelled complex had no larger chain it may use (none
    configured, or it is sensitive and none is local): the router then never weighs
    complexity, and the request rightly stays simple."""
    return record["complexity"] == "complex" and not record["decision"]["escalate_to"]


def _wanted(record: dict[str, Any]) -> str:
    if _kept_simple(record):
        return "chat/simple"
    return _label(record["route"], record["complexity"])


def _percentile(values: Sequence[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def router_summary(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Summarise a router pass: confusion, escalation, latency added, privacy."""
    routed = [r for r in records if r.get("decision")]
    confusion = {want: dict.fromkeys(LABELS, 0) for want in LABELS}
    for record in routed:
        got = _label(record["decision"]["route"], record["decision"]["complexity"])
        confusion[_wanted(record)][got] += 1
    right = sum(confusion[label][label] for label in LABELS)
    larger = [r for r in routed if r["escalated"] or r["decision"]["complexity"] == "complex"]
    added = [float(r["router_ms"]) for r in routed]
    sensitive = [r for r in records if r["sensitive"]]
    return {
        "requests": len(records), "routed": len(routed),
        "route_accuracy_pct": round(100 * right / len(routed), 1) if routed else None,
        "confusion": confusion,
        "complex_kept_simple": sum(_kept_simple(r) for r in routed),
        "escalated_after_check": sum(r["escalated"] for r in routed),
        "to_larger_pct": round(100 * len(larger) / len(routed), 1) if routed else None,
        "router_ms_p50": _percentile(added, 0.5), "router_ms_p95": _percentile(added, 0.95),
        "median_latency_s": statistics.median(r["latency_s"] for r in records)
        if records else None,
        "sensitive": len(sensitive),
        "sensitive_left_local": sum(bool(r["remote_backends"]) for r in sensitive),
    }


def _matrix(confusion: dict[str, dict[str, int]]) -> list[str]:
    lines = ["| labelled \\ routed | " + " | ".join(LABELS) + " |",
             "| --- | " + " | ".join("---:" for _ in LABELS) + " |"]
    lines += [f"| {want} | " + " | ".join(str(row[got]) for got in LABELS) + " |"
              for want, row in confusion.items()]
    return lines


def router_markdown(runs: Sequence[dict[str, Any]]) -> list[str]:
    """Return the report's router section, comparing the router with the baseline pass."""
    graph = next((run for run in runs if run.get("label", "graph") == "graph"), None)
    if graph is None:
        return []
    summary = graph["router_summary"]
    lines = ["## The router", "",
             f"Route accuracy {summary['route_accuracy_pct']}% of {summary['routed']} "
             "requests routed:", "", *_matrix(summary["confusion"]), "",
             f"- labelled complex but with no larger chain they may use (none configured, or "
             f"sensitive and none local), so expected simple: "
             f"{summary.get('complex_kept_simple', 0)}",
             f"- reached the larger chain: {summary['to_larger_pct']}% (routed there as "
             f"complex, or escalated after the self-check; {summary['escalated_after_check']} "
             "escalated after the check)",
             f"- the router's own added latency (classify + check): p50 "
             f"{summary['router_ms_p50']} ms, p95 {summary['router_ms_p95']} ms",
             f"- sensitive requests that reached a backend not flagged local: "
             f"{summary['sensitive_left_local']} of {summary['sensitive']}"]
    for other in runs:
        if other is graph or other.get("label", "graph") == "graph":
            continue
        ours, theirs = (run["summary"]["overall"] for run in (graph, other))
        ratio = (ours["median_latency_s"] / theirs["median_latency_s"]
                 if theirs["median_latency_s"] else float("nan"))
        lines.append(
            f"- answer accuracy through the router {ours['accuracy_pct']}% against "
            f"{theirs['accuracy_pct']}% when {other['label'].removeprefix('always ')} answers "
            f"everything; median seconds per request {ours['median_latency_s']} against "
            f"{theirs['median_latency_s']} ({ratio:.2f}x)")
    return [*lines, ""]
