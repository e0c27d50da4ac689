"""The vLLM backend against real vLLM: structured outputs, streaming, the prefix cache,
context overflow and the silent output cut, model info.

Generations stay a few tokens long: vLLM decodes 7-8 tokens a second on these CPUs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import httpx
import openai
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from agents.llm import _ask, call_model
from backends.base import Choice, Grammar, JsonSchema, Regex
from backends.chat import constrained_to, get_chat_model, model_info, translate_error
from backends.errors import ContextTooLong
from backends.router import call_chain
from backends.settings import BackendConfig, GenerationParams, VLLMBackend
from bench.engines import prometheus_values
from serving.vllm.server import VLLMServer
from tests.vllm.conftest import MAX_MODEL_LEN, vllm_entry
from tests.wire.config import write_backends

GREEDY = GenerationParams(temperature=0, max_tokens=8)
SKY = [HumanMessage("Is the sky blue? Answer yes or no.")]
# About 600 tokens of a system prompt shared by two requests: several KV blocks to reuse.
SHARED = "You are a careful assistant. " + " ".join(
    f"Rule {i}: answer briefly and never invent facts about item {i}." for i in range(45))


class Verdict(BaseModel):
    answer: Literal["yes", "no"]
    confidence: Annotated[int, Field(ge=0, le=9)]


def prompt_tokens(server: VLLMServer, text: str) -> int:
    """Count the tokens of a one-message chat prompt with vLLM's own /tokenize."""
    response = httpx.post(f"{server.base_url}/tokenize", timeout=120, json={
        "model": server.served_name, "add_generation_prompt": True,
        "messages": [{"role": "user", "content": text}]})
    response.raise_for_status()
    return int(response.json()["count"])


async def test_model_info_is_the_servers_max_model_len(vllm_cfg: VLLMBackend):
    info = await model_info(vllm_cfg)
    assert (info.model, info.context_length) == (vllm_cfg.model, MAX_MODEL_LEN)


async def test_each_structured_output_kind_is_enforced(vllm_cfg: VLLMBackend):
    base = await get_chat_model(vllm_cfg, GREEDY)
    colour = await constrained_to(base, Choice(("red", "green", "blue")), vllm_cfg).ainvoke(
        [HumanMessage("What colour is grass?")])
    assert colour.content in ("red", "green", "blue")
    verdict = await constrained_to(base, Regex(r"(yes|no)"), vllm_cfg).ainvoke(SKY)
    assert verdict.content in ("yes", "no")
    grammar = await constrained_to(base, Grammar('root ::= "yes" | "no"'), vllm_cfg).ainvoke(SKY)
    assert grammar.content in ("yes", "no")
    wide = await get_chat_model(vllm_cfg, GenerationParams(temperature=0, max_tokens=40))
    reply = await constrained_to(wide, JsonSchema(Verdict), vllm_cfg).ainvoke([HumanMessage(
        "Is water wet? Reply in JSON with an answer and a confidence from 0 to 9.")])
    Verdict.model_validate_json(str(reply.content))


async def test_stream_ends_with_a_finish_reason_and_usage(vllm_cfg: VLLMBackend):
    model = await get_chat_model(vllm_cfg, GenerationParams(temperature=0, max_tokens=6))
    chunks = [c async for c in model.astream([HumanMessage("Count from one to ten.")])]
    assert sum(1 for c in chunks if c.content) >= 2
    assert any(c.response_metadata.get("finish_reason") for c in chunks)
    usage = [c.usage_metadata for c in chunks if c.usage_metadata]
    assert usage and usage[-1]["output_tokens"] == 6 and usage[-1]["input_tokens"] > 0


async def test_a_repeated_prefix_is_reported_as_cached_tokens(vllm_cfg: VLLMBackend):
    model = await get_chat_model(vllm_cfg, GenerationParams(temperature=0, max_tokens=2))
    first = await model.ainvoke([SystemMessage(SHARED), HumanMessage("Name a colour.")])
    second = await model.ainvoke([SystemMessage(SHARED), HumanMessage("Name a fruit.")])
    assert first.usage_metadata and second.usage_metadata
    assert second.usage_metadata["input_tokens"] > 500
    cached = second.usage_metadata.get("input_token_details", {}).get("cache_read", 0)
    assert 0 < cached < second.usage_metadata["input_tokens"], second.usage_metadata


