"""Router: classify a request, answer it or run tools, self-check, escalate once.

START -> classify_request -> answer_directly | run_tools -> check_answer
      -> (escalate ->) END

run_tools is built here around the compiled plan-and-execute graph, so agents/
never imports graphs/.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agents.context import Context
from agents.router import (
    RouterInput,
    RouterOutput,
    RouterState,
    answer_directly,
    check_answer,
    classify_request,
    make_escalate,
    make_run_tools,
    route_after_check,
    route_request,
)
from agents.sync import sync_and_async
from graphs.plan_execute import graph as plan_execute

__all__ = ["build_router", "graph"]

RouterBuilder = StateGraph[RouterState, Context, RouterInput, RouterOutput]


def build_router() -> RouterBuilder:
    """Return the uncompiled router graph."""
    builder = StateGraph(RouterState, context_schema=Context, input_schema=RouterInput,
                         output_schema=RouterOutput)
    run_tools, escalate = make_run_tools(plan_execute), make_escalate(plan_execute)
    for node in (classify_request, answer_directly, run_tools, check_answer, escalate):
        builder.add_node(node.__name__, sync_and_async(node))
    builder.add_edge(START, "classify_request")
    builder.add_conditional_edges("classify_request", route_request,
                                  ["answer_directly", "run_tools"])
    builder.add_edge("answer_directly", "check_answer")
    builder.add_edge("run_tools", "check_answer")
    builder.add_conditional_edges("check_answer", route_after_check, ["escalate", END])
    builder.add_edge("escalate", END)
    return builder


# classify, answer or tools (a subgraph with its own limit), check, escalate.
RECURSION_LIMIT = 12

graph = build_router().compile(name="router").with_config(recursion_limit=RECURSION_LIMIT)
