"""Tool-calling (ReAct) agent on one backend chain: think, run the tools, repeat.

START -> think -(tool calls)-> act -> think ... -(answer)-> END

``think`` takes at most ``max_agent_steps`` model turns per user message, then
ends with an answer saying the budget ran out. Each tool round costs two
supersteps, so the run's ``recursion_limit`` (the exported graph defaults to
RECURSION_LIMIT, enough for the largest budget) must be at least
``2 * max_agent_steps + 2``; below that the agent also stops cleanly, with an
answer naming the limit, instead of raising ``GraphRecursionError``.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agents.context import Context
from agents.react import ReactInput, ReactOutput, ReactState, act, route_after_think, think
from agents.sync import sync_and_async

__all__ = ["build_react_agent", "graph"]

ReactBuilder = StateGraph[ReactState, Context, ReactInput, ReactOutput]


def build_react_agent() -> ReactBuilder:
    """Return the uncompiled tool-calling agent graph."""
    builder = StateGraph(ReactState, context_schema=Context, input_schema=ReactInput,
                         output_schema=ReactOutput)
    builder.add_node("think", sync_and_async(think))
    builder.add_node("act", sync_and_async(act))
    builder.add_edge(START, "think")
    builder.add_conditional_edges("think", route_after_think, ["act", END])
    builder.add_edge("act", "think")
    return builder


# Two supersteps per tool round at the largest max_agent_steps (20), plus the last
# think; the agent itself stops cleanly before this is reached.
RECURSION_LIMIT = 2 * 20 + 2

graph = build_react_agent().compile(name="react_agent").with_config(
    recursion_limit=RECURSION_LIMIT)
