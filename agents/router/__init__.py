"""The router graph's state, nodes, route functions and prompts."""

from agents.router.nodes import (
    answer_directly,
    check_answer,
    classify_request,
    make_escalate,
    make_run_tools,
    route_after_check,
    route_request,
)
from agents.router.state import RouteDecision, RouterInput, RouterOutput, RouterState

__all__ = [
    "RouteDecision",
    "RouterInput",
    "RouterOutput",
    "RouterState",
    "answer_directly",
    "check_answer",
    "classify_request",
    "make_escalate",
    "make_run_tools",
    "route_after_check",
    "route_request",
]
