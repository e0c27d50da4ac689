"""Pause before a risky tool call until a person approves, rejects or edits it.

Uses LangGraph's ``interrupt``: the run stops with the pending call in its
state and continues when resumed with ``Command(resume={"action": ...})``, from
Python or over the server API. Needs a checkpointer (the server always has one).
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.types import interrupt
from pydantic import BaseModel, ConfigDict, ValidationError

from agents.context import Context
from backends.errors import GraphConfigError
from tools.base import tool_info
from tools.registry import TOOLS

__all__ = ["ApprovalDecision", "ask_approval", "needs_approval"]


class ApprovalDecision(BaseModel):
    """How a person answered an approval request."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["approve", "reject", "edit"]
    args: dict[str, Any] | None = None
    reason: str | None = None

    @property
    def rejection(self) -> str:
        """Return the tool result a rejected call reports to the model."""
        return "a person rejected this call" + (f": {self.reason}" if self.reason else "")

    def args_for(self, planned: dict[str, Any]) -> dict[str, Any]:
        """Return the arguments to run with: the edited ones, else ``planned``."""
        return self.args if self.action == "edit" and self.args is not None else planned


def needs_approval(tool: str, context: Context) -> bool:
    """Tell whether calling ``tool`` must wait for a person's decision."""
    if tool in (context.approval_tools or []):
        return True
    registered = TOOLS.get(tool)
    return registered is not None and tool_info(registered).risk == "side_effect"


def ask_approval(index: int, tool: str, args: dict[str, Any]) -> ApprovalDecision:
    """Interrupt the run with the pending call; return the decision it was resumed with."""
    answer = interrupt({
        "kind": "tool_approval", "step": index, "tool": tool, "args": args,
        "resume_with": {"action": "approve | reject | edit", "args": "for edit: new arguments",
                        "reason": "optional, shown to the model on reject"},
    })
    try:
        decision = ApprovalDecision.model_validate(answer)
    except ValidationError as exc:
        raise GraphConfigError(
            f"cannot resume tool approval with {answer!r}: {exc.errors()[0]['msg']}; resume "
            "with {'action': 'approve'}, {'action': 'reject', 'reason': ...} or "
            "{'action': 'edit', 'args': {...}}",
            key="resume",
        ) from None
    if decision.action == "edit" and decision.args is None:
        raise GraphConfigError("an 'edit' decision needs 'args': the arguments to run with",
                               key="resume")
    return decision
