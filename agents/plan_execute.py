"""Nodes of the plan-and-execute graph: plan, run each step, answer."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from langgraph.types import Send
from pydantic import ValidationError

from agents.approval import ask_approval, needs_approval
from agents.context import Context, run_context
from agents.llm import call_model
from agents.metrics import NodeMetric
from agents.planning import plan_model, planner_system, select_tools
from agents.prompts import ANSWER_EXAMPLE, ANSWER_SYSTEM, answer_request, plan_request
from agents.state import PlanExecuteState, PlanStep, StepInput, StepResult, planned_steps
from backends.base import JsonSchema
from backends.config import GenerationParams
from tools.runner import ToolResult, run_tool

__all__ = ["execute_step", "route_steps", "write_answer", "write_plan"]

# A plan of MAX_PLAN_STEPS short steps fits well within this; it only stops runaways.
PLAN_MAX_TOKENS = 400
# The answer is one sentence: stopping at the line end keeps small models from
# looping. (A repetition penalty would also stop them copying the tool's numbers.)
ANSWER_STOP = ("\n",)


async def write_plan(state: PlanExecuteState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the planner chain for a JSON plan constrained to the enabled tools."""
    context = run_context(runtime.context)
    tool_names = select_tools(context.tools)
    schema = plan_model(tool_names, context.max_plan_steps)
    reply, metric = await call_model(
        "write_plan", chain=context.planner_backend, key="planner_backend",
        params=GenerationParams(temperature=context.temperature, max_tokens=PLAN_MAX_TOKENS),
        messages=[SystemMessage(planner_system(tool_names)),
                  HumanMessage(plan_request(state["question"]))],
        constraint=JsonSchema(schema), local_only=context.local_only,
    )
    try:
        parsed = schema.model_validate_json(str(reply.content))
    except ValidationError as exc:
        # Decoding is constrained, so this means the reply was cut off (token limit).
        problem = f"the planner's reply is not a valid plan: {exc.errors()[0]['msg']}"
        return {"plan": [], "problems": [problem], "metrics": [metric]}
    plan: list[PlanStep] = parsed.model_dump()["steps"]
    get_stream_writer()({"event": "plan_ready", "steps": plan})
    return {"plan": plan, "metrics": [metric]}


def rejected(step: PlanStep, reason: str | None) -> ToolResult:
    """Return the result of a call a person refused to run."""
    because = f": {reason}" if reason else ""
    return ToolResult(tool=step["tool"], args=step["args"], status="error",
                      output=f"a person rejected this call{because}", latency_ms=0.0)


def route_steps(state: PlanExecuteState) -> list[Send] | Literal["write_answer"]:
    """Fan out one ``execute_step`` branch per planned step, or answer if there are none."""
    steps = planned_steps(state)
    if not steps:
        return "write_answer"
    return [Send("execute_step", StepInput(index=i, step=step)) for i, step in enumerate(steps)]


async def execute_step(step_input: StepInput, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run one planned tool call; failures become an error result, not an exception.

    A tool that needs approval first pauses the run (see ``agents.approval``).
    """
    step = step_input["step"]
    if needs_approval(step["tool"], run_context(runtime.context)):
        decision = ask_approval(step_input["index"], step)
        if decision.action == "reject":
            result = rejected(step, decision.reason)
        else:
            args = decision.args if decision.action == "edit" and decision.args else step["args"]
            result = await run_tool(step["tool"], args)
    else:
        result = await run_tool(step["tool"], step["args"])
    outcome: StepResult = {**result, "step": step_input["index"]}
    metric = NodeMetric(
        node="execute_step", backend=f"tool:{step['tool']}", latency_ms=result["latency_ms"],
        prompt_tokens=0, completion_tokens=0, cached_tokens=0, status=result["status"],
    )
    get_stream_writer()(
        {"event": "step_done", "step": step_input["index"], "status": result["status"]}
    )
    return {"tool_results": [outcome], "metrics": [metric]}


async def write_answer(state: PlanExecuteState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Write the final answer from the question and every tool result."""
    context = run_context(runtime.context)
    results = sorted(state.get("tool_results", []), key=lambda r: r["step"])
    request = answer_request(
        state["question"], [(r["tool"], r["args"], r["status"], r["output"]) for r in results]
    )
    example_question, example_answer = ANSWER_EXAMPLE
    messages = [SystemMessage(ANSWER_SYSTEM), HumanMessage(example_question),
                AIMessage(example_answer), HumanMessage(request)]
    reply, metric = await call_model(
        "write_answer", chain=context.answer_backend, key="answer_backend",
        params=GenerationParams(temperature=context.temperature,
                                max_tokens=context.max_answer_tokens, stop=ANSWER_STOP),
        messages=messages, local_only=context.local_only,
    )
    return {"answer": str(reply.content).strip(), "metrics": [metric]}
