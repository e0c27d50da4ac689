"""Nodes of the tool-calling (ReAct) agent: think, run the tool calls, think again.

``think`` asks the agent chain for the next tool calls or the final answer, with
native tool calls or schema-enforced JSON actions (``agents.react.actions``);
``act`` runs the calls of the last turn concurrently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from pydantic import ValidationError

from agents.approval import ask_approval, needs_approval
from agents.context import Context, run_context
from agents.inputs import check_fits, newest_request
from agents.llm import call_model, chain_backends
from agents.metrics import NodeMetric, failed_call, summarize
from agents.react.actions import action_message, action_model, json_prompt
from agents.react.prompts import REACT_NATIVE_SYSTEM
from agents.react.state import ReactState
from agents.toolset import select_tools
from backends.base import JsonSchema
from backends.chat import capabilities
from backends.errors import ContextTooLong, GraphConfigError, ReplyCutOff
from backends.settings import GenerationParams
from tools.registry import TOOLS
from tools.runner import ToolResult, run_tools

__all__ = ["act", "route_after_think", "think", "turns_taken"]

# Room for the longest action: a final answer of FINAL_MAX_CHARS or a tool's arguments.
ACTION_MAX_TOKENS = 320


def turns_taken(messages: Sequence[AnyMessage]) -> int:
    """Count the agent's turns since the last user message (the current request's)."""
    turns = 0
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        turns += isinstance(message, AIMessage)
    return turns


def _stop(turns: int, context: Context, state: ReactState, why: str = "") -> dict[str, Any]:
    results = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    last = f" The last tool result was: {str(results[-1].content)[:200]}" if results else ""
    why = why or (f"the step budget (max_agent_steps={context.max_agent_steps}) ran out"
                  if turns >= context.max_agent_steps else "the run's recursion_limit is too "
                  "low for another tool round (set it to at least "
                  f"{2 * context.max_agent_steps + 2})")
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
    if not state.get("messages") or isinstance(state["messages"][-1], HumanMessage):
        request = newest_request(state.get("messages"))  # a new request: the graph's entry
        await check_fits(request, field="messages", chain=context.agent_backend,
                         key="agent_backend", local_only=context.local_only)
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
    try:
        if tool_names and all(capabilities(cfg).native_tools for cfg in backends):
            messages: list[BaseMessage] = [SystemMessage(REACT_NATIVE_SYSTEM),
                                           *state["messages"]]
            message, metric = await call_model(
                "think", chain=context.agent_backend, key="agent_backend", params=params,
                messages=messages, local_only=context.local_only,
                tools=[TOOLS[name] for name in tool_names])
        else:
            message, metric = await _json_action(tool_names, state, context, params)
    except ContextTooLong:
        return _stop(turns, context, state, why="the conversation and its tool results no "
                     "longer fit the model's context window")
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
