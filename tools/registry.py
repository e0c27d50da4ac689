"""The tools a graph may offer to a model, keyed by the name the model calls."""

from langchain_core.tools import BaseTool

from tools.calculator import calculator
from tools.clock import datetime_tool

__all__ = ["TOOLS"]

TOOLS: dict[str, BaseTool] = {tool.name: tool for tool in (calculator, datetime_tool)}
