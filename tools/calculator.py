"""The ``calculator`` tool: ``tools.arithmetic.evaluate`` offered to the model.

The arithmetic itself lives in ``tools.arithmetic``. What is here is what the model
sees: the tool's name and description, and an argument schema whose expression
pattern keeps a constrained decoder to numbers, operators and the calculator's
names.
"""

from pydantic import Field

from tools.arithmetic import MAX_LENGTH, NAMES, evaluate, format_number
from tools.base import ToolArgs, make_tool

__all__ = ["EXPRESSION_PATTERN", "CalculatorArgs", "calculator"]

# What a model may write as an expression: numbers, operators, parentheses and the
# calculator's names, at most MAX_LENGTH pieces (llama.cpp's converter uses a string's
# pattern instead of its maxLength). No comma: small models run on into tuples
# ("1.0, 1.0, ...") and thousands separators ("4, 500"), and a comma is only needed
# for the two-argument forms round(x, n), log(x, b), min and max.
_PIECE = (r"(?:[0-9.+\-*/%() ]|"
          + "|".join(sorted(NAMES, key=lambda name: (-len(name), name)))
          + ")")
# Two bounded runs, not one {1,200}: xgrammar 0.2.8, vLLM's default structured-output
# backend, cannot compile a repetition over 128. vLLM V1 keeps the backend its first
# structured request chose, so one schema xgrammar refuses would break every later
# plan once any other schema had been served first.
EXPRESSION_PATTERN = (
    rf"^{_PIECE}{{1,{MAX_LENGTH // 2}}}{_PIECE}{{0,{MAX_LENGTH - MAX_LENGTH // 2}}}$"
)


class CalculatorArgs(ToolArgs):
    """Arguments of the calculator tool."""

    # The pattern is for constrained decoders only (pydantic does not check a
    # json_schema_extra pattern): a model cannot write units, words, "=" or a comma
    # into an expression, while a direct caller still gets evaluate()'s message
    # saying what is wrong.
    expression: str = Field(
        min_length=1,
        max_length=MAX_LENGTH,
        description="Arithmetic in Python syntax on plain numbers: + - * / ** and "
        "parentheses, sqrt(x), round(x), log(x).",
        json_schema_extra={"pattern": EXPRESSION_PATTERN},
    )


async def _calculator(expression: str) -> str:
    return format_number(evaluate(expression))


calculator = make_tool(
    _calculator,
    name="calculator",
    description=(
        "Compute an arithmetic expression exactly. "
        "Supports + - * / // % ** and sqrt, log, exp, sin, cos, tan, round, min, max, pi, e."
    ),
    args_schema=CalculatorArgs,
    risk="safe",
    topics=["math"],
    network=False,
    timeout_s=2.0,
)
