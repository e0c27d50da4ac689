"""Pick a subset of the registry by tool name and/or tag."""

from collections.abc import Mapping, Sequence

from langchain_core.tools import BaseTool

from backends.errors import GraphConfigError
from tools.registry import TOOLS

__all__ = ["pick"]


def pick(
    names: Sequence[str] | None = None,
    *,
    tags: Sequence[str] = (),
    tools: Mapping[str, BaseTool] = TOOLS,
) -> dict[str, BaseTool]:
    """Return the tools named in ``names`` (all if None) that carry every tag in ``tags``.

    Tags are a tool's risk (``safe``, ``network``, ``side_effect``), ``network`` or
    ``offline``, and its topics (``math``, ``time``, ``web``, ``files`` ...).

    Raises:
        GraphConfigError: a name is not registered (the ``tools`` setting is wrong).
    """
    if names is not None:
        unknown = sorted(set(names) - set(tools))
        if unknown:
            raise GraphConfigError(
                f"tools={list(names)!r} names unknown tools {unknown}; registered tools are "
                f"{sorted(tools)}", key="tools")
    chosen = tools if names is None else {name: tools[name] for name in names}
    return {name: tool for name, tool in sorted(chosen.items())
            if set(tags) <= set(tool.tags or ())}
