import math
import operator
import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.errors import ToolArgumentError, ToolError
from tools import TOOLS, evaluate
from tools.calculator import EXPRESSION_PATTERN

VALID = [
    ("17 * 23", 391),
    ("(2+3)*4", 20),
    ("2**10", 1024),
    ("7//2", 3),
    ("7%3", 1),
    ("-3**2", -9),
    ("(-3)**2", 9),
    ("+5 - -2", 7),
    ("7/2", 3.5),
    ("2**-1", 0.5),
    ("sqrt(16)", 4.0),
    ("round(2.567, 2)", 2.57),
    ("round(2.5)", 2),
    ("abs(-7)", 7),
    ("floor(2.7) + ceil(2.1)", 5),
    ("log(8, 2)", 3.0),
    ("log10(1000)", 3.0),
    ("log2(1024)", 10.0),
    ("exp(0)", 1.0),
    ("min(3, 1, 2) + max(4, 9)", 10),
    ("pi", math.pi),
    ("e", math.e),
    ("cos(0) + sin(0) + tan(0)", 1.0),
    ("  1 + 1  ", 2),
    ("2**10000 // 2**9999", 2),
    ("9**9**2", 9**81),
]


@pytest.mark.parametrize(("expression", "expected"), VALID)
def test_evaluates_valid_expression_exactly(expression: str, expected: float) -> None:
    result = evaluate(expression)
    assert result == expected
    assert type(result) is type(expected)


# (expression, words the message must contain to name the problem)
NASTY = [
    ("__import__('os')", ["unknown function", "__import__"]),
    ("().__class__", ["attribute"]),
    ("a.b", ["attribute"]),
    ("math.sqrt(4)", ["attribute", "sqrt"]),
    ("x[0]", ["indexing"]),
    ("open('f')", ["unknown function", "open"]),
    ("lambda: 1", ["lambda"]),
    ("[i for i in range(3)]", ["comprehension"]),
    ("9**9**9**9", ["exponent", "too large"]),
    ("2**100000", ["exponent", "too large"]),
    ("10**10**10", ["exponent", "too large"]),
    ("2**2**2**2**2", ["exponent", "too large"]),
    ("99999**9999", ["digits"]),
    ("(2**9000)*(2**9000)", ["digits"]),
    ("'a'*3", ["text"]),
    ("True+1", ["True/False"]),
    ("1j", ["complex"]),
    ("1 if 1 else 2", ["if/else"]),
    ("1<2", ["comparison"]),
    ("f(x=1)", ["keyword"]),
    ("sqrt(x=16)", ["keyword"]),
    ("sqrt(*a)", ["starred"]),
    ("*a", ["syntax"]),
    ("x", ["unknown name", "'x'"]),
    ("sqrt", ["function"]),
    ("2(3+4)", ["write *", "2*(3+4)"]),
    ("1" * 201, ["201 characters", "200"]),
    ("(" * 100 + "1" + ")" * 100, ["201 characters"]),
    ("-(" * 60 + "1" + ")" * 60, ["nested too deeply"]),
    ("+".join(["1"] * 60), ["nested too deeply"]),
    ("+".join(["max(" + ",".join(["-1"] * 20) + ")"] * 3), ["too complex"]),
    ("1/0", ["division by zero", "'1/0'"]),
    ("7 % 0", ["division by zero"]),
    ("0**-1", ["division by zero"]),
    ("sqrt(-1)", ["domain", "sqrt needs a number >= 0"]),
    ("log(0)", ["domain", "log needs x > 0"]),
    ("(-8)**(1/3)", ["not a real number"]),
    ("exp(1000)", ["too large"]),
    ("1e308 * 10", ["too large"]),
    ("round(2.5, 0.5)", ["round"]),
    ("sqrt(1, 2)", ["sqrt takes 1 argument"]),
    ("2^3", ["**"]),
    ("", ["empty"]),
    ("   ", ["empty"]),
    ("1 +", ["syntax"]),
]


