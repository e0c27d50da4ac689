"""The tool-calling agent's two mechanisms: native tool calls, or JSON actions.

One message format, two mechanisms. A chain whose every backend (after the
``local_only`` filter) has native tool calling gets the enabled tools through
``bind_tools``. Any other chain (small local models in it) must reply
with a JSON "action" whose schema the server enforces while decoding: a union of
``{"action": "call", "tool": <name>, "args": <that tool's arguments>}`` per
enabled tool and ``{"action": "final", "answer": ...}``, so an unknown tool or
malformed arguments cannot be written. The action becomes an ordinary
``AIMessage`` with ``tool_calls``, so the graph, checkpoints and Studio see the
same messages either way.

The choice is per chain, not per backend, so a fallback always gets a request it
can serve: a JSON constraint, which every engine enforces.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Annotated, Any, Literal, Union

from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from pydantic import BaseModel, ConfigDict, Field, RootModel, create_model

from agents.react.prompts import REACT_EXAMPLES, REACT_SYSTEM
from agents.toolset import tool_line
from tools.base import args_schema
from tools.registry import TOOLS

__all__ = ["FINAL_MAX_CHARS", "FinalAnswer", "action_message", "action_model", "json_prompt"]

FINAL_MAX_CHARS = 400


class FinalAnswer(BaseModel):
    """The action that ends the agent's turn with an answer."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["final"]
    answer: str = Field(min_length=1, max_length=FINAL_MAX_CHARS)


class _ToolCallAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["call"]


@lru_cache(maxsize=64)
def action_model(tool_names: tuple[str, ...]) -> type[BaseModel]:
    """Build the root model of one action: a call of an enabled tool, or a final answer."""
    calls: list[Any] = [
        create_model(f"Call{name.title().replace('_', '')}", __base__=_ToolCallAction,
                     tool=(Literal[name], ...),  # type: ignore[arg-type]
                     args=(args_schema(TOOLS[name]), ...))
        for name in tool_names
    ]
    action: Any = FinalAnswer
    if calls:
        call = calls[0] if len(calls) == 1 else Annotated[
            Union[tuple(calls)], Field(discriminator="tool")]  # noqa: UP007
        action = Annotated[Union[call, FinalAnswer], Field(discriminator="action")]  # noqa: UP007
    return create_model("Action", __base__=RootModel[action])


def action_message(action: BaseModel, call_id: str, reply: AIMessage) -> AIMessage:
    """Turn a parsed action into the AIMessage a native tool-calling model would send.

    It keeps the raw reply's id, so a client streaming the JSON tokens (Studio,
    ``stream_mode="messages"``) sees this message replace them.
    """
    data = action.model_dump()
    usage = {"id": reply.id, "usage_metadata": reply.usage_metadata,
             "response_metadata": reply.response_metadata}
    if data["action"] == "final":
        return AIMessage(content=data["answer"], **usage)
    call = ToolCall(name=data["tool"], args=data["args"], id=call_id, type="tool_call")
    return AIMessage(content="", tool_calls=[call], **usage)


def _as_action(message: AnyMessage) -> str:
    if isinstance(message, AIMessage) and message.tool_calls:
        return "\n".join(json.dumps({"action": "call", "tool": c["name"], "args": c["args"]})
                         for c in message.tool_calls)
    return json.dumps({"action": "final", "answer": str(message.content)})


def _as_result(tool: str, output: str, ok: bool) -> str:
    return f"Result of {tool}: {output}" if ok else f"{tool} failed: {output}"


@lru_cache(maxsize=64)
def _json_preamble(tool_names: tuple[str, ...]) -> tuple[BaseMessage, ...]:
    system = REACT_SYSTEM.format(tools="\n".join(tool_line(TOOLS[n]) for n in tool_names))
    shown = [example for example in REACT_EXAMPLES if example[1] in tool_names][:1]
    turns: list[BaseMessage] = [SystemMessage(system)]
    for question, tool, args, result, answer in shown:
        call = AIMessage("", tool_calls=[ToolCall(name=tool, args=args, id="example")])
        turns += [HumanMessage(question), AIMessage(_as_action(call)),
                  HumanMessage(_as_result(tool, result, ok=True)),
                  AIMessage(_as_action(AIMessage(answer)))]
    return tuple(turns)


def json_prompt(tool_names: tuple[str, ...], messages: Sequence[AnyMessage]) -> list[BaseMessage]:
    """Render the conversation for a model without native tools (byte-stable prefix).

    Tool calls become the JSON actions the model itself would write, and tool
    results become user turns, which every chat template can show.
    """
    rendered: list[BaseMessage] = list(_json_preamble(tool_names))
    for message in messages:
        if isinstance(message, AIMessage):
            rendered.append(AIMessage(_as_action(message)))
        elif isinstance(message, ToolMessage):
            rendered.append(HumanMessage(_as_result(message.name or "tool", str(message.content),
                                                    ok=message.status != "error")))
        else:
            rendered.append(message)
    return rendered
