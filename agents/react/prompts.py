"""Prompt text of the tool-calling (ReAct) agent.

The system prompts are fixed text plus tool descriptions in sorted order, so the
server's prefix cache reuses them across turns and requests.
"""

from typing import Any

__all__ = ["REACT_EXAMPLES", "REACT_NATIVE_SYSTEM", "REACT_SYSTEM"]

REACT_SYSTEM = """You answer the user's question. You may call tools, one per reply.
Reply with JSON only, one of:
{{"action": "call", "tool": "<tool name>", "args": {{<arguments>}}}} runs a tool; \
you then see its result.
{{"action": "final", "answer": "<one short sentence>"}} answers the user.
Copy numbers and dates from tool results exactly.
Tools:
{tools}"""

REACT_NATIVE_SYSTEM = """You answer the user's question, calling the tools you are given \
when they help. Copy numbers and dates from tool results exactly. When you know the answer, \
reply with one short sentence."""

# (question, tool, args, result, answer): shown as real turns, because small models
# imitate a shown exchange far better than a described one. The first example whose
# tool is enabled is used.
REACT_EXAMPLES: tuple[tuple[str, str, dict[str, Any], str, str], ...] = (
    ("What is 12 * 9?", "calculator", {"expression": "12 * 9"}, "108", "The answer is 108."),
    ("How many kilometres is 5 miles?", "unit_convert",
     {"value": 5.0, "from_unit": "mi", "to_unit": "km"}, "8.04672 km",
     "5 miles is 8.04672 km."),
)
