"""StateGraph definitions; each module exports ``build_<name>()`` and a compiled ``graph``."""

from graphs.plan_execute import build_plan_execute
from graphs.router import build_router

__all__ = ["build_plan_execute", "build_router"]
