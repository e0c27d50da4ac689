"""The benchmark suite runs end to end at tiny sizes and writes its report (no timing asserts).

The remote engines are measured through the wire-faithful vLLM and Ollama test servers.
"""

import json

from backends.embedded import get_engine
from bench.run import SMOKE, run_bench
from tests.wire.config import vllm_at, write_backends
from tests.wire.ollama import OllamaWire
from tests.wire.vllm import VLLMWire


async def test_bench_writes_json_markdown_and_plots(tmp_path, model_path):
    report = await run_bench(["embedded"], sizes=SMOKE, out=tmp_path)
    folder = report.parent
    results = json.loads((folder / "results.json").read_text())
    embedded = results["backends"]["embedded"]
    assert embedded["latency"]["requests"] == SMOKE["requests"]
    assert [row["users"] for row in embedded["concurrency"]] == SMOKE["levels"]
    assert embedded["prefix_cache"]["shared_prefix"]["cached_tokens"] > 0
    assert embedded["memory"]["process_rss_mb"] > 0
    assert embedded["process_rss_mb_engine_started"] > 0
    assert embedded["engine"]["n_parallel"] >= 1, "the engine settings, to reproduce the run"
    source = embedded["model_source"]
    assert source["engine"].startswith("llama.cpp") and source["weights"].startswith("GGUF")
    assert len(source["sha256"]) == 64
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
    assert (folder / "scaling_latency.png").stat().st_size > 0
    assert (folder / "prompt_length.png").stat().st_size > 0
    assert (folder / "fan_out.png").stat().st_size > 0


async def test_bench_speaks_each_remote_engines_protocol(tmp_path, monkeypatch, embedded_cfg):
    upstream = get_engine(embedded_cfg.engine).start()
    with VLLMWire(upstream) as vllm, OllamaWire(upstream) as ollama:
        config = write_backends(tmp_path, {
            "embedded": {"kind": "embedded"},
            "wire-vllm": vllm_at(vllm.base_url, model=vllm.served_model_name),
            "wire-ollama": {"kind": "ollama", "base_url": ollama.base_url,
                            "model": ollama.model, "num_ctx": 2048}})
        monkeypatch.setenv("AGENT_ROUTER_CONFIG", str(config))
        report = await run_bench(["wire-vllm", "wire-ollama"], sizes=SMOKE, out=tmp_path)
        chat_paths = {r.path for r in ollama.requests}
    results = json.loads((report.parent / "results.json").read_text())
    for name in ("wire-vllm", "wire-ollama"):
        latency = results["backends"][name]["latency"]
        assert latency["completion_tokens"] > 0, f"{name}: usage read from its own protocol"
        assert latency["ttft_ms"]["p50"] > 0
    assert "/api/chat" in chat_paths, "Ollama is measured over its native API"
    assert results["backends"]["wire-vllm"]["memory"]["server_rss_mb"] > 0
    # The wire servers run in this process: not counted as a server's own processes.
    assert "inside this process" in results["backends"]["wire-vllm"]["memory"]["processes_note"]
    assert results["backends"]["wire-vllm"]["model_source"]["engine"].startswith("vLLM")
    assert results["backends"]["wire-ollama"]["memory"]["model_memory_mb"] > 0
    # Our own costs are measured on the first backend named.
    assert results["ours"]["graph_overhead"]["median_ms"]["graph_and_router"] > 0
