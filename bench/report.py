"""Write a benchmark run: raw JSON, a Markdown comparison, PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["write_report"]


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows), ""]


def _trio(p: dict[str, float]) -> str:
    return f"{p['p50']} / {p['p90']} / {p['p99']}"


def _measured(results: dict[str, Any]) -> dict[str, Any]:
    return {name: r for name, r in results["backends"].items() if "error" not in r}


def _source(name: str, r: dict[str, Any]) -> str:
    source = r.get("model_source", {})
    if not source:
        return f"- **{name}**: {Path(r['model']).name}"
    where = f" from {source['folder']}" if "folder" in source else ""
    weights = f" ({source['weights']})" if "weights" in source else ""
    line = f"- **{name}**: {source['engine']}, {source['model']}{where}{weights}"
    if "sha256" in source:
        line += f", sha256 {source['sha256'][:16]}…"
    if "converted_from_sha256" in source:
        line += f", converted from the GGUF with sha256 {source['converted_from_sha256'][:16]}…"
    return line + (f"; {source['note']}" if "note" in source else "")


def _started_memory(r: dict[str, Any]) -> str:
    if "process_rss_mb_engine_started" in r:
        return f"this process: {r['process_rss_mb_engine_started']}"
    if "all_processes_rss_mb_engine_started" in r:
        return f"all the server's processes: {r['all_processes_rss_mb_engine_started']}"
    return ""


def _end_memory(memory: dict[str, Any]) -> str:
    parts = []
    if "process_rss_mb" in memory:
        peak = f" (peak {memory['peak_rss_mb']})" if "peak_rss_mb" in memory else ""
        parts.append(f"this process: {memory['process_rss_mb']} MB{peak}")
    if "all_processes_rss_mb" in memory:
        parts.append(f"all {len(memory['processes'])} processes: "
                     f"{memory['all_processes_rss_mb']} MB "
                     f"(peak ≤ {memory['all_processes_peak_rss_mb']})")
    if "server_rss_mb" in memory:
        parts.append(f"API server alone (/metrics): {memory['server_rss_mb']} MB")
    if "kv_cache_usage" in memory:
        parts.append(f"KV cache {memory['kv_cache_usage']:.1%} used")
    shown = {"process_rss_mb", "peak_rss_mb", "all_processes_rss_mb", "processes",
             "all_processes_peak_rss_mb", "server_rss_mb", "kv_cache_usage"}
    parts += [f"{k}: {v}" for k, v in memory.items() if k not in shown]
    return "; ".join(parts)


def _process_lines(backends: dict[str, Any]) -> list[str]:
    lines = []
    for name, r in backends.items():
        found = r["memory"].get("processes")
        if found:
            lines.append(f"{name}'s processes after the run (MB now / peak): " + ", ".join(
                f"{p['name']} (pid {p['pid']}) {p['rss_mb']} / {p['peak_rss_mb']}"
                for p in found) + ".")
    return [*lines, ""] if lines else []


def _engines(results: dict[str, Any]) -> list[str]:
    backends = _measured(results)
    failed = [f"- **{name} failed:** {r['error']}" for name, r in results["backends"].items()
              if "error" in r]
    if not backends:
        return ["## Engines", "", *failed, ""]
    sizes = results["meta"]["sizes"]
    metrics: list[tuple[str, Any]] = [
        ("model", lambda r: Path(r["model"]).name),
        ("context window (tokens)", lambda r: r["context_length"]),
        ("engine settings", lambda r: ", ".join(
            f"{k} {v}" for k, v in r.get("engine", {}).items()
            if v is not None and k != "verbose")),
        ("TTFT p50 / p90 / p99 ms", lambda r: _trio(r["latency"]["ttft_ms"])),
        ("TPOT p50 / p90 / p99 ms", lambda r: _trio(r["latency"]["tpot_ms"])),
        ("end-to-end p50 / p90 / p99 ms", lambda r: _trio(r["latency"]["e2e_ms"])),
        (f"batch of {sizes['batch']}: output tokens/s",
         lambda r: r["throughput"]["output_tokens_per_s"]),
        ("shared prefix: TTFT p50 / p90 / p99 ms",
         lambda r: _trio(r["prefix_cache"]["shared_prefix"]["ttft_ms"])),
        ("varied prefix: TTFT p50 / p90 / p99 ms",
         lambda r: _trio(r["prefix_cache"]["varied_prefix"]["ttft_ms"])),
        ("cached prompt tokens, shared / varied",
         lambda r: f"{r['prefix_cache']['shared_prefix']['cached_tokens']} / "
                   f"{r['prefix_cache']['varied_prefix']['cached_tokens']}"),
        ("memory after the engine started, before any request, MB", _started_memory),
        ("memory after the run", lambda r: _end_memory(r["memory"])),
    ]
    lines = ["## Engines", "", "Models:", "", *(_source(n, r) for n, r in backends.items()), "",
             *(f"{line}\n" for line in results["meta"].get("same_model", [])),
             f"Single requests: {sizes['requests']} prompts of about {sizes['prompt_tokens']} "
             f"tokens, up to {sizes['max_tokens']} output tokens, one at a time. Prefix cache: "
             f"a {sizes['prefix_tokens']}-token system prompt, shared or varied per request.",
             "",
             *_table(["measure", *backends],
                     [[label, *(value(r) for r in backends.values())]
                      for label, value in metrics]),
             *_process_lines(backends), *failed, *([""] if failed else []),
             *_engine_details(backends)]
    start = results["meta"].get("process_rss_mb_at_start")
    if start is not None:
        lines += [f"This process held {start} MB before the run started.", ""]
    return lines


def _engine_details(backends: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for name, r in backends.items():
        lines += [f"### {name}: concurrency scaling", ""]
        lines += _table(["users", "out tok/s", "e2e p50 ms", "e2e p99 ms"],
                        [[s["users"], s["output_tokens_per_s"], s["e2e_ms"]["p50"],
                          s["e2e_ms"]["p99"]] for s in r["concurrency"]])
        lines += [f"### {name}: latency vs prompt length", ""]
        lines += _table(["prompt tokens", "TTFT ms", "e2e ms", "output tokens"],
                        [[p["prompt_tokens"], p["ttft_ms"], p["e2e_ms"], p["completion_tokens"]]
                         for p in r["prompt_length"]])
    return lines


def _ours(ours: dict[str, Any]) -> list[str]:
    if not ours:
        return []
    if "skipped" in ours:
        return ["## Our own costs", "", f"Not measured: {ours['skipped']}.", ""]
    g, f, s = ours["graph_overhead"], ours["fan_out"], ours["structured"]
    lines = ["## Our own costs (ratios against a baseline in the same run)", ""]
    if "median_ms" in g:
        ms = g["median_ms"]
        share = g.get("overhead_share_of_typical_call")
        typical = (f" ({share:.2%} of a typical {g['typical_call_ms']} ms call)"
                   if share is not None else "")
        lines += [f"One-token calls, {g['rounds']} rounds in rotating order; overheads are "
                  "medians of the per-round differences.", "",
                  *_table(["path", "median ms", "overhead vs baseline"], [
                      ["raw HTTP (baseline)", ms["raw_http"], ""],
                      ["raw ChatOpenAI (baseline)", ms["raw_chatopenai"],
                       f"{g['chatopenai_ms']:+} ms vs HTTP (LangChain's own cost)"],
                      ["our router alone (call_model)", ms["router"],
                       f"{g['router_ms']:+} ms vs ChatOpenAI"],
                      ["our graph + router", ms["graph_and_router"],
                       f"{g['overhead_ms_vs_chatopenai']:+} ms vs ChatOpenAI{typical}, "
                       f"{g['overhead_ms_vs_http']:+} ms vs HTTP (target ≤ {g['target_ms']} ms)"],
                  ])]
    else:
        lines += [f"Graph overhead: {g['note']}.", ""]
    lines += [f"Independent drafts, {f[0]['rounds']} rounds, median wall ms; the raw HTTP "
              "speedup is what the server itself allows.", "",
              *_table(["k", "ours one by one", "ours fanned out", "our speedup",
                       "raw HTTP speedup", "share kept", "target"],
                      [[r["k"], r["median_ms"]["sequential"], r["median_ms"]["fan_out"],
                        f"{r['speedup']}x", f"{r['server_speedup']}x",
                        f"{r['share_of_server_speedup']:.0%}", f"{r['target_speedup']}x"]
                       for r in f]),
              f"The same prompt asking for JSON, {s['rounds']} rounds, medians:", "",
              *_table(["decoding", "ms per call", "output tokens", "ms per output token"], [
                  ["free", s["free_ms"], s["free_tokens"], s["free_ms_per_token"]],
                  ["JSON-schema constrained", s["constrained_ms"], s["constrained_tokens"],
                   s["constrained_ms_per_token"]],
                  ["ratio constrained / free", s["ratio"], "", s["ratio_per_token"]]])]
    return lines


def _plots(results: dict[str, Any], folder: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ["(plots skipped: install matplotlib, e.g. pip install -e '.[bench]')"]
    # (file, title, x label, y label, {legend label: (xs, ys)})
    charts: list[tuple[str, str, str, str, dict[str, tuple[list[Any], list[Any]]]]] = [
        ("scaling.png", "Throughput vs concurrent users", "concurrent users",
         "output tokens/s",
         {name: ([row["users"] for row in r["concurrency"]],
                 [row["output_tokens_per_s"] for row in r["concurrency"]])
          for name, r in _measured(results).items()}),
        ("scaling_latency.png", "Latency vs concurrent users", "concurrent users",
         "end-to-end p50 ms",
         {name: ([row["users"] for row in r["concurrency"]],
                 [row["e2e_ms"]["p50"] for row in r["concurrency"]])
          for name, r in _measured(results).items()}),
        ("prompt_length.png", "Latency vs prompt length", "prompt tokens", "TTFT ms",
         {name: ([row["prompt_tokens"] for row in r["prompt_length"]],
                 [row["ttft_ms"] for row in r["prompt_length"]])
          for name, r in _measured(results).items()}),
    ]
    fan = results.get("ours", {}).get("fan_out")
    if fan:
        ks = [r["k"] for r in fan]
        charts.append(("fan_out.png", "Fan-out speedup vs drafts", "drafts at once (k)",
                       "speedup over one by one",
                       {"our graph": (ks, [r["speedup"] for r in fan]),
                        "raw HTTP": (ks, [r["server_speedup"] for r in fan]),
                        "target 0.6k": (ks, [r["target_speedup"] for r in fan])}))
    made = []
    for file, title, xlabel, ylabel, series in charts:
        if not series:  # every backend failed
            continue
        figure, axes = plt.subplots(figsize=(6, 4))
        for label, (xs, ys) in series.items():
            axes.plot(xs, ys, marker="o", label=label)
        axes.set_title(title)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
        axes.set_ylim(bottom=0)  # a cut axis would make small differences look large
        axes.legend()
        figure.tight_layout()
        figure.savefig(folder / file)
        plt.close(figure)
        made.append(f"![{title}]({file})")
    return made


def write_report(results: dict[str, Any], folder: Path) -> Path:
    """Write results.json, plots and report.md into ``folder``; return the report's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results, indent=2))
    meta = results["meta"]
    lines = ["# Benchmark", "",
             f"Commit {meta['commit']}, {meta['started']}, {meta['cpus']} CPUs"
             f"{' (' + meta['cpu_model'] + ')' if meta.get('cpu_model') else ''}, "
             f"sizes: {meta['sizes']}.", "",
             *_engines(results), *_ours(results.get("ours", {})), "## Plots", "",
             *_plots(results, folder), ""]
    report = folder / "report.md"
    report.write_text("\n".join(lines))
    return report
