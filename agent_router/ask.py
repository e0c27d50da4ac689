"""``agent-router ask``: answer a request with a graph, by default the router.

The router sends a chat request to a chat answer and a tool request to
plan-and-execute, so any request gets the graph that fits it; ``--graph`` picks
one. The answer comes first, then the route taken and why, then what each node
cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from agent_router.tables import Commands, metrics_table

__all__ = ["DEFAULT_QUESTION", "GRAPHS", "add_ask", "ask_command", "graph_input"]

GRAPHS = ("router", "plan_execute", "react_agent", "chat")
DEFAULT_QUESTION = "What is 17 * 23?"


def graph_input(graph: str, request: str) -> dict[str, Any]:
    """Return ``graph``'s input for one request, as its input schema names it."""
    if graph == "router":
        return {"request": request}
    if graph == "plan_execute":
        return {"question": request}
    return {"messages": [{"role": "user", "content": request}]}


def _answer(graph: str, result: dict[str, Any]) -> str:
    if "answer" in result:
        return str(result["answer"])
    replies = [m for m in result.get("messages", []) if getattr(m, "type", "") == "ai"]
    return str(replies[-1].content) if replies else ""


async def _run(graph: str, request: str, context: dict[str, Any]) -> dict[str, Any]:
    import importlib

    from agents.context import run_context

    compiled = importlib.import_module(f"graphs.{graph}").graph
    result: dict[str, Any] = await compiled.ainvoke(graph_input(graph, request),
                                                    context=run_context(context))
    return result


def _route_line(result: dict[str, Any]) -> str | None:
    decision = result.get("decision")
    if not decision:
        return None
    escalated = " then escalated after its self-check said no" if result.get("escalated") \
        else ""
    return f"route: {decision['route']} ({decision['reason']}){escalated}"


def ask_command(args: argparse.Namespace) -> int:
    """Run the request through the chosen graph; print the answer, route and costs."""
    from agents.plan_execute.state import describe_problem

    context: dict[str, Any] = {}
    if args.planner_backend:
        context["planner_backend"] = args.planner_backend
    if args.answer_backend:
        context["answer_backend"] = args.answer_backend
    if args.escalation_backend:
        context["escalation_backend"] = args.escalation_backend
    result = asyncio.run(_run(args.graph, args.question, context))
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
        return 0
    print(_answer(args.graph, result))
    for problem in result.get("problems", []):
        print(f"note: {describe_problem(problem)}", file=sys.stderr)
    print()
    route = _route_line(result)
    if route:
        print(route)
    print(metrics_table(result.get("metrics", [])))
    return 0


def add_ask(commands: Commands) -> None:
    """Add ``ask``."""
    ask = commands.add_parser("ask", help="answer a request; the router picks chat or tools")
    ask.add_argument("question", nargs="?", default=DEFAULT_QUESTION)
    ask.add_argument("--graph", default="router", choices=GRAPHS,
                     help="graph to run (default: router, which picks chat or plan_execute)")
    ask.add_argument("--json", action="store_true", help="print the final state as JSON")
    ask.add_argument("--planner-backend", help="backend that writes the plan")
    ask.add_argument("--answer-backend", help="backend that writes the answer")
    ask.add_argument("--escalation-backend",
                     help="router: larger chain or backend to retry on when its check says no")
    ask.set_defaults(run=ask_command)
