"""Prompt text of the router graph: which route, how hard, is the answer good.

Each reply is constrained by the server to one of a few words (``Choice``), so a
classification costs a handful of tokens.
"""

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

__all__ = [
    "CHECK_SYSTEM",
    "COMPLEXITY_EXAMPLES",
    "COMPLEXITY_OPTIONS",
    "COMPLEXITY_SYSTEM",
    "KIND_OPTIONS",
    "REQUEST_KINDS",
    "ROUTER_EXAMPLES",
    "ROUTER_SYSTEM",
    "ROUTE_OF_KIND",
    "check_request",
    "router_messages",
]

# The classifier names one of these kinds, and the kind picks the route. Asked for
# "chat" or "tools" outright, the default model said tools for 13 of the dev half's 14
# chat requests; naming a kind it got all 14. The talk kinds come first: listed
# after the tool kinds, it named "math" for 3 to 6 of 20 chat requests of each set
# written to probe it. Percentages have a kind of their own: under "math" it called a
# rise in percent or a share a "fact" in 1 and 2 of the 15 tool requests of two sets
# written to probe it, and in none with its own kind.
REQUEST_KINDS = {  # kind: (what it covers, route)
    "greeting": ("greetings, thanks, small talk.", "chat"),
    "fact": ("a question of general knowledge, with nothing to work out.", "chat"),
    "explain": ("how or why something works, or what something means.", "chat"),
    "write": ("writing, translating, summarising or suggesting something.", "chat"),
    "advice": ("advice, opinions, pros and cons.", "chat"),
    "math": ("arithmetic, or an amount to work out from numbers in the request.", "tools"),
    "percent": ("a percentage of a number, a share in percent, or a rise or fall in percent.",
                "tools"),
    "units": ("converting between units.", "tools"),
    "date": ("today's date or time, or a date or time to work out.", "tools"),
    "file": ("reading or listing files.", "tools"),
}
KIND_OPTIONS = tuple(REQUEST_KINDS)
ROUTE_OF_KIND = {kind: route for kind, (_, route) in REQUEST_KINDS.items()}

# (request, label): the worked examples each classifying prompt shows.
ROUTER_EXAMPLES = (
    ("Hello, who are you?", "greeting"),
    ("What is 17 * 23?", "math"),
    ("Who painted the Mona Lisa?", "fact"),
    ("Convert 5 miles to km.", "units"),
    ("Explain what a GPU is.", "explain"),
    ("Show me what is in todo.txt.", "file"),
    ("How many grams are in 3 pounds, and who wrote Hamlet?", "units"),
    ("Write a birthday message for my sister.", "write"),
    ("What day is it in Tokyo?", "date"),
    ("What share of 80 is 12, in percent?", "percent"),
    ("Should I buy a laptop or a tablet for school?", "advice"),
    ("A book costs $12. How much do 4 books cost?", "math"),
)
COMPLEXITY_EXAMPLES = (
    ("Hello!", "simple"),
    ("How tall is Mount Everest?", "simple"),
    ("Write a migration plan for moving our database to Postgres.", "complex"),
    ("Explain why this recursive function overflows the stack.", "complex"),
)


def _examples(examples: tuple[tuple[str, str], ...]) -> str:
    return "\n".join(f"{request} -> {label}" for request, label in examples)


ROUTER_SYSTEM = "Name the kind of request. Reply with one word.\n" + "\n".join(
    f"{kind}: {covers}" for kind, (covers, _) in REQUEST_KINDS.items()
) + "\nA request that asks for several things gets the kind of the one that needs working out."


def router_messages(request: str) -> list[BaseMessage]:
    """The classifier's prompt: the kinds, the examples as earlier turns, the request.

    As turns rather than lines of the system text: with an earlier list of kinds, the
    default model classified 12 of the dev half's 14 chat requests right with the
    examples as turns, 9 with them as lines.
    """
    turns: list[BaseMessage] = [SystemMessage(ROUTER_SYSTEM)]
    for example, kind in ROUTER_EXAMPLES:
        turns += [HumanMessage(example), AIMessage(kind)]
    return [*turns, HumanMessage(request)]


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