@pytest.mark.parametrize(("expression", "words"), NASTY)
def test_rejects_nasty_input_and_names_the_problem(expression: str, words: list[str]) -> None:
    with pytest.raises(ToolArgumentError) as caught:
        evaluate(expression)
    message = str(caught.value)
    for word in words:
        assert word in message
    assert caught.value.tool == "calculator"


async def test_tool_returns_ints_exactly_and_floats_to_12_significant_digits() -> None:
    tool = TOOLS["calculator"]
    assert await tool.ainvoke({"expression": "17*23"}) == "391"
    assert await tool.ainvoke({"expression": "2**70"}) == "1180591620717411303424"
    assert await tool.ainvoke({"expression": "1/3"}) == "0.333333333333"
    assert await tool.ainvoke({"expression": "0.1+0.2"}) == "0.3"
    assert await tool.ainvoke({"expression": "sqrt(16)"}) == "4"
    assert await tool.ainvoke({"expression": "-0.0"}) == "0"


def test_evaluate_returns_the_raw_float() -> None:
    assert evaluate("1/3") == 1 / 3


_OPS: dict[str, Callable[[int, int], int]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
}


def _leaf(n: int) -> tuple[str, int]:
    return (str(n) if n >= 0 else f"({n})", n)


def _combine(parts: tuple[tuple[str, int], str, tuple[str, int]]) -> tuple[str, int]:
    (left_text, left), op, (right_text, right) = parts
    return f"({left_text}{op}{right_text})", _OPS[op](left, right)


# Each example carries the value computed alongside its text, so the oracle never evals.
ARITHMETIC = st.recursive(
    st.integers(-1000, 1000).map(_leaf),
    lambda children: st.tuples(children, st.sampled_from(sorted(_OPS)), children).map(_combine),
    max_leaves=12,
)


@settings(database=None, deadline=500)
@given(ARITHMETIC)
def test_matches_python_arithmetic_on_random_int_expressions(example: tuple[str, int]) -> None:
    text, expected = example
    assert evaluate(text) == expected


def _only_numbers_or_tool_errors(text: str) -> None:
    try:
        result = evaluate(text)
    except ToolError:
        return
    assert type(result) in (int, float)
    assert not isinstance(result, float) or math.isfinite(result)


@settings(database=None, deadline=500, max_examples=300)
@given(st.text(max_size=300))
def test_arbitrary_text_gives_a_number_or_a_tool_error(text: str) -> None:
    _only_numbers_or_tool_errors(text)


TOKENS = [
    "0", "1", "2", "9", "99", "0.5", "1e300", "-", "+", "*", "/", "//", "%", "**", "^",
    "(", ")", ",", "sqrt(", "log(", "round(", "max(", "exp(", "pi", "e", " ",
]  # fmt: skip


@settings(database=None, deadline=500, max_examples=300)
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_token_soup_gives_a_number_or_a_tool_error(text: str) -> None:
    _only_numbers_or_tool_errors(text)


@pytest.mark.parametrize(("expression", "expected"), VALID)
def test_the_decoding_pattern_admits_every_valid_one_argument_expression(
        expression: str, expected: float) -> None:
    assert bool(re.fullmatch(EXPRESSION_PATTERN, expression)) == ("," not in expression)


@pytest.mark.parametrize("expression", [
    "2.5 kg * 1000",       # a unit in the expression
    "25,000 * 4",          # a thousands separator
    "4, 500 / 100",        # ... however spaced
    "1.0, 1.0, 1.0",       # a tuple, the runaway of small models
    "2 * 100 = 200",       # an equation
    "blue + yellow",       # words
    "1" * 201,             # longer than the calculator takes
])
def test_the_decoding_pattern_refuses_what_planners_wrote(expression: str) -> None:
    assert not re.fullmatch(EXPRESSION_PATTERN, expression)


async def test_a_direct_caller_gets_the_calculators_own_message_not_the_pattern() -> None:
    # The pattern constrains decoders; validation stays with evaluate(), which says why.
    with pytest.raises(ToolArgumentError, match="tuples not allowed"):
        await TOOLS["calculator"].ainvoke({"expression": "25,000 * 4"})
