"""StateGraph definitions; each module exports ``build_<name>()`` and a compiled ``graph``."""

from graphs.chat import build_chat
from graphs.plan_execute import build_plan_execute
from graphs.react_agent import build_react_agent
from graphs.router import build_router

__all__ = [
    "build_chat",
    "build_plan_execute",
    "build_react_agent",
    "build_router",
]
