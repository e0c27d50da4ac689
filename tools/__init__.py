"""Tools the models can call, and the runner that executes them.

``TOOLS`` maps each tool's name to a LangChain tool, usable with ``bind_tools``
and ``ToolNode``; ``run_tool``/``run_tools`` execute calls with strict argument
validation and per-tool timeouts, returning JSON-friendly ``ToolResult`` dicts.
"""

from tools.arithmetic import evaluate
from tools.base import ToolInfo, tool_info
from tools.registry import TOOLS
from tools.runner import ToolResult, run_tool, run_tools, tool_schemas
from tools.selection import pick

__all__ = [
    "TOOLS",
    "ToolInfo",
    "ToolResult",
    "evaluate",
    "pick",
    "run_tool",
    "run_tools",
    "tool_info",
    "tool_schemas",
]
