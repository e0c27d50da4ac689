"""The one tool executor every graph uses.

``run_tool`` never lets a tool failure escape: it returns a ``ToolResult`` with
``status="error"`` and a message the model can act on. The order of checks is:
unknown tool, arguments (validated strictly against the tool's schema before
the tool runs), timeout, ``ToolError`` raised by the tool, then any other
exception, which is also logged with its traceback. A misconfigured tool
(no ``make_tool`` metadata, no pydantic schema) is a programming error and raises.
"""

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ValidationError

# pydantic, and so LangGraph's state schemas, reject typing.TypedDict before 3.12.
from typing_extensions import TypedDict

from backends.errors import ToolArgumentError, ToolError
from tools.base import args_schema, tool_info
from tools.registry import TOOLS

__all__ = ["MAX_OUTPUT_CHARS", "ToolResult", "bounded", "run_tool", "run_tools", "tool_schemas"]

logger = logging.getLogger(__name__)

_MAX_REPORTED_ERRORS = 3
# Every output goes into a model's prompt, whose window is a few thousand tokens on a
# small engine: a longer one is cut here, saying so, whatever tool produced it.
MAX_OUTPUT_CHARS = 2_000


class ToolResult(TypedDict):
    """Outcome of one tool call, JSON-serialisable for graph state."""

    tool: str
    args: dict[str, Any]
    status: Literal["ok", "error"]
    output: str
    latency_ms: float


def bounded(output: str, limit: int = MAX_OUTPUT_CHARS) -> str:
    """Return ``output`` cut to ``limit`` characters, with a note saying how much was cut."""
    if len(output) <= limit:
        return output
    # The note comes first: the checks read a result's value from its end.
    note = f"[cut: the first part of {len(output)} characters] "
    return note + output[:limit - len(note)]


async def run_tool(
    name: str, args: dict[str, Any], *, tools: Mapping[str, BaseTool] = TOOLS
) -> ToolResult:
    """Validate the arguments, run the named tool under its timeout, and report the outcome.

    Raises:
        ValueError: The tool was not built with ``make_tool`` or has no pydantic
            args schema (a programming error, not the model's).
    """
    started = time.perf_counter()
    # A copy, so later changes to the caller's dict cannot rewrite graph state.
    recorded_args = dict(args) if isinstance(args, Mapping) else {}

    def result(status: Literal["ok", "error"], output: str) -> ToolResult:
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return ToolResult(tool=name, args=recorded_args, status=status,
                          output=bounded(output), latency_ms=latency_ms)

    tool = tools.get(name)
    if tool is None:
        logger.warning("model called unknown tool %r", name)
        return result(
            "error", f"unknown tool {name!r}; available tools: {', '.join(sorted(tools))}"
        )
    info = tool_info(tool)
    schema = args_schema(tool)
    try:
        validated = schema.model_validate(args, strict=True)
    except ValidationError as exc:
        return result("error", _describe_invalid(tool, schema, exc))

    deadline = asyncio.timeout(info.timeout_s)
    try:
        async with deadline:
            output = await tool.ainvoke(validated.model_dump())
    except TimeoutError as exc:
        if not deadline.expired():  # the tool's own TimeoutError, not our deadline
            return result("error", _crashed(name, exc))
        logger.warning("tool %r timed out after %gs", name, info.timeout_s)
        return result("error", f"tool {name!r} timed out after {info.timeout_s:g}s")
    except ToolError as exc:
        level = logging.DEBUG if isinstance(exc, ToolArgumentError) else logging.WARNING
        logger.log(level, "tool %r failed: %s", name, exc)
        return result("error", str(exc))
    except Exception as exc:
        return result("error", _crashed(name, exc))
    return result("ok", output if isinstance(output, str) else str(output))


async def run_tools(
    calls: Sequence[tuple[str, dict[str, Any]]], *, tools: Mapping[str, BaseTool] = TOOLS
) -> list[ToolResult]:
    """Run independent tool calls concurrently; results come back in call order."""
    return list(await asyncio.gather(*(run_tool(name, args, tools=tools) for name, args in calls)))


def tool_schemas(tools: Mapping[str, BaseTool]) -> str:
    """Render tools' names, descriptions and argument schemas as canonical JSON.

    The output is byte-identical for the same tools whatever the mapping's
    order, so prompts that embed it keep a stable, cacheable prefix.
    """
    entries = [
        {
            "name": tool.name,
            "description": tool.description,
            "parameters": args_schema(tool).model_json_schema(),
        }
        for tool in sorted(tools.values(), key=lambda tool: tool.name)
    ]
    return json.dumps(entries, sort_keys=True, separators=(",", ":"))


def _crashed(name: str, exc: Exception) -> str:
    # A bug in a tool must leave a traceback in the logs, not only a line for the model.
    logger.error("tool %r crashed", name, exc_info=exc)
    return f"tool {name!r} failed with {type(exc).__name__}: {exc}"


def _describe_invalid(tool: BaseTool, schema: type[BaseModel], exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:_MAX_REPORTED_ERRORS]:
        field = ".".join(str(part) for part in error["loc"]) or "arguments"
        got = "" if error["type"] == "missing" else f" (got {_short(error['input'])})"
        problems.append(f"{field}: {error['msg']}{got}")
    return (
        f"invalid arguments for {tool.name}: {'; '.join(problems)}.\n"
        f"Expected: {_signature(tool.name, schema)}"
    )


def _signature(name: str, schema: type[BaseModel]) -> str:
    json_schema = schema.model_json_schema()
    required = set(json_schema.get("required", ()))
    params = []
    for field, spec in json_schema.get("properties", {}).items():
        param = f"{field}: {spec.get('type', 'any')}"
        if field not in required and "default" in spec:
            param += f" = {json.dumps(spec['default'])}"
        params.append(param)
    return f"{name}({', '.join(params)})"


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
