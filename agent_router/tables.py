"""Fixed-width text tables the commands print."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, TypeAlias

__all__ = ["Commands", "metrics_table", "render_table"]

# What each command module adds its subcommands to.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


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


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Render rows under a header as left-aligned, fixed-width text columns."""
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in (header, *rows)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
