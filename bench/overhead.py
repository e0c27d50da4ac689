"""What our layer costs, each as a ratio against a baseline run in the same process.

- graph + routing per LLM call vs a raw ChatOpenAI call vs a raw HTTP call. The
  paths take turns in a rotating order and the overhead is the median of the
  per-round differences, so drift in the machine's load cancels out;
- k independent drafts fanned out vs the same drafts one after another, next to
  the same k requests sent raw, concurrently and one by one: the raw ratio is
  what the server itself allows, so their quotient shows what our layer keeps;
- JSON-schema constrained decoding vs free decoding of the same prompt.
"""

from __future__ import annotations

import asyncio
import operator
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, TypedDict

import httpx
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from pydantic import BaseModel, Field, SecretStr

from agents.llm import call_model
from backends.base import JsonSchema
from backends.settings import GenerationParams
from bench.measure import Target, stream_chat

__all__ = ["fan_out", "graph_overhead", "structured_cost"]

PROMPT = "Reply with the word yes."
ONE_TOKEN = GenerationParams(temperature=0, max_tokens=1)
TOPICS = ("a lighthouse", "a market", "a river", "a library", "a forest", "a train",
          "a bakery", "a mountain", "a harbour", "a garden", "a bridge", "a festival",
          "a workshop", "an island", "a museum", "a winter night")


class _State(TypedDict):
    reply: str


class _Verdict(BaseModel):
    answer: str = Field(json_schema_extra={"enum": ["yes", "no"]})
    reason: str = Field(max_length=80)


async def _timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def _one_node_graph(chain: str) -> Any:
    async def ask(state: _State) -> dict[str, str]:
        reply, _ = await call_model("ask", chain=chain, key="bench", params=ONE_TOKEN,
                                    messages=[HumanMessage(PROMPT)])
        return {"reply": str(reply.content)}

    builder = StateGraph(_State)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    return builder.compile()


async def _warm_then_time(calls: Mapping[str, Callable[[], Awaitable[Any]]], rounds: int, *,
                          after_warm: Callable[[], None] = lambda: None
                          ) -> dict[str, list[float]]:
    """Run every call once unmeasured, then time each in every round.

    The order rotates from round to round, so no call always runs first (or right
    after the same other call) and carries that position's cost.
    """
    names = list(calls)
    for call in calls.values():
        await call()
    after_warm()
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        for name in names[i % len(names):] + names[:i % len(names)]:
            times[name].append(await _timed(calls[name]))
    return times


async def graph_overhead(target: Target, chain: str, *, rounds: int,
                         typical_call_ms: float | None = None) -> dict[str, Any]:
    """Per one-token call: raw HTTP, raw ChatOpenAI, our router alone, our graph + router.

    Every path keeps its connection alive, as a real client does, so what differs
    is only the code in between.
    """
    if target.kind == "ollama":
        return {"note": "measured on OpenAI-compatible backends only"}
    body = {"model": target.model, "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": 1, "temperature": 0}
    graph = _one_node_graph(chain)
    async with httpx.AsyncClient(timeout=600) as client:
        raw_model = ChatOpenAI(model=target.model, base_url=f"{target.root}/v1",
                               api_key=SecretStr("not-needed"), default_headers=target.headers,
                               max_completion_tokens=1, temperature=0, max_retries=0,
                               http_async_client=client)

        async def raw_http() -> None:
            (await client.post(f"{target.root}/v1/chat/completions", json=body,
                               headers=target.headers)).raise_for_status()

        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "raw_http": raw_http,
            "raw_chatopenai": lambda: raw_model.ainvoke([HumanMessage(PROMPT)]),
            "router": lambda: call_model("ask", chain=chain, key="bench", params=ONE_TOKEN,
                                         messages=[HumanMessage(PROMPT)]),
            "graph_and_router": lambda: graph.ainvoke({"reply": ""}),
        }
        times = await _warm_then_time(calls, rounds)

    def over(path: str, baseline: str) -> float:
        return _median([a - b for a, b in zip(times[path], times[baseline], strict=True)])

    result: dict[str, Any] = {
        "rounds": rounds, "median_ms": {name: _median(t) for name, t in times.items()},
        "overhead_ms_vs_http": over("graph_and_router", "raw_http"),
        "overhead_ms_vs_chatopenai": over("graph_and_router", "raw_chatopenai"),
        "chatopenai_ms": over("raw_chatopenai", "raw_http"),
        "router_ms": over("router", "raw_chatopenai"),
        "graph_ms": over("graph_and_router", "router"),
        "target_ms": 2.0}
    if typical_call_ms:
        result["typical_call_ms"] = typical_call_ms
        result["overhead_share_of_typical_call"] = round(
            result["overhead_ms_vs_chatopenai"] / typical_call_ms, 4)
    return result


class _Drafts(TypedDict):
    indices: list[int]
    done: Annotated[list[int], operator.add]


class _Draft(TypedDict):
    i: int


