"""The benchmark suite runs end to end at tiny sizes and writes its report (no timing asserts)."""

import json

from bench.run import SMOKE, run_bench


async def test_bench_writes_json_markdown_and_plots(tmp_path, model_path):
    report = await run_bench(["embedded"], sizes=SMOKE, out=tmp_path)
    folder = report.parent
    results = json.loads((folder / "results.json").read_text())
    embedded = results["backends"]["embedded"]
    assert embedded["latency"]["requests"] == SMOKE["requests"]
    assert [row["users"] for row in embedded["concurrency"]] == SMOKE["levels"]
    assert embedded["prefix_cache"]["shared_prefix"]["cached_tokens"] > 0
    assert embedded["memory"]["process_rss_mb"] > 0
    assert [row["prompt_tokens_requested"] for row in embedded["prompt_length"]] == SMOKE[
        "lengths"]
    ours = results["ours"]
    graph = ours["graph_overhead"]
    assert set(graph["median_ms"]) == {"raw_http", "raw_chatopenai", "router",
                                       "graph_and_router"}
    assert graph["rounds"] == SMOKE["overhead_rounds"] and graph["typical_call_ms"] > 0
    [fan] = ours["fan_out"]
    assert fan["k"] == SMOKE["ks"][0] and fan["server_speedup"] > 0
    # Both clients asked for the same drafts, so the server did the same work for each.
    tokens = fan["completion_tokens_per_round"]
    assert tokens["ours"] == tokens["raw"] > 0
    assert ours["structured"]["ratio"] > 0
    assert results["meta"]["commit"]
    text = report.read_text()
    assert "## Engines" in text and "## Our own costs" in text
    assert (folder / "scaling.png").stat().st_size > 0
    assert (folder / "prompt_length.png").stat().st_size > 0
    assert (folder / "fan_out.png").stat().st_size > 0
