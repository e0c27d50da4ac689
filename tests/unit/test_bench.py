"""Benchmark helpers: prompt lengths within the window, prompts, and servers' memory reports."""

import httpx
import pytest

from bench.engines import fitting_lengths, memory, prometheus_values
from bench.measure import Target, percentiles, prompt_of
from tests.wire.faulty import Behaviour, FaultyServer, ok, status

# Shaped as vLLM's /metrics answers: comments, labels (one with a space and a brace),
# a histogram, and a sample with a timestamp.
VLLM_METRICS = """\
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 2.5165824e+09
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="my model {v2}"} 0.125
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="m"} 3.0
vllm:num_requests_running{engine="0",model_name="m"} 2.0 1732400000000
"""

OLLAMA_PS = {"models": [{
    "name": "smollm2:135m", "model": "smollm2:135m", "size": 283115520,
    "digest": "9077fe9d2ae1a4a8", "details": {"format": "gguf", "family": "llama"},
    "expires_at": "2026-11-24T06:00:00.000000000Z", "size_vram": 104857600,
    "context_length": 4096}]}


def _prometheus(text: str) -> Behaviour:
    return Behaviour("whole", 200, text.encode(), content_type="text/plain; version=0.0.4")


def test_lengths_past_the_window_end_the_curve_at_its_cap():
    assert fitting_lengths([64, 256, 1024, 4096], context_length=2048, max_tokens=64) == [
        64, 256, 1024, 1920]
    assert fitting_lengths([256, 64], context_length=None, max_tokens=64) == [64, 256]
    assert fitting_lengths([64, 256], context_length=2048, max_tokens=64) == [64, 256]


def test_prompts_are_fixed_by_their_seed_and_differ_between_seeds():
    assert prompt_of(50, 3) == prompt_of(50, 3)
    assert len(prompt_of(50, 3).split()) == 50
    first_words = {tuple(prompt_of(50, seed).split()[:4]) for seed in range(20)}
    assert len(first_words) == 20, "prompts sharing a prefix would be served from the cache"


def test_percentiles_interpolate_like_numpy():
    values = [float(v) for v in range(100, 0, -1)]
    assert percentiles(values) == {"p50": 50.5, "p90": 90.1, "p99": 99.01, "mean": 50.5}
    assert percentiles([7.0]) == {"p50": 7.0, "p90": 7.0, "p99": 7.0, "mean": 7.0}
    assert percentiles([])["p99"] == 0.0


def test_prometheus_text_is_read_by_metric_name():
    values = prometheus_values(VLLM_METRICS)
    assert values["process_resident_memory_bytes"] == 2.5165824e09
    assert values["vllm:kv_cache_usage_perc"] == 0.125
    assert values["vllm:num_requests_running"] == 2.0


def _target(kind: str, root: str, model: str = "m") -> Target:
    return Target(name=kind, kind=kind, root=root, model=model, headers={})


@pytest.mark.parametrize("kind", ["vllm", "sglang"])
async def test_memory_of_a_prometheus_server(kind):
    with FaultyServer(fixed={"/metrics": _prometheus(VLLM_METRICS)}) as server:
        async with httpx.AsyncClient() as client:
            found = await memory(client, _target(kind, server.base_url))
    # The test server runs in this process, so its processes are not summed.
    assert found == {"server_rss_mb": 2400.0, "kv_cache_usage": 0.125,
                     "processes_note": "the server runs inside this process (a test server)"}
    assert server.paths() == ["/metrics"]


async def test_memory_of_sglang_without_metrics_says_how_to_enable_them():
    with FaultyServer(fixed={"/metrics": status(404, {"detail": "Not Found"})}) as server:
        async with httpx.AsyncClient() as client:
            found = await memory(client, _target("sglang", server.base_url))
    assert "--enable-metrics" in found["note"]


async def test_memory_of_an_ollama_model_from_its_process_list():
    with FaultyServer(fixed={"/api/ps": ok(OLLAMA_PS)}) as server:
        async with httpx.AsyncClient() as client:
            found = await memory(client, _target("ollama", server.base_url, "smollm2:135m"))
            missing = await memory(client, _target("ollama", server.base_url, "qwen3:8b"))
    assert found == {"model_memory_mb": 270.0, "model_vram_mb": 100.0,
                     "processes_note": "the server runs inside this process (a test server)"}
    assert "qwen3:8b is not loaded" in missing["note"]


async def test_memory_when_the_server_is_gone_is_a_note_not_a_crash():
    server = FaultyServer()
    root = server.start()
    server.stop()
    async with httpx.AsyncClient() as client:
        found = await memory(client, _target("vllm", root))
    assert "did not report its memory" in found["note"]
