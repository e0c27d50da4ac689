"""Prompt text of the plan-and-execute nodes: splitter, planner, drafter, answer.

The system parts are fixed text plus tool descriptions in sorted order, with no
timestamps or ids, so every request of a node starts with the same bytes and the
server's prefix cache (llama.cpp, vLLM, SGLang RadixAttention) reuses them.
The planner's worked examples are in ``worked_examples``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = [
    "ANSWER_EXAMPLE",
    "ANSWER_SYSTEM",
    "COUNT_SYSTEM",
    "DRAFT_SYSTEM",
    "KNOWLEDGE_ANSWER_EXAMPLE",
    "KNOWLEDGE_ANSWER_SYSTEM",
    "PLANNER_SYSTEM",
    "SPLIT_EXAMPLES",
    "SPLIT_SYSTEM",
    "answer_request",
    "draft_request",
    "fact_line",
    "plan_request",
    "refused_request",
    "replan_request",
    "split_request",
]

PLANNER_SYSTEM = """You plan which tools answer a question. Reply with JSON only.
Use as few steps as the question needs; each step calls one tool.
Tools:
{tools}

Examples:
{examples}"""

COUNT_SYSTEM = """You count the separate questions a message asks: how many answers it \
wants. Steps that lead to one result (work something out, then change that result) are one \
question, and so are facts followed by one question. Reply with JSON only."""

SPLIT_SYSTEM = """You split a message into the separate questions it asks, so each can be \
answered on its own. Keep the facts a question needs with it. Copy the words; do not answer. \
Reply with JSON only."""

# (message, its questions). The counter is shown every one as an exchange (message,
# then how many questions it asks), the single ones teaching that facts stay with
# their question; the splitter is shown those of two or more. None is an eval question.
SPLIT_EXAMPLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("What is 6 * 7, and how many kilometres is 3 miles?",
     ("What is 6 * 7?", "How many kilometres is 3 miles?")),
    ("A $40 shirt is 25% off. What does it cost now?",
     ("A $40 shirt is 25% off. What does it cost now?",)),
    ("Convert 2 litres to millilitres and 4 hours to minutes.",
     ("Convert 2 litres to millilitres.", "Convert 4 hours to minutes.")),
    ("What is 17 plus 26 plus 31?", ("What is 17 plus 26 plus 31?",)),
    ("Sam reads 20 pages a day. How many pages does he read in a week?",
     ("Sam reads 20 pages a day. How many pages does he read in a week?",)),
    ("What is 10% of 50, and what date is it in 2 days?",
     ("What is 10% of 50?", "What date is it in 2 days?")),
    ("Who painted the Mona Lisa?", ("Who painted the Mona Lisa?",)),
    # Two questions after a stated fact, or joined by "also" or "then": without these,
    # a 0.5B model kept 6 of 8 such messages whole and answered only their first part.
    ("A bus ticket is $2.75. What do 4 tickets cost? Also, what is 5% of 60?",
     ("A bus ticket is $2.75. What do 4 tickets cost?", "What is 5% of 60?")),
    ("Multiply 19 by 6, then turn 3 kilograms into pounds.",
     ("Multiply 19 by 6.", "Turn 3 kilograms into pounds.")),
    ("My run took 95 minutes; how many hours is that? And what weekday is it in 4 days?",
     ("My run took 95 minutes; how many hours is that?", "What weekday is it in 4 days?")),
    ("Explain how a vaccine protects the body.", ("Explain how a vaccine protects the body.",)),
    ("Take 84, halve it, then add 7.", ("Take 84, halve it, then add 7.",)),
    ("Multiply 23 by 4, then subtract 15.", ("Multiply 23 by 4, then subtract 15.",)),
    ("Apples are $1.20 each and pears $0.90 each. What do 2 apples and 3 pears cost?",
     ("Apples are $1.20 each and pears $0.90 each. What do 2 apples and 3 pears cost?",)),
)

ANSWER_SYSTEM = """Answer the question in one short sentence from the facts the tools found.
Copy numbers and dates from the facts exactly; do not calculate anything yourself."""

# For a plan with no steps there are no facts: the model answers from what it knows,
# shown a reply of that kind rather than one that restates a tool's result.
KNOWLEDGE_ANSWER_SYSTEM = """Answer the request directly and correctly from what you know, \
in one or two short sentences."""

# One worked exchange, sent as a user turn and an assistant turn before the real
# question: small models imitate a shown reply far better than a described one.
# The facts read as plain statements, not as calls: a model shown "f(x) -> y"
# writes its answer in that shape, with digits of its own.
ANSWER_EXAMPLE = (
    "Question: What is 12 * 9?\nFacts:\n- 12 * 9 = 108\nAnswer:",
    "12 * 9 is 108.",
)
KNOWLEDGE_ANSWER_EXAMPLE = (
    "Question: Which gas do plants take in from the air?\nAnswer:",
    "Plants take in carbon dioxide from the air and use sunlight to turn it into sugar.",
)


def plan_request(question: str) -> str:
    """Format the user turn that asks the planner for a plan."""
    return f"Question: {question}\nPlan:"


def split_request(message: str) -> str:
    """Format the user turn that asks for the separate questions of ``message``."""
    return f"Message: {message}\nQuestions:"


def fact_line(tool: str, args: dict[str, Any], status: str, output: str) -> str:
    """Render one tool result as a plain statement for the answer prompt.

    The calculator's output is a bare number, so its expression is restated; the
    other tools' outputs say what they are about.
    """
    if status != "ok":
        return f"- {tool} could not answer: {output}"
    expression = args.get("expression") if tool == "calculator" else None
    return f"- {expression} = {output}" if expression else f"- {output}"


def answer_request(question: str,
                   results: Sequence[tuple[str, dict[str, Any], str, str]]) -> str:
    """Format the user turn that asks for the final answer.

    Args:
        question: the user's question.
        results: (tool, args, status, output) for each step, in plan order.
    """
    if not results:
        # No facts section at all: a small model copies a placeholder fact as its answer.
        return f"Question: {question}\nAnswer:"
    lines = [f"Question: {question}", "Facts:"]
    lines += [fact_line(*result) for result in results]
    lines.append("Answer:")
    return "\n".join(lines)

DRAFT_SYSTEM = """You fill in a tool's arguments from the results of earlier steps.
Reply with the arguments as JSON only; use the numbers and text from the results."""


def draft_request(tool: str, planned: dict[str, Any],
                  inputs: list[tuple[int, str, dict[str, Any], str]]) -> str:
    """Format the user turn asking for a step's arguments given earlier results.

    Args:
        tool: the step's tool.
        planned: the arguments the planner wrote before results existed.
        inputs: (step, tool, args, output) of each step this one depends on.
    """
    lines = [f"Tool: {tool}", f"Planned arguments: {json.dumps(planned, ensure_ascii=False)}",
             "Results of earlier steps:"]
    lines += [f"{step}. {name}({json.dumps(args, sort_keys=True, ensure_ascii=False)}) -> "
              f"{output}" for step, name, args, output in inputs]
    lines.append("Arguments:")
    return "\n".join(lines)


def replan_request(question: str, failures: list[tuple[str, dict[str, Any], str]],
                   problems: Sequence[str] = ()) -> str:
    """Format the planner's user turn after a plan failed: the question, then what failed.

    Args:
        question: the user's question.
        failures: (tool, args, error) of each failed step of the last round.
        problems: why earlier plans were unusable; the last two are shown.
    """
    lines = [f"Question: {question}", "An earlier plan failed:"]
    lines += [f"- {tool}({json.dumps(args, sort_keys=True, ensure_ascii=False)}) -> {error}"
              for tool, args, error in failures]
    lines += [f"- {problem}" for problem in problems[-2:]]
    lines.append("Plan again, avoiding those errors.\nPlan:")
    return "\n".join(lines)


def refused_request(request: str, reasons: Sequence[str]) -> str:
    """Add to a planner's user turn why the plans it drew were refused, to draw again."""
    lines = [request.removesuffix("Plan:").rstrip(), "That plan was refused:"]
    lines += [f"- {reason}" for reason in dict.fromkeys(reasons)]
    lines.append("Plan again, avoiding that.\nPlan:")
    return "\n".join(lines)
