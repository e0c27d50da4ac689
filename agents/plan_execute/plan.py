"""The plan a planner model must produce, derived from the enabled tools.

Each step is ``{"tool": <name>, "args": <that tool's own argument schema>}``, a
union discriminated by the tool name. The server enforces the JSON schema while
decoding, so a plan always names a registered tool with well-formed arguments.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Annotated, Any, Literal, Union

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field, create_model

from agents.examples import enabled_examples, nearest_examples
from agents.prompts import PLANNER_EXAMPLES, PLANNER_SYSTEM, plan_request
from backends.errors import GraphConfigError
from tools.registry import TOOLS
from tools.selection import pick

__all__ = [
    "MAX_PLAN_STEPS",
    "dependency_problems",
    "example_turns",
    "plan_model",
    "planner_system",
    "select_tools",
    "tool_line",
]

MAX_PLAN_STEPS = 8


def select_tools(names: Sequence[str] | None) -> tuple[str, ...]:
    """Return the enabled tool names, sorted; None or empty means every ``safe`` tool.

    Network and side-effect tools are opt-in per run: offline they can only fail,
    and every extra choice makes a small planner more likely to pick wrong.
    """
    return tuple(pick(names or None, tags=() if names else ("safe",)))


def _args_schema(tool: BaseTool) -> type[BaseModel]:
    schema = tool.args_schema
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        raise TypeError(f"tool {tool.name!r} needs a pydantic args_schema to be planned")
    return schema


@lru_cache(maxsize=64)
def plan_model(tool_names: tuple[str, ...], max_steps: int) -> type[BaseModel]:
    """Build the pydantic model of a plan over ``tool_names`` with at most ``max_steps``."""
    if not 1 <= max_steps <= MAX_PLAN_STEPS:
        raise GraphConfigError(
            f"max_plan_steps={max_steps} is out of range; use 1 to {MAX_PLAN_STEPS}",
            key="max_plan_steps",
        )
    steps: list[type[BaseModel]] = [
        create_model(
            f"{name.title().replace('_', '')}Step",
            tool=(Literal[name], ...),  # type: ignore[arg-type]
            args=(_args_schema(TOOLS[name]), ...),
            depends_on=(list[Annotated[int, Field(ge=0, lt=MAX_PLAN_STEPS)]],
                        Field(default_factory=list, max_length=3,
                              description="Indexes of earlier steps whose results this needs")),
        )
        for name in tool_names
    ]
    step_type: Any = (
        steps[0] if len(steps) == 1
        else Annotated[Union[tuple(steps)], Field(discriminator="tool")]  # noqa: UP007
    )
    return create_model(
        "Plan", steps=(list[step_type], Field(max_length=max_steps))
    )


def dependency_problems(steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return why a plan's dependencies are unusable: each must name an earlier step."""
    return [f"step {i} depends on step {d}, which does not come before it"
            for i, step in enumerate(steps) for d in step.get("depends_on", []) if d >= i]


def tool_line(tool: BaseTool) -> str:
    """Describe ``tool`` in one prompt line: name, description, and what each argument is."""
    properties = _args_schema(tool).model_json_schema().get("properties", {})
    args = {name: spec.get("description", spec.get("type", "")) for name, spec in
            properties.items()}
    # Schema order, like the examples: it is the order the decoder writes the keys in.
    return f"- {tool.name}: {tool.description} args: {json.dumps(args)}"


def _plan_json(steps: Sequence[Mapping[str, Any]]) -> str:
    # Key order as the schema's (tool, then args): the decoder emits them that way.
    return json.dumps({"steps": list(steps)})


@lru_cache(maxsize=64)
def planner_system(tool_names: tuple[str, ...]) -> str:
    """Render the planner's fixed system prompt for ``tool_names`` (byte-stable)."""
    examples = [f"{plan_request(question)} {_plan_json(steps)}"
                for question, steps in enabled_examples(PLANNER_EXAMPLES, tool_names)]
    return PLANNER_SYSTEM.format(
        tools="\n".join(tool_line(TOOLS[name]) for name in tool_names),
        examples="\n".join(examples),
    )


def example_turns(question: str, tool_names: Sequence[str], count: int) -> list[BaseMessage]:
    """The ``count`` examples most like ``question`` as exchanges, the closest last.

    They come after the fixed system prompt, so its cached prefix is still reused,
    and read as the model's own earlier replies, which a small model imitates most.
    """
    turns: list[BaseMessage] = []
    for example, steps in nearest_examples(question, tool_names, count):
        turns += [HumanMessage(plan_request(example)), AIMessage(_plan_json(steps))]
    return turns
