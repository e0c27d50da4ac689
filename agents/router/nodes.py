"""Nodes of the router graph: classify, answer or run tools, check, escalate once."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agents.chat.prompts import CHAT_SYSTEM
from agents.context import Context, run_context
from agents.inputs import check_fits, text_field
from agents.llm import call_model
from agents.metrics import NodeMetric, failed_call, summarize
from agents.router.prompts import (
    CHECK_SYSTEM,
    COMPLEXITY_OPTIONS,
    COMPLEXITY_SYSTEM,
    KIND_OPTIONS,
    ROUTE_OF_KIND,
    check_request,
    router_messages,
)
from agents.router.state import RouteDecision, RouterState
from backends.base import Choice, read_choice
from backends.errors import ContextTooLong, InputError
from backends.reload import current_config
from backends.settings import GenerationParams

__all__ = [
    "answer_directly",
    "check_answer",
    "classify_request",
    "make_escalate",
    "make_run_tools",
    "route_after_check",
    "route_request",
]

CHAT_MAX_TOKENS = 256


def _run_context(state: RouterState, runtime: Runtime[Context]) -> Context:
    context = run_context(runtime.context)
    return dataclasses.replace(context, local_only=True) if state.get("sensitive") else context


async def _choose(node: str, messages: list[BaseMessage], options: tuple[str, ...],
                  context: Context) -> tuple[str, NodeMetric]:
    reply, metric = await call_model(
        node, chain=context.router_backend, key="router_backend",
        params=GenerationParams(temperature=0.0, max_tokens=4), messages=messages,
        constraint=Choice(options), local_only=context.local_only,
    )
    return read_choice(str(reply.content), options, metric["backend"]), metric


async def _escalation_target(context: Context) -> tuple[str, str]:
    """Return the chain to escalate to ("" for none) and, when there is none, why.

    Raises:
        GraphConfigError: ``escalation_backend`` names no chain or backend. Checked
            before the first model call, so a typo never costs a run its answer.
    """
    if not context.escalation_backend:
        return "", ""
    backends = (await current_config()).chain(context.escalation_backend,
                                              key="escalation_backend")
    if context.local_only and not any(cfg.local for cfg in backends):
        return "", f"; no escalation: {context.escalation_backend} has no backend flagged local"
    return context.escalation_backend, ""


async def classify_request(state: RouterState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Name the request's kind, which routes it to ``chat`` or ``tools``; weigh chat.

    Complexity is only asked when a larger backend (``escalation_backend``) can take
    complex requests: one is configured and, for a sensitive request, it has a
    local backend. Otherwise every chat request is ``simple``. The graph's entry:
    the request is checked first (``agents.inputs``).
    """
    if not isinstance(state.get("sensitive", False), bool):
        raise InputError("'sensitive' must be true or false", field="sensitive")
    context = _run_context(state, runtime)
    request = text_field(state, "request")
    await check_fits(request, field="request", chain=context.router_backend,
                     key="router_backend", local_only=context.local_only)
    escalate_to, why_not = await _escalation_target(context)
    kind, metric = await _choose("classify_request", router_messages(request),
                                 KIND_OPTIONS, context)
    route, metrics, complexity = ROUTE_OF_KIND[kind], [metric], "simple"
    if route == "chat" and escalate_to:
        complexity, weigh = await _choose(
            "classify_request", [SystemMessage(COMPLEXITY_SYSTEM), HumanMessage(request)],
            COMPLEXITY_OPTIONS, context)
        metrics.append(weigh)
    scope = "local backends only (marked sensitive)" if context.local_only else "any backend"
    decision = RouteDecision(route=route, kind=kind, complexity=complexity,
                             local_only=context.local_only, escalate_to=escalate_to,
                             reason=f"{metric['backend']} classified it as {kind} ({route}"
                                    + (f", {complexity}" if route == "chat" else "")
                                    + f"); {scope}{why_not}")
    get_stream_writer()({"event": "route", **decision})
    return {"decision": decision, "metrics": metrics}


def route_request(state: RouterState) -> Literal["answer_directly", "run_tools"]:
    """Send tool work to the plan-and-execute subgraph, the rest to a direct answer."""
    return "run_tools" if state["decision"]["route"] == "tools" else "answer_directly"


async def _chat_answer(node: str, chain: str, key: str, state: RouterState,
                       context: Context) -> tuple[str, NodeMetric]:
    reply, metric = await call_model(
        node, chain=chain, key=key,
        params=GenerationParams(temperature=context.temperature, max_tokens=CHAT_MAX_TOKENS),
        messages=[SystemMessage(CHAT_SYSTEM), HumanMessage(state["request"])],
        local_only=context.local_only,
    )
    return str(reply.content).strip(), metric


