"""The tools a run offers its models, and how a prompt describes each of them."""

from __future__ import annotations

import json
from collections.abc import Sequence

from langchain_core.tools import BaseTool

from tools.base import args_schema
from tools.selection import pick

__all__ = ["select_tools", "tool_line"]


def select_tools(names: Sequence[str] | None) -> tuple[str, ...]:
    """Return the enabled tool names, sorted; None or empty means every ``safe`` tool.

    Network and side-effect tools are opt-in per run: offline they can only fail,
    and every extra choice makes a small planner more likely to pick wrong.
    """
    return tuple(pick(names or None, tags=() if names else ("safe",)))


def tool_line(tool: BaseTool) -> str:
    """Describe ``tool`` in one prompt line: name, description, and what each argument is."""
    properties = args_schema(tool).model_json_schema().get("properties", {})
    args = {name: spec.get("description", spec.get("type", "")) for name, spec in
            properties.items()}
    # Schema order, like the examples: it is the order the decoder writes the keys in.
    return f"- {tool.name}: {tool.description} args: {json.dumps(args)}"
