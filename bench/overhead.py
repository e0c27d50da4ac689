"""What our layer costs, each as a ratio against a baseline run in the same process.

- graph + routing per LLM call vs a raw ChatOpenAI call vs a raw HTTP call,
  interleaved so machine load hits all three alike;
- k independent calls fanned out vs the same calls one after another;
- JSON-schema constrained decoding vs free decoding of the same prompt.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypedDict

import httpx
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field, SecretStr

from agents.llm import call_model
from backends.base import JsonSchema
from backends.settings import GenerationParams
from bench.measure import Target

__all__ = ["fan_out", "graph_overhead", "structured_cost"]

PROMPT = "Reply with the word yes."


class _State(TypedDict):
    reply: str


class _Verdict(BaseModel):
    answer: str = Field(json_schema_extra={"enum": ["yes", "no"]})
    reason: str = Field(max_length=80)


async def _timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


def _one_node_graph(chain: str) -> Any:
    async def ask(state: _State) -> dict[str, str]:
        reply, _ = await call_model("ask", chain=chain, key="bench",
                                    params=GenerationParams(temperature=0, max_tokens=1),
                                    messages=[HumanMessage(PROMPT)])
        return {"reply": str(reply.content)}

    builder = StateGraph(_State)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    return builder.compile()


async def graph_overhead(client: httpx.AsyncClient, target: Target, chain: str, *,
                         rounds: int) -> dict[str, Any]:
    """Median ms per one-token call: raw HTTP, raw ChatOpenAI, our graph + router."""
    raw_model = ChatOpenAI(model=target.model, base_url=f"{target.root}/v1",
                           api_key=SecretStr("not-needed"),
                           max_completion_tokens=1, temperature=0, max_retries=0)
    graph = _one_node_graph(chain)
    body = {"model": target.model, "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": 1, "temperature": 0}

    async def raw_http() -> None:
        (await client.post(f"{target.root}/v1/chat/completions", json=body,
                           headers=target.headers)).raise_for_status()

    calls: dict[str, Callable[[], Awaitable[Any]]] = {
             "raw_http": raw_http,
             "raw_chatopenai": lambda: raw_model.ainvoke([HumanMessage(PROMPT)]),
             "graph_and_router": lambda: graph.ainvoke({"reply": ""})}
    times: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():  # warm every path once
        await call()
    for _ in range(rounds):
        for name, call in calls.items():
            times[name].append(await _timed(call))
    medians = {name: round(statistics.median(values), 2) for name, values in times.items()}
    overhead = medians["graph_and_router"] - medians["raw_http"]
    return {"median_ms": medians, "rounds": rounds,
            "overhead_ms_vs_http": round(overhead, 2),
            "overhead_ms_vs_chatopenai": round(
                medians["graph_and_router"] - medians["raw_chatopenai"], 2),
            "overhead_ratio_vs_http": round(overhead / medians["raw_http"], 4)}


async def fan_out(chain: str, *, k: int, max_tokens: int) -> dict[str, Any]:
    """Wall time of k independent drafts fanned out vs run one after another."""
    params = GenerationParams(temperature=0, max_tokens=max_tokens)

    def draft(i: int) -> Awaitable[Any]:
        return call_model("draft", chain=chain, key="bench", params=params,
                          messages=[HumanMessage(f"Draft item {i}: name a colour.")])

    await draft(-1)
    sequential = await _timed(lambda: _in_order(draft, k))
    parallel = await _timed(lambda: asyncio.gather(*(draft(i) for i in range(k))))
    return {"k": k, "sequential_ms": round(sequential, 1), "fan_out_ms": round(parallel, 1),
            "speedup": round(sequential / parallel, 2),
            "target_speedup": round(0.6 * k, 2)}


async def _in_order(draft: Callable[[int], Awaitable[Any]], k: int) -> None:
    for i in range(k):
        await draft(i)


async def structured_cost(chain: str, *, rounds: int) -> dict[str, Any]:
    """Median latency of the same prompt with and without a JSON-schema constraint."""
    params = GenerationParams(temperature=0, max_tokens=40)
    messages = [HumanMessage("Is the sky blue? Answer with a verdict and a short reason.")]

    async def free() -> None:
        await call_model("free", chain=chain, key="bench", params=params, messages=messages)

    async def constrained() -> None:
        await call_model("constrained", chain=chain, key="bench", params=params,
                         messages=messages, constraint=JsonSchema(_Verdict))

    await free()
    await constrained()
    free_ms = [await _timed(free) for _ in range(rounds)]
    constrained_ms = [await _timed(constrained) for _ in range(rounds)]
    return {"free_ms": round(statistics.median(free_ms), 1),
            "constrained_ms": round(statistics.median(constrained_ms), 1),
            "ratio": round(statistics.median(constrained_ms) / statistics.median(free_ms), 3)}
