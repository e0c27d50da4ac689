"""StateGraph definitions; each module exports ``build_<name>()`` and a compiled ``graph``."""

from graphs.plan_execute import build_plan_execute

__all__ = ["build_plan_execute"]
