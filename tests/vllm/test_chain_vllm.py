"""Real vLLM inside the product: plan_execute on it end to end, and a server killed
mid-run, with the chain falling back, the breaker opening, and closing after a restart."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from langchain_core.messages import HumanMessage

from agents.context import run_context
from agents.llm import _ask
from backends.router import breaker_for, call_chain
from backends.settings import BackendConfig, GenerationParams, VLLMBackend
from bench.engines import prometheus_values
from graphs.plan_execute import graph
from serving.vllm.server import VLLMServer
from tests.vllm.conftest import MAX_MODEL_LEN, start, vllm_entry
from tests.wire.config import write_backends

SKY = [HumanMessage("Is the sky blue? Answer yes or no.")]


async def test_plan_execute_plans_and_drafts_on_vllm(
        vllm_server: VLLMServer, vllm_cfg: VLLMBackend, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch):
    path = write_backends(tmp_path, {"embedded": {"kind": "embedded"},
                                     "vllm": vllm_entry(vllm_server)},
                          {"planner": ["vllm", "embedded"], "drafter": ["vllm", "embedded"],
                           "answer": ["embedded"]})
    monkeypatch.setenv("AGENT_ROUTER_CONFIG", str(path))
    result = await graph.ainvoke({"question": "What is 17 * 23?"}, context=run_context({
        "planner_backend": "planner", "drafter_backend": "drafter", "answer_backend": "answer"}))
    # The split's schema reaches the server first, and vLLM keeps the structured-output
    # backend its first request chose: the plan's schema must compile on that one too.
    on_vllm = [m for m in result["metrics"]
               if m["node"] in ("split_question", "write_plan", "draft_step")]
    assert on_vllm and all(m["backend"] == "vllm" for m in on_vllm), result["metrics"]
    assert [m["node"] for m in on_vllm][:2] == ["split_question", "write_plan"]
    assert any(m["node"] == "write_plan" and m["completion_tokens"] > 0 for m in on_vllm)
    assert str(result["answer"]).strip()


async def running_requests(client: httpx.AsyncClient, server: VLLMServer) -> float:
    response = await client.get(f"{server.base_url}/metrics")
    return prometheus_values(response.text).get("vllm:num_requests_running", 0.0)


async def test_a_killed_server_falls_back_then_its_breaker_closes_after_a_restart(
        vllm_server: VLLMServer, vllm_cfg: VLLMBackend, embedded_cfg: BackendConfig):
    cfg = vllm_cfg.model_copy(update={"max_retries": 0, "breaker_threshold": 1,
                                      "breaker_cooldown_s": 1.0})
    chain = [cfg, embedded_cfg]
    story = [HumanMessage("Write a long story about a dragon.")]
    # On vLLM, as long as the context window allows (about a minute here; 300 tokens once
    # ended in CI before a poll saw it running); it is killed as soon as it is seen running.
    # On the fallback, a few tokens.
    params = {"vllm": GenerationParams(temperature=0, max_tokens=MAX_MODEL_LEN - 100),
              embedded_cfg.name: GenerationParams(temperature=0, max_tokens=8)}
    started = time.monotonic()
    call = asyncio.create_task(call_chain(
        "kill", chain, lambda c: _ask(c, params[c.name], story, None)))
    async with httpx.AsyncClient(timeout=10) as client:
        while await running_requests(client, vllm_server) < 1:
            if call.done():
                reply, _, _ = call.result()
                pytest.fail(f"the request ended before the server was killed, after "
                            f"{time.monotonic() - started:.1f} s: {reply.usage_metadata}")
            await asyncio.sleep(0.05)
    assert vllm_server.process is not None
    os.killpg(vllm_server.process.pid, signal.SIGKILL)
    reply, answered_by, attempts = await call
    assert answered_by.name == embedded_cfg.name and str(reply.content).strip()
    assert (attempts[0].backend, attempts[0].outcome, attempts[0].error, attempts[0].breaker) \
        == ("vllm", "failed", "BackendUnavailable", "closed -> open")
    assert breaker_for(cfg).state != "closed"

    await asyncio.to_thread(vllm_server.stop)
    await asyncio.to_thread(start, vllm_server)  # the same port
    short = GenerationParams(temperature=0, max_tokens=4)
    _, answered_by, attempts = await call_chain("kill", chain,
                                                lambda c: _ask(c, short, SKY, None))
    assert answered_by.name == "vllm"
    assert attempts[-1].breaker == "half-open -> closed"
    assert breaker_for(cfg).state == "closed"
