"""Nodes of the tool-calling (ReAct) agent: think, run the tool calls, think again.

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
import operator
from collections.abc import Sequence
from functools import lru_cache
from typing import Annotated, Any, Literal, NotRequired, Union

from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from langgraph.config import get_stream_writer
from langgraph.graph.message import add_messages
from langgraph.managed import RemainingSteps
from langgraph.runtime import Runtime
from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError, create_model
from typing_extensions import TypedDict

from agents.approval import ask_approval, needs_approval
from agents.context import Context, run_context
from agents.llm import call_model, chain_backends
from agents.metrics import NodeMetric, failed_call, summarize
from agents.planning import select_tools, tool_line
from agents.prompts import REACT_EXAMPLES, REACT_NATIVE_SYSTEM, REACT_SYSTEM
from backends.base import JsonSchema
from backends.chat import capabilities
from backends.errors import GraphConfigError, ReplyCutOff
from backends.settings import GenerationParams
from tools.registry import TOOLS
from tools.runner import ToolResult, run_tools

__all__ = [
    "FinalAnswer", "ReactInput", "ReactOutput", "ReactState", "act", "action_message",
    "action_model", "json_prompt", "route_after_think", "think", "turns_taken",
]

# Room for the longest action: a final answer of FINAL_MAX_CHARS or a tool's arguments.
ACTION_MAX_TOKENS = 320
FINAL_MAX_CHARS = 400

class ReactInput(TypedDict):
    """A conversation; the last user message is the request."""

    messages: Annotated[list[AnyMessage], add_messages]


class ReactOutput(TypedDict):
    """The conversation with the agent's turns, its answer, and what each call cost."""

    messages: list[AnyMessage]
    answer: str
    steps: int
    metrics: list[NodeMetric]
    summary: dict[str, dict[str, float]]


class ReactState(TypedDict):
    """Everything the agent's nodes read and write."""

    messages: Annotated[list[AnyMessage], add_messages]
    steps: NotRequired[int]
    answer: NotRequired[str]
    metrics: Annotated[list[NodeMetric], operator.add]
    summary: NotRequired[dict[str, dict[str, float]]]
    remaining_steps: RemainingSteps


def _args_schema(name: str) -> type[BaseModel]:
    schema = TOOLS[name].args_schema
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        raise TypeError(f"tool {name!r} needs a pydantic args_schema to be called")
    return schema


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
                     args=(_args_schema(name), ...))
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


def turns_taken(messages: Sequence[AnyMessage]) -> int:
    """Count the agent's turns since the last user message (the current request's)."""
    turns = 0
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        turns += isinstance(message, AIMessage)
    return turns


def _stop(turns: int, context: Context, state: ReactState) -> dict[str, Any]:
    results = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    last = f" The last tool result was: {str(results[-1].content)[:200]}" if results else ""
    why = (f"the step budget (max_agent_steps={context.max_agent_steps}) ran out"
           if turns >= context.max_agent_steps else "the run's recursion_limit is too low for "
           f"another tool round (set it to at least {2 * context.max_agent_steps + 2})")
    answer = f"Stopped after {turns} model turns without a final answer: {why}.{last}"
    get_stream_writer()({"event": "budget_exhausted", "turns": turns})
    return {"messages": [AIMessage(answer)], "answer": answer, "steps": turns,
            "summary": summarize(state.get("metrics", []))}


