"""Prompt text of the plan-and-execute nodes: splitter, planner, drafter, answer.

The system parts are fixed text plus tool descriptions in sorted order, with no
timestamps or ids, so every request of a node starts with the same bytes and the
server's prefix cache (llama.cpp, vLLM, SGLang RadixAttention) reuses them.
Worked examples are there because small models do not plan without them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = [
    "ANSWER_EXAMPLE",
    "ANSWER_SYSTEM",
    "DRAFT_SYSTEM",
    "KNOWLEDGE_ANSWER_EXAMPLE",
    "KNOWLEDGE_ANSWER_SYSTEM",
    "PLANNER_EXAMPLES",
    "PLANNER_EXTRA_EXAMPLES",
    "PLANNER_SYSTEM",
    "SPLIT_EXAMPLES",
    "SPLIT_SYSTEM",
    "Example",
    "answer_request",
    "draft_request",
    "fact_line",
    "plan_request",
    "replan_request",
    "split_request",
]

PLANNER_SYSTEM = """You plan which tools answer a question. Reply with JSON only.
Use as few steps as the question needs; each step calls one tool.
Tools:
{tools}

Examples:
{examples}"""

# (question, steps): an example is shown only when every tool it uses is enabled.
Example = tuple[str, tuple[dict[str, Any], ...]]

# Shown in the system prompt on every request. None of these or of the extra examples
# is a question of the evaluation set (tests/unit/test_eval_set.py). All are
# single-step: a 135M model shown a two-step example on every request pads every plan
# to two steps.
PLANNER_EXAMPLES: tuple[Example, ...] = (
    ("What date is it in 3 days?",
     ({"tool": "datetime", "args": {"timezone": "UTC", "offset_days": 3}},)),
    ("What time is it in Tokyo?",
     ({"tool": "datetime", "args": {"timezone": "Asia/Tokyo", "offset_days": 0}},)),
    ("Which weekday was it 5 days ago?",
     ({"tool": "datetime", "args": {"timezone": "UTC", "offset_days": -5}},)),
    ("Who painted the Mona Lisa?", ()),
    ("How much is 2 to the power 8?",
     ({"tool": "calculator", "args": {"expression": "2 ** 8"}},)),
    ("Pens cost $3 each. What do 14 pens cost?",
     ({"tool": "calculator", "args": {"expression": "14 * 3"}},)),
    ("What is 30% of 90?",
     ({"tool": "calculator", "args": {"expression": "30 / 100 * 90"}},)),
    ("How many kilometres is 5 miles?",
     ({"tool": "unit_convert",
       "args": {"value": 5.0, "from_unit": "miles", "to_unit": "kilometres"}},)),
    ("How many inches are 3 metres?",
     ({"tool": "unit_convert",
       "args": {"value": 3.0, "from_unit": "metres", "to_unit": "inches"}},)),
    ("Convert 90 minutes to hours.",
     ({"tool": "unit_convert",
       "args": {"value": 90.0, "from_unit": "minutes", "to_unit": "hours"}},)),
    ("What is 212 °F in Celsius?",
     ({"tool": "unit_convert",
       "args": {"value": 212.0, "from_unit": "°F", "to_unit": "Celsius"}},)),
)

# Shown only when they are among the most similar to the question (examples.py),
# after the fixed prompt; with the fixed ones, they are what similarity picks from.
# The two-step ones reach only questions whose closest example is two-step.
PLANNER_EXTRA_EXAMPLES: tuple[Example, ...] = (
    ("Which metal is liquid at room temperature?", ()),
    ("What is 45 * 12?", ({"tool": "calculator", "args": {"expression": "45 * 12"}},)),
    ("A bag of rice weighs 5 kg. How much do 8 bags weigh?",
     ({"tool": "calculator", "args": {"expression": "8 * 5"}},)),
    ("Split a $96 bill between 4 friends. How much does each pay?",
     ({"tool": "calculator", "args": {"expression": "96 / 4"}},)),
    ("What is 17 plus 26 plus 31?",
     ({"tool": "calculator", "args": {"expression": "17 + 26 + 31"}},)),
    ("A $40 shirt is 25% off. What does it cost now?",
     ({"tool": "calculator", "args": {"expression": "40 - 25 / 100 * 40"}},)),
    ("How many millilitres are in 2 litres?",
     ({"tool": "unit_convert",
       "args": {"value": 2.0, "from_unit": "litres", "to_unit": "millilitres"}},)),
    ("Convert 5 metres to feet.",
     ({"tool": "unit_convert", "args": {"value": 5.0, "from_unit": "metres", "to_unit": "feet"}},)),
    ("What date was it 2 weeks ago?",
     ({"tool": "datetime", "args": {"timezone": "UTC", "offset_days": -14}},)),
    ("What is 6 * 7, and how many kilometres is 3 miles?",
     ({"tool": "calculator", "args": {"expression": "6 * 7"}},
      {"tool": "unit_convert",
       "args": {"value": 3.0, "from_unit": "miles", "to_unit": "kilometres"}})),
    ("Convert 2 litres to millilitres and 4 hours to minutes.",
     ({"tool": "unit_convert",
       "args": {"value": 2.0, "from_unit": "litres", "to_unit": "millilitres"}},
      {"tool": "unit_convert",
       "args": {"value": 4.0, "from_unit": "hours", "to_unit": "minutes"}})),
    ("What is 10% of 50, and what date is it in 2 days?",
     ({"tool": "calculator", "args": {"expression": "10 / 100 * 50"}},
      {"tool": "datetime", "args": {"timezone": "UTC", "offset_days": 2}})),
    ("From 10 May to 1 August, how many days are there in between?",
     ({"tool": "calendar",
       "args": {"operation": "between", "date": "05-10", "end_date": "08-01"}},)),
    ("What weekday does 14 October 2031 fall on?",
     ({"tool": "calendar", "args": {"operation": "weekday", "date": "2031-10-14"}},)),
    ("Starting on 31 December 2024, what date is 2 months later?",
     ({"tool": "calendar",
       "args": {"operation": "add", "date": "2024-12-31", "amount": 2, "unit": "months"}},)),
    ("My birthday is 9 August: how many days until then?",
     ({"tool": "calendar", "args": {"operation": "days_until", "date": "08-09"}},)),
    ("A recipe needs 2 US gallons of water; tell me the amount in litres.",
     ({"tool": "unit_convert",
       "args": {"value": 2.0, "from_unit": "US gallons", "to_unit": "litres"}},)),
    ("I own 3 hectares of land; tell me the size in acres.",
     ({"tool": "unit_convert",
       "args": {"value": 3.0, "from_unit": "hectares", "to_unit": "acres"}},)),
    ("A train's top speed is 300 km/h. Convert that to mph.",
     ({"tool": "unit_convert", "args": {"value": 300.0, "from_unit": "km/h", "to_unit": "mph"}},)),
    ("My lunch was 250 kcal; tell me the energy in kilojoules.",
     ({"tool": "unit_convert",
       "args": {"value": 250.0, "from_unit": "kcal", "to_unit": "kilojoules"}},)),
    ("Turn 32 psi into kPa.",
     ({"tool": "unit_convert", "args": {"value": 32.0, "from_unit": "psi", "to_unit": "kPa"}},)),
    ("An engine makes 150 horsepower. How many kilowatts is that?",
     ({"tool": "unit_convert",
       "args": {"value": 150.0, "from_unit": "horsepower", "to_unit": "kilowatts"}},)),
    # Requests no tool can help with. Without them, a request that shares no words
    # with any example is shown the first examples in order, all tool plans, and the
    # model plans a calculation for "Explain how ..." (dev: 5 of 6 chat requests).
    ("Explain how a vaccine protects the body.", ()),
    ("What is the opposite of the word generous?", ()),
    ("Write a short thank-you note to a colleague who helped me move.", ()),
    ("Give me three tips for staying focused while studying.", ()),
    ("Describe what happens to water when it freezes.", ()),
    # Everyday shapes a 0.5B model planned wrongly when no example was close: a rate
    # per hundred, a change in percent, a total with a tip, a count of rows, a metric
    # prefix (it multiplied by 1000 twice), a fact no tool holds.
    ("A printer uses 3 cartridges per 1000 pages. How many cartridges for 4500 pages?",
     ({"tool": "calculator", "args": {"expression": "3 / 1000 * 4500"}},)),
    ("Rent went from $800 to $920. By what percent did it rise?",
     ({"tool": "calculator", "args": {"expression": "(920 - 800) / 800 * 100"}},)),
    ("A meal costs $50 and I add a 10% tip. What do I pay in all?",
     ({"tool": "calculator", "args": {"expression": "50 + 10 / 100 * 50"}},)),
    ("A hall has 14 rows of 22 seats. How many seats are there?",
     ({"tool": "calculator", "args": {"expression": "14 * 22"}},)),
    ("Express 4.2 kilograms in grams.",
     ({"tool": "unit_convert", "args": {"value": 4.2, "from_unit": "kg", "to_unit": "g"}},)),
    ("Name the longest river in Africa.", ()),
    # A second question about the first one's result: the second step restates the
    # first calculation, so it needs no drafting.
    ("A crate holds 24 bottles. How many bottles are in 5 crates, and what is 10% of them?",
     ({"tool": "calculator", "args": {"expression": "24 * 5"}},
      {"tool": "calculator", "args": {"expression": "10 / 100 * (24 * 5)"}})),
    # A date written out calls for the calendar, not today's clock.
    ("Tell me the weekday of 2030-06-21.",
     ({"tool": "calendar", "args": {"operation": "weekday", "date": "2030-06-21"}},)),
    ("Count the whole weeks from 2029-02-05 to 2029-04-30.",
     ({"tool": "calendar", "args": {"operation": "between", "date": "2029-02-05",
                                    "end_date": "2029-04-30", "unit": "weeks"}},)),
    ("Add 3 months to 2029-08-31: which date is that?",
     ({"tool": "calendar",
       "args": {"operation": "add", "date": "2029-08-31", "amount": 3, "unit": "months"}},)),
)

SPLIT_SYSTEM = """You split a message into the separate questions it asks, so each can be \
answered on its own. A message that asks one thing is one question: keep it whole, with \
the facts it gives. Copy the words; do not answer. Reply with JSON only."""

# (message, its questions), shown as exchanges before the message to split. The
# single ones teach that facts stay with their question; none is an eval question.
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
