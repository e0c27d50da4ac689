"""A node whose first backend is down still answers, through its chain, and says so."""

import socket
from pathlib import Path

import pytest

from agents.context import Context
from backends.errors import GraphConfigError
from backends.router import NoBackendLeft, reset_breakers
from graphs.plan_execute import graph
from tests.wire.config import vllm_at, write_backends


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def config_with_dead_server(tmp_path: Path, monkeypatch, model_path) -> Path:
    # The breaker stays open for the whole test, however slow the machine.
    dead = vllm_at(f"http://127.0.0.1:{closed_port()}", max_retries=1, retry_backoff_s=0.01,
                   breaker_threshold=2, breaker_cooldown_s=3600)
    path = write_backends(tmp_path, {"embedded": {"kind": "embedded"}, "dead-vllm": dead},
                          {"planner": ["dead-vllm", "embedded"],
                           "answer": ["dead-vllm", "embedded"], "only-dead": ["dead-vllm"]})
    monkeypatch.setenv("AGENT_ROUTER_CONFIG", str(path))
    reset_breakers()
    yield path
    reset_breakers()


async def test_run_completes_on_the_fallback_and_records_it(config_with_dead_server):
    events = []
    final = None
    async for mode, chunk in graph.astream({"question": "What is 17 * 23?"},
                                           stream_mode=["custom", "values"]):
        if mode == "custom":
            events.append(chunk)
        else:
            final = chunk
    # The run's first model call (split_question) meets the dead server and opens its breaker.
    split_metric = next(m for m in final["metrics"] if m["node"] == "split_question")
    assert split_metric["backend"] == "embedded"
    failed = split_metric["fallbacks"]
    assert [f["backend"] for f in failed] == ["dead-vllm", "dead-vllm"], "one retry, then on"
    assert failed[0]["error"] == "BackendUnavailable"
    assert failed[1]["breaker"] == "closed -> open", "the breaker's opening is in the state"
    for node in ("write_plan", "write_answer"):
        metric = next(m for m in final["metrics"] if m["node"] == node)
        assert metric["backend"] == "embedded"
        assert metric["fallbacks"] == [
            {"backend": "dead-vllm", "outcome": "skipped", "error": None,
             "reason": "circuit breaker open", "latency_ms": 0.0, "breaker": None}
        ], "after two failures the breaker skips the dead server without calling it"
    fallback_events = [e for e in events if e["event"] == "fallback"]
    assert [e["node"] for e in fallback_events] == ["split_question", "write_plan",
                                                    "write_answer"]
    assert final["tool_results"][0]["output"] == "391"


async def test_chain_of_dead_servers_fails_naming_what_was_tried(config_with_dead_server):
    with pytest.raises(NoBackendLeft) as caught:
        await graph.ainvoke({"question": "What is 2 + 2?"},
                            context=Context(planner_backend="only-dead"))
    assert "dead-vllm: failed" in str(caught.value)


async def test_unknown_chain_lists_the_configured_names(config_with_dead_server):
    with pytest.raises(GraphConfigError) as caught:
        await graph.ainvoke({"question": "x"}, context=Context(answer_backend="gpu"))
    assert "only-dead" in str(caught.value) and "dead-vllm" in str(caught.value)
