"""Prompt text of the router graph: which route, how hard, is the answer good.

Each is a fixed system prompt whose reply the server constrains to a few words
(``Choice``), so a classification costs a handful of tokens.
"""

__all__ = [
    "CHECK_SYSTEM",
    "COMPLEXITY_EXAMPLES",
    "COMPLEXITY_OPTIONS",
    "COMPLEXITY_SYSTEM",
    "ROUTER_EXAMPLES",
    "ROUTER_SYSTEM",
    "ROUTE_OPTIONS",
    "check_request",
]

ROUTE_OPTIONS = ("chat", "tools")

# (request, label): the worked examples each classifying prompt ends with.
ROUTER_EXAMPLES = (
    ("What is 17 * 23?", "tools"),
    ("Hello, who are you?", "chat"),
    ("Convert 5 miles to km.", "tools"),
    ("Explain what a GPU is.", "chat"),
    ("What day is it in Tokyo?", "tools"),
)
COMPLEXITY_EXAMPLES = (
    ("Hello!", "simple"),
    ("How tall is Mount Everest?", "simple"),
    ("Write a migration plan for moving our database to Postgres.", "complex"),
    ("Explain why this recursive function overflows the stack.", "complex"),
)


def _examples(examples: tuple[tuple[str, str], ...]) -> str:
    return "\n".join(f"{request} -> {label}" for request, label in examples)


ROUTER_SYSTEM = """Decide how to handle the request. Reply with one word.
tools: it needs arithmetic, a unit conversion, today's date or time, or a file.
chat: anything else (greetings, explanations, opinions, writing).

Examples:
""" + _examples(ROUTER_EXAMPLES)

COMPLEXITY_OPTIONS = ("simple", "complex")

COMPLEXITY_SYSTEM = """Judge how hard the request is. Reply with one word.
simple: a greeting, a short fact, a one-line answer.
complex: reasoning over several steps, long writing, code, or expert knowledge.

Examples:
""" + _examples(COMPLEXITY_EXAMPLES)

CHECK_SYSTEM = """You check answers. Reply yes if the answer responds to the request
sensibly and correctly, otherwise no."""


def check_request(request: str, answer: str) -> str:
    """Format the user turn that asks whether ``answer`` serves ``request``."""
    return f"Request: {request}\nAnswer: {answer}\nIs the answer good?"