async def answer_directly(state: RouterState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Answer a chat request: simple ones on the chat chain, complex ones on the larger."""
    context = _run_context(state, runtime)
    if state["decision"]["complexity"] == "complex":
        chain, key = state["decision"]["escalate_to"], "escalation_backend"
    else:
        chain, key = context.chat_backend, "chat_backend"
    answer, metric = await _chat_answer("answer_directly", chain, key, state, context)
    return {"answer": answer, "metrics": [metric]}


def make_run_tools(
    plan_execute: Runnable[Any, Any],
) -> Callable[..., Coroutine[Any, Any, dict[str, Any]]]:
    """Return the ``run_tools`` node, which hands tool requests to ``plan_execute``.

    ``graphs.router`` passes the compiled plan-and-execute graph in, so the
    dependency stays graphs -> agents. It is called from inside the node, not added
    as a subgraph node, because the run context changes per request
    (``sensitive`` means local backends only) and the state keys differ.
    """

    async def run_tools(
        state: RouterState, runtime: Runtime[Context], config: RunnableConfig
    ) -> dict[str, Any]:
        """Run the plan-and-execute graph on the request, with the same run settings."""
        context = _run_context(state, runtime)
        result = await plan_execute.ainvoke({"question": state["request"]}, config,
                                            context=context)
        return {"answer": result["answer"], "metrics": result["metrics"]}

    return run_tools


async def check_answer(state: RouterState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask a constrained yes/no question: does the answer serve the request?

    A request and answer too long for the checker's window go unchecked (verdict
    ``unchecked``), and are not escalated: the answer stands.
    """
    context = _run_context(state, runtime)
    options = ("yes", "no")
    try:
        reply, metric = await call_model(
            "check_answer", chain=context.router_backend, key="router_backend",
            params=GenerationParams(temperature=0.0, max_tokens=2),
            messages=[SystemMessage(CHECK_SYSTEM),
                      HumanMessage(check_request(state["request"], state["answer"]))],
            constraint=Choice(options), local_only=context.local_only,
        )
    except ContextTooLong as exc:
        metric = failed_call("check_answer", exc.backend,
                             "the request and answer do not fit the checker's window")
        return {"verdict": "unchecked", "metrics": [metric],
                "summary": summarize([*state.get("metrics", []), metric])}
    verdict = read_choice(str(reply.content), options, metric["backend"])
    return {"verdict": verdict, "metrics": [metric],
            "summary": summarize([*state.get("metrics", []), metric])}


def route_after_check(state: RouterState) -> Literal["escalate", "__end__"]:
    """Escalate once when the check said no and a larger backend can take the request.

    A complex chat request was already answered on the larger backend: asking it
    again would be a retry billed as an escalation, so its answer stands.
    """
    decision = state["decision"]
    wanted = (state["verdict"] == "no" and bool(decision["escalate_to"])
              and decision["complexity"] != "complex")
    return "escalate" if wanted and not state.get("escalated") else "__end__"


def make_escalate(
    plan_execute: Runnable[Any, Any],
) -> Callable[..., Coroutine[Any, Any, dict[str, Any]]]:
    """Return the ``escalate`` node, given the compiled plan-and-execute graph."""

    async def escalate(
        state: RouterState, runtime: Runtime[Context], config: RunnableConfig
    ) -> dict[str, Any]:
        """Answer again, once, on the escalation chain.

        A tool request runs plan-and-execute again with every model call on that chain,
        so the new answer still rests on tool results; a chat request is answered there
        directly.
        """
        context = _run_context(state, runtime)
        chain = state["decision"]["escalate_to"]
        if state["decision"]["route"] == "tools":
            larger = dataclasses.replace(context, planner_backend=chain,
                                         drafter_backend=chain, answer_backend=chain)
            result = await plan_execute.ainvoke({"question": state["request"]}, config,
                                                context=larger)
            answer, metrics = result["answer"], list(result["metrics"])
        else:
            answer, metric = await _chat_answer("escalate", chain, "escalation_backend",
                                                state, context)
            metrics = [metric]
        get_stream_writer()({"event": "escalated", "backend": metrics[-1]["backend"]})
        return {"answer": answer, "escalated": True, "metrics": metrics,
                "summary": summarize([*state.get("metrics", []), *metrics])}

    return escalate