async def think(state: ReactState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the agent chain for the next tool calls or the final answer."""
    context = run_context(runtime.context)
    if context.max_agent_steps < 1:
        raise GraphConfigError(f"max_agent_steps={context.max_agent_steps}; use 1 or more",
                               key="max_agent_steps")
    turns = turns_taken(state["messages"])
    # A tool round takes two more supersteps (act, think): stop cleanly, never with
    # GraphRecursionError, when the run's recursion_limit leaves no room for one.
    if turns >= context.max_agent_steps or state["remaining_steps"] < 3:
        return _stop(turns, context, state)
    tool_names = select_tools(context.tools)
    backends = await chain_backends(context.agent_backend, key="agent_backend",
                                    local_only=context.local_only)
    params = GenerationParams(temperature=context.temperature, max_tokens=ACTION_MAX_TOKENS)
    # Native tool calls only when every backend of the chain has them, so a
    # fallback never receives tools it cannot call; JSON actions work on all.
    if tool_names and all(capabilities(cfg).native_tools for cfg in backends):
        messages: list[BaseMessage] = [SystemMessage(REACT_NATIVE_SYSTEM), *state["messages"]]
        message, metric = await call_model(
            "think", chain=context.agent_backend, key="agent_backend", params=params,
            messages=messages, local_only=context.local_only,
            tools=[TOOLS[name] for name in tool_names])
    else:
        message, metric = await _json_action(tool_names, state, context, params)
    final = {} if message.tool_calls else {
        "answer": str(message.content).strip(),
        "summary": summarize([*state.get("metrics", []), metric])}
    return {"messages": [message], "steps": turns + 1, "metrics": [metric], **final}


async def _json_action(tool_names: tuple[str, ...], state: ReactState, context: Context,
                       params: GenerationParams) -> tuple[AIMessage, NodeMetric]:
    schema = action_model(tool_names)
    try:
        reply, metric = await call_model(
            "think", chain=context.agent_backend, key="agent_backend", params=params,
            messages=json_prompt(tool_names, state["messages"]), constraint=JsonSchema(schema),
            local_only=context.local_only)
    except ReplyCutOff as exc:
        metric = failed_call("think", exc.backend, str(exc.args[0]))
        return AIMessage(f"The model's reply was not a valid action: {exc.args[0]}."), metric
    serial = sum(isinstance(m, AIMessage) for m in state["messages"])
    try:
        return action_message(schema.model_validate_json(str(reply.content)),
                              f"call_{serial}_0", reply), metric
    except ValidationError as exc:
        # Decoding is constrained, so this means the reply was cut off (token limit).
        return AIMessage(f"The model's reply was not a valid action: "
                         f"{exc.errors()[0]['msg']}."), metric


def route_after_think(state: ReactState) -> Literal["act", "__end__"]:
    """Run the tool calls of the agent's last turn, or end when it answered."""
    last = state["messages"][-1]
    return "act" if isinstance(last, AIMessage) and last.tool_calls else "__end__"


async def act(state: ReactState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run every tool call of the last turn concurrently; each result is a ToolMessage.

    Calls that need approval are asked about first, one interrupt each, so that a
    resumed run re-asks nothing it has an answer for and no tool runs twice.
    """
    context = run_context(runtime.context)
    last = state["messages"][-1]
    calls = last.tool_calls if isinstance(last, AIMessage) else []
    outcomes: list[ToolResult | None] = []  # None: run it
    pending: list[tuple[str, dict[str, Any]]] = []
    for index, call in enumerate(calls):
        name, args = call["name"], call["args"]
        if needs_approval(name, context):
            decision = ask_approval(index, name, args)
            if decision.action == "reject":
                outcomes.append(ToolResult(tool=name, args=args, status="error", latency_ms=0.0,
                                           output=decision.rejection))
                continue
            args = decision.args_for(args)
        outcomes.append(None)
        pending.append((name, args))
    ran = iter(await run_tools(pending))
    results = [outcome or next(ran) for outcome in outcomes]
    messages, metrics = [], []
    for index, (call, result) in enumerate(zip(calls, results, strict=True)):
        messages.append(ToolMessage(
            result["output"], tool_call_id=call["id"] or f"call_unnamed_{index}",
            name=call["name"], status="success" if result["status"] == "ok" else "error",
            artifact=result))  # the arguments it ran with (approval may edit them), timing
        metrics.append(NodeMetric(
            node="act", backend=f"tool:{result['tool']}", latency_ms=result["latency_ms"],
            prompt_tokens=0, completion_tokens=0, cached_tokens=0, status=result["status"]))
        get_stream_writer()({"event": "tool_done", "tool": result["tool"],
                             "status": result["status"]})
    return {"messages": messages, "metrics": metrics}
