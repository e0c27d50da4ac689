"""Run-time settings of the agent graphs; Studio renders them as a form.

Each field's ``description`` becomes the help text of its form field. A run's
explicit ``context={...}`` wins; fields it leaves out take the defaults here.
Backend names refer to backends declared in ``backends.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from backends.errors import GraphConfigError
from backends.reload import startup_config

__all__ = ["LIMITS", "Context", "run_context"]


# Studio renders a Literal as a dropdown. The names come from backends.toml when this
# module is imported, so a broken file stops the server at start-up, naming its key;
# run_context re-checks each run against the current file.
if TYPE_CHECKING:
    BackendName = str
else:
    BackendName = Literal[tuple(startup_config().names())]


@dataclass(kw_only=True)
class Context:
    """Settings a single run of any of the four graphs can change; each names its graph."""

    planner_backend: BackendName = field(
        default="planner",
        metadata={"description": "Chain or backend (from backends.toml) that writes the JSON "
                                 "plan; a chain falls back along its backends."},
    )
    answer_backend: BackendName = field(
        default="answer",
        metadata={"description": "Chain or backend (from backends.toml) that writes the final "
                                 "answer."},
    )
    local_only: bool = field(
        default=False,
        metadata={"description": "Sensitive data: call only backends flagged local in "
                                 "backends.toml, never a remote server."},
    )
    router_backend: BackendName = field(
        default="planner",
        metadata={"description": "Chain or backend that classifies requests and checks "
                                 "answers (router graph)."},
    )
    chat_backend: BackendName = field(
        default="answer",
        metadata={"description": "Chain or backend that answers plain chat requests "
                                 "(router and chat graphs)."},
    )
    agent_backend: BackendName = field(
        default="answer",
        metadata={"description": "Chain or backend the tool-calling agent thinks with "
                                 "(react_agent graph)."},
    )
    max_agent_steps: int = field(
        default=6,
        metadata={"description": "Most model turns the tool-calling agent may take before it "
                                 "must stop (react_agent graph)."},
    )
    escalation_backend: str = field(
        default="",
        metadata={"description": "Larger chain or backend to retry on once when the "
                                 "self-check rejects an answer; empty: never escalate."},
    )
    temperature: float = field(
        default=0.0,
        metadata={"description": "Sampling temperature for every model call (0 = greedy)."},
    )
    max_plan_steps: int = field(
        default=4,
        metadata={"description": "Most tool calls a plan may contain (1-8)."},
    )
    drafter_backend: BackendName = field(
        default="drafter",
        metadata={"description": "Chain or backend that drafts the arguments of steps that "
                                 "need earlier results; drafts of a wave run in parallel."},
    )
    max_concurrency: int = field(
        default=4,
        metadata={"description": "Most plan steps drafted and run at the same time."},
    )
    plan_samples: int = field(
        default=1,
        metadata={"description": "Plans drawn per question (self-consistency, 1-8): distinct "
                                 "ones all run and the tool results most of them agree on are "
                                 "answered from. Backends with parallel sampling draw them in "
                                 "one request."},
    )
    split_questions: bool = field(
        default=True,
        metadata={"description": "Ask the planner model first for the separate questions in "
                                 "the message, and plan each on its own, in parallel (one "
                                 "short extra call; off plans the message whole)."},
    )
    planner_examples: int = field(
        default=2,
        metadata={"description": "Worked examples most like the question shown to the planner "
                                 "after its fixed prompt (0-8; 0 = the fixed examples only)."},
    )
    sample_temperature: float = field(
        default=0.7,
        metadata={"description": "Sampling temperature of the plans when plan_samples > 1 "
                                 "(a single plan uses temperature)."},
    )
    max_replans: int = field(
        default=1,
        metadata={"description": "How many times a plan with a failed step is redone."},
    )
    max_answer_tokens: int = field(
        default=256,
        metadata={"description": "Longest final answer or chat reply, in tokens."},
    )
    approval_tools: list[str] | None = field(
        default=None,
        metadata={"description": "Tools that wait for a person's approval before each call "
                                 "(side-effect tools always do)."},
    )
    tools: list[str] | None = field(
        default=None,
        metadata={"description": "Names of the tools the planner may use; empty means every "
                                 "safe (offline, side-effect free) tool."},
    )


# Budgets are bounded so every graph's recursion limit (set in graphs/) covers them.
LIMITS = {"max_plan_steps": (1, 8), "max_concurrency": (1, 32), "max_replans": (0, 3),
          "max_agent_steps": (1, 20), "max_answer_tokens": (1, 8192), "temperature": (0.0, 2.0),
          "plan_samples": (1, 8), "planner_examples": (0, 8), "sample_temperature": (0.0, 2.0)}


def _checked(context: Context) -> Context:
    for key, (low, high) in LIMITS.items():
        value = getattr(context, key)
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not low <= value <= high:
            raise GraphConfigError(f"{key}={value!r} is out of range; use {low} to {high}",
                                   key=key)
    return context


def run_context(given: Context | dict[str, object] | None) -> Context:
    """Return the run's Context, filling defaults; a wrong key or value names itself.

    LangGraph passes the context a caller sent, which over the HTTP API may still
    be a plain dict, or None when the caller sent nothing.
    """
    if given is None:
        return Context()
    if isinstance(given, Context):
        return _checked(given)
    known = set(Context.__dataclass_fields__)
    unknown = sorted(set(given) - known)
    if unknown:
        raise GraphConfigError(
            f"unknown context keys {unknown}; valid keys are {sorted(known)}", key=unknown[0]
        )
    return _checked(Context(**given))  # type: ignore[arg-type]