async def test_overflow_is_a_400_on_input_tokens_and_becomes_context_too_long(
        vllm_cfg: VLLMBackend):
    model = await get_chat_model(vllm_cfg, GREEDY)
    with pytest.raises(openai.BadRequestError) as caught:
        await model.ainvoke([HumanMessage("word " * 2000)])
    body = caught.value.body
    assert isinstance(body, dict) and body["param"] == "input_tokens"
    assert f"maximum context length is {MAX_MODEL_LEN} tokens" in body["message"]
    assert isinstance(translate_error(caught.value, vllm_cfg), ContextTooLong)


async def test_an_overflow_moves_the_chain_to_the_larger_embedded_engine(
        vllm_cfg: VLLMBackend, embedded_cfg: BackendConfig):
    prompt = [HumanMessage("word " * 1700 + "\nHow many words?")]  # over 1536, under 2048
    reply, answered_by, attempts = await call_chain(
        "overflow", [vllm_cfg, embedded_cfg], lambda cfg: _ask(cfg, GREEDY, prompt, None))
    assert answered_by.name == embedded_cfg.name
    assert [(a.backend, a.outcome, a.error) for a in attempts] == [
        ("vllm", "failed", "ContextTooLong"), (embedded_cfg.name, "ok", None)]
    assert reply.usage_metadata and reply.usage_metadata["input_tokens"] > MAX_MODEL_LEN


def window_filler(server: VLLMServer, room: int) -> tuple[str, int]:
    """Return a prompt that leaves ``room`` to ``room + 8`` tokens of the window free,
    and the tokens it takes. A list of facts: on repeated words the model stops at once."""
    def prompt(n: int) -> str:
        return ("Here are facts. " + " ".join(f"Fact {i}: item {i} is red." for i in range(n))
                + "\nList more facts like these.")

    low, high = 1, MAX_MODEL_LEN
    while low < high:  # the most facts that still leave ``room``
        middle = (low + high + 1) // 2
        if prompt_tokens(server, prompt(middle)) <= MAX_MODEL_LEN - room:
            low = middle
        else:
            high = middle - 1
    return prompt(low), prompt_tokens(server, prompt(low))


async def test_an_output_budget_past_the_window_is_cut_silently(
        vllm_cfg: VLLMBackend, vllm_server: VLLMServer):
    # The prompt leaves a few tokens; 64 are asked for: vLLM answers 200 with the few.
    text, used = window_filler(vllm_server, 6)
    model = await get_chat_model(vllm_cfg, GenerationParams(temperature=0, max_tokens=64))
    reply = await model.ainvoke([HumanMessage(text)])
    assert reply.usage_metadata and reply.usage_metadata["input_tokens"] == used
    assert reply.usage_metadata["output_tokens"] == MAX_MODEL_LEN - used < 64
    assert reply.response_metadata["finish_reason"] == "length"


async def test_the_silent_cut_shows_in_the_node_metric(
        vllm_server: VLLMServer, vllm_cfg: VLLMBackend, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch):
    path = write_backends(tmp_path, {"vllm": vllm_entry(vllm_server)})
    monkeypatch.setenv("AGENT_ROUTER_CONFIG", str(path))
    _, metric = await call_model(
        "probe", chain="vllm", key="test", params=GenerationParams(temperature=0, max_tokens=64),
        messages=[HumanMessage(window_filler(vllm_server, 6)[0])])
    assert metric["backend"] == "vllm" and metric["completion_tokens"] < 64
    assert metric.get("finish_reason") == "length", metric  # the only sign of the cut


def test_the_process_tree_holds_more_memory_than_metrics_reports(vllm_server: VLLMServer):
    # /metrics counts the API server alone; the engine worker holds the weights and KV cache.
    text = httpx.get(f"{vllm_server.base_url}/metrics", timeout=30).text
    api_server_mb = prometheus_values(text)["process_resident_memory_bytes"] / 2**20
    assert vllm_server.rss_mb() > api_server_mb + 400  # float32 weights alone are ~540 MB