def _drafts_graph(chain: str, params: GenerationParams, prompts: list[str],
                  tokens: dict[str, int]) -> Any:
    """START -(Send per index)-> draft -> END, as plan_execute fans out its steps."""
    async def draft(state: _Draft) -> dict[str, list[int]]:
        _, metric = await call_model("draft", chain=chain, key="bench", params=params,
                                     messages=[HumanMessage(prompts[state["i"]])])
        tokens["ours"] = tokens.get("ours", 0) + metric["completion_tokens"]
        return {"done": [state["i"]]}

    def fan(state: _Drafts) -> list[Send]:
        return [Send("draft", _Draft(i=i)) for i in state["indices"]]

    builder = StateGraph(_Drafts)
    builder.add_node("draft", draft, input_schema=_Draft)
    builder.add_conditional_edges(START, fan, ["draft"])
    builder.add_edge("draft", END)
    return builder.compile()


async def fan_out(client: httpx.AsyncClient, target: Target, chain: str, *, k: int,
                  max_tokens: int, rounds: int) -> dict[str, Any]:
    """Wall time of k drafts fanned out vs one after another, ours and raw HTTP alike.

    Ours go through a graph that fans out with ``Send``, as ``plan_execute`` does:
    one run with k drafts, against k runs with one draft each.
    """
    params = GenerationParams(temperature=0, max_tokens=max_tokens)
    # Open-ended prompts, so every draft runs to max_tokens and both modes do equal work.
    prompts = [f"Write a long story about {TOPICS[i % len(TOPICS)]}." for i in range(k)]
    tokens: dict[str, int] = {}
    graph = _drafts_graph(chain, params, prompts, tokens)

    async def ours_one_by_one() -> None:
        for i in range(k):
            await graph.ainvoke({"indices": [i], "done": []})

    async def ours_together() -> None:
        await graph.ainvoke({"indices": list(range(k)), "done": []})

    async def raw(i: int) -> None:
        stats = await stream_chat(client, target, [{"role": "user", "content": prompts[i]}],
                                  max_tokens)
        tokens["raw"] = tokens.get("raw", 0) + stats.completion_tokens

    async def raw_one_by_one() -> None:
        for i in range(k):
            await raw(i)

    async def raw_together() -> None:
        await asyncio.gather(*(raw(i) for i in range(k)))

    modes: dict[str, Callable[[], Awaitable[None]]] = {
        "sequential": ours_one_by_one, "fan_out": ours_together,
        "raw_sequential": raw_one_by_one, "raw_concurrent": raw_together}
    # Warming matters here: the first batch of k allocates the engine's batch buffers
    # and fills every slot's prompt cache, which would bill the first fan-out.
    times = await _warm_then_time(modes, rounds, after_warm=tokens.clear)
    ms = {name: _median(t) for name, t in times.items()}
    speedup = round(ms["sequential"] / ms["fan_out"], 2)
    server_speedup = round(ms["raw_sequential"] / ms["raw_concurrent"], 2)
    return {"k": k, "rounds": rounds, "median_ms": ms, "speedup": speedup,
            "server_speedup": server_speedup,
            "share_of_server_speedup": round(speedup / server_speedup, 2),
            "target_speedup": round(0.6 * k, 2),
            "completion_tokens_per_round": {name: count // (2 * rounds)
                                            for name, count in tokens.items()}}


async def structured_cost(chain: str, *, rounds: int) -> dict[str, Any]:
    """The same JSON-asking prompt decoded freely and under its JSON schema.

    Replies may differ in length, so the cost per output token is compared too.
    """
    params = GenerationParams(temperature=0, max_tokens=40)
    messages = [HumanMessage('Is the sky blue? Reply with JSON only: {"answer": "yes" or "no", '
                             '"reason": a short sentence}.')]
    samples: dict[str, list[tuple[float, int]]] = {"free": [], "constrained": []}

    async def ask(mode: str) -> None:
        started = time.perf_counter()
        _, metric = await call_model(
            mode, chain=chain, key="bench", params=params, messages=messages,
            constraint=JsonSchema(_Verdict) if mode == "constrained" else None)
        samples[mode].append(((time.perf_counter() - started) * 1000,
                              max(metric["completion_tokens"], 1)))

    for mode in samples:  # warm both, then forget the warm-ups
        await ask(mode)
        samples[mode].clear()
    for _ in range(rounds):
        for mode in samples:
            await ask(mode)
    ms = {mode: statistics.median(t for t, _ in rows) for mode, rows in samples.items()}
    per_token = {mode: statistics.median(t / n for t, n in rows)
                 for mode, rows in samples.items()}
    return {"rounds": rounds, "free_ms": round(ms["free"], 1),
            "constrained_ms": round(ms["constrained"], 1),
            "ratio": round(ms["constrained"] / ms["free"], 3),
            "free_tokens": statistics.median(n for _, n in samples["free"]),
            "constrained_tokens": statistics.median(n for _, n in samples["constrained"]),
            "free_ms_per_token": round(per_token["free"], 2),
            "constrained_ms_per_token": round(per_token["constrained"], 2),
            "ratio_per_token": round(per_token["constrained"] / per_token["free"], 3)}
