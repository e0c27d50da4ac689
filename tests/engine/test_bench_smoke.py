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
    ours = results["ours"]
    assert set(ours["graph_overhead"]["median_ms"]) == {"raw_http", "raw_chatopenai",
                                                        "graph_and_router"}
    assert ours["fan_out"]["k"] == SMOKE["k"] and ours["structured"]["ratio"] > 0
    assert results["meta"]["commit"]
    text = report.read_text()
    assert "## Engines" in text and "## Our own costs" in text
    assert (folder / "scaling.png").stat().st_size > 0
    assert (folder / "prompt_length.png").stat().st_size > 0
