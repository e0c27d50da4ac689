"""Arithmetic the model can delegate instead of guessing: ``evaluate`` and ``format_number``.

The expression is parsed with ``ast.parse(mode="eval")`` and walked by hand;
nothing is ever compiled to bytecode or executed. Only number literals, unary
``+ -``, binary ``+ - * / // % **``, the names ``pi`` and ``e``, and calls of
the functions in ``_FUNCTIONS`` are accepted. Each power is checked before it
is computed, so power towers such as ``9**9**9**9`` are refused at the first
step that would be too big, and every intermediate integer is size-checked.

The ``calculator`` tool in ``tools.calculator`` wraps ``evaluate``; the answer
checks in ``agents`` and ``evals`` call it directly to recompute a claim.
"""

import ast
import math
import operator
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from backends.errors import ToolArgumentError

__all__ = ["MAX_LENGTH", "NAMES", "evaluate", "format_number"]

Number = int | float

MAX_LENGTH = 200
MAX_NODES = 100
MAX_DEPTH = 50
MAX_EXPONENT = 10_000
# Python refuses to print ints over 4300 digits by default, and a longer
# number is useless to a model anyway.
MAX_DIGITS = 4_000
DISPLAY_DIGITS = 30
_MAX_BITS = int(MAX_DIGITS / math.log10(2))

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}

# name -> (function, min args, max args, domain hint shown on a math domain error)
_FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int, str]] = {
    "sqrt": (math.sqrt, 1, 1, "sqrt needs a number >= 0"),
    "abs": (abs, 1, 1, ""),
    "round": (round, 1, 2, "round(x) or round(x, digits)"),
    "floor": (math.floor, 1, 1, ""),
    "ceil": (math.ceil, 1, 1, ""),
    "log": (math.log, 1, 2, "log needs x > 0, and a base > 0 other than 1"),
    "log10": (math.log10, 1, 1, "log10 needs a number > 0"),
    "log2": (math.log2, 1, 1, "log2 needs a number > 0"),
    "exp": (math.exp, 1, 1, ""),
    "sin": (math.sin, 1, 1, "sin needs a finite number"),
    "cos": (math.cos, 1, 1, "cos needs a finite number"),
    "tan": (math.tan, 1, 1, "tan needs a finite number"),
    "min": (lambda *xs: min(xs), 1, 20, ""),
    "max": (lambda *xs: max(xs), 1, 20, ""),
}
_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
# Every name an expression may use, functions and constants.
NAMES: tuple[str, ...] = (*_FUNCTIONS, *_CONSTANTS)

_FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access like a.b",
    ast.Subscript: "indexing like x[0]",
    ast.Lambda: "lambda functions",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons",
    ast.BoolOp: "and/or",
    ast.IfExp: "if/else expressions",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.Starred: "starred arguments like *a",
    ast.NamedExpr: "assignments",
    ast.JoinedStr: "f-strings",
    ast.Await: "await",
}
_ONLY_ARITHMETIC = "the calculator only does arithmetic on numbers"
_ALLOWED = "use numbers, + - * / // % **, pi, e and " + ", ".join(_FUNCTIONS)


def _reject(problem: str, where: str, fix: str) -> ToolArgumentError:
    return ToolArgumentError(f"{problem} in {where!r}: {fix}", tool="calculator")


def evaluate(expression: str) -> int | float:
    """Evaluate an arithmetic expression safely and return the exact result.

    Raises:
        ToolArgumentError: The expression is empty, too long, not plain
            arithmetic, or its result is undefined or too large; the message
            says what is wrong and what to change.
    """
    if len(expression) > MAX_LENGTH:
        raise ToolArgumentError(
            f"expression is {len(expression)} characters long, the limit is {MAX_LENGTH}: "
            "shorten it or split the calculation",
            tool="calculator",
        )
    source = expression.strip()
    if not source:
        raise ToolArgumentError(
            "empty expression: pass an arithmetic expression such as 17*23", tool="calculator"
        )
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError) as exc:  # ValueError: null bytes
        fix = "use ** for powers" if "^" in source else "write plain arithmetic such as (2+3)*4"
        raise _reject("invalid syntax", source, fix) from exc
    _check_size(tree.body, source)
    return _Evaluator(source).value_of(tree.body)


def format_number(value: int | float) -> str:
    """Render a result for the model: ints exactly, floats to 12 significant digits.

    An integer of more than ``DISPLAY_DIGITS`` digits is stated in scientific notation
    with its digit count: thousands of digits would only crowd the answer prompt out of
    the model's context window, and no answer copies them.
    """
    if isinstance(value, int):
        digits = len(str(abs(value)))
        if digits > DISPLAY_DIGITS:
            return f"an integer of {digits} digits, about {Decimal(value):.12e}"
        return str(value)
    return format(value + 0.0, ".12g")  # + 0.0 turns -0.0 into 0.0


def _check_size(root: ast.expr, source: str) -> None:
    nodes = 0
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr):
            nodes += 1
            deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    if deepest > MAX_DEPTH:
        raise _reject(
            f"expression nested too deeply ({deepest} levels, limit {MAX_DEPTH})",
            source,
            "simplify it or split the calculation",
        )
    if nodes > MAX_NODES:
        raise _reject(
            f"expression too complex ({nodes} parts, limit {MAX_NODES})",
            source,
            "split the calculation into smaller steps",
        )


class _Evaluator:
    """Walk one parsed expression bottom-up, checking every step before taking it."""

    def __init__(self, source: str) -> None:
        self._source = source

    def _where(self, node: ast.AST) -> str:
        return ast.get_source_segment(self._source, node) or self._source

    def value_of(self, node: ast.expr) -> Number:
        match node:
            case ast.Constant(value=bool()):
                raise _reject("True/False are not numbers", self._where(node), _ALLOWED)
            case ast.Constant(value=int() | float() as value):
                return self._checked(value, node)
            case ast.Constant(value=complex()):
                raise _reject("complex numbers are not supported", self._where(node), _ALLOWED)
            case ast.Constant(value=str() | bytes()):
                raise _reject("text is not allowed", self._where(node), _ONLY_ARITHMETIC)
            case ast.Constant():
                raise _reject("only numbers are allowed", self._where(node), _ALLOWED)
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                return self._checked(-self.value_of(operand), node)
            case ast.UnaryOp(op=ast.UAdd(), operand=operand):
                return self.value_of(operand)
            case ast.UnaryOp():
                raise _reject("unsupported operator", self._where(node), _ALLOWED)
            case ast.BinOp(op=ast.BitXor()):
                raise _reject(
                    "'^' is not a power", self._where(node), "use ** for powers, e.g. 2**3"
                )
            case ast.BinOp(left=left, op=ast.Pow(), right=right):
                return self._power(self.value_of(left), self.value_of(right), node)
            case ast.BinOp(left=left, op=op, right=right) if type(op) in _BINARY:
                return self._apply(
                    _BINARY[type(op)], (self.value_of(left), self.value_of(right)), node
                )
            case ast.BinOp():
                raise _reject("unsupported operator", self._where(node), _ALLOWED)
            case ast.Name(id=name) if name in _CONSTANTS:
                return _CONSTANTS[name]
            case ast.Name(id=name) if name in _FUNCTIONS:
                raise _reject(f"{name} is a function", name, f"call it, e.g. {name}(2)")
            case ast.Name(id=name):
                raise _reject(f"unknown name {name!r}", self._where(node), _ALLOWED)
            case ast.Call():
                return self._call(node)
            case ast.Attribute(attr=attr) if attr in _FUNCTIONS or attr in _CONSTANTS:
                raise _reject(
                    "attribute access like a.b is not allowed",
                    self._where(node),
                    f"write {attr} without a prefix",
                )
        what = _FORBIDDEN.get(type(node), f"{type(node).__name__} expressions")
        raise _reject(f"{what} not allowed", self._where(node), _ONLY_ARITHMETIC)

    def _call(self, node: ast.Call) -> Number:
        if node.keywords:
            raise _reject(
                "keyword arguments are not allowed", self._where(node), "pass arguments by position"
            )
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            raise _reject(
                "starred arguments like *a are not allowed", self._where(node), _ONLY_ARITHMETIC
            )
        if not isinstance(node.func, ast.Name):
            self.value_of(node.func)  # names what is wrong with a called attribute, lambda...
            raise _reject(
                "only the listed functions can be called",
                self._where(node),
                "write * for multiplication, e.g. 2*(3+4)",
            )
        name = node.func.id
        if name not in _FUNCTIONS:
            raise _reject(f"unknown function {name!r}", self._where(node), _ALLOWED)
        function, low, high, hint = _FUNCTIONS[name]
        if not low <= len(node.args) <= high:
            count = f"{low}" if low == high else f"{low} to {high}"
            raise _reject(
                f"{name} takes {count} argument(s), got {len(node.args)}",
                self._where(node),
                hint or f"call it as {name}(x)",
            )
        args = tuple(self.value_of(arg) for arg in node.args)
        return self._apply(function, args, node, hint)

    def _power(self, base: Number, exponent: Number, node: ast.BinOp) -> Number:
        if abs(exponent) > MAX_EXPONENT:
            raise _reject(
                f"exponent {format_number(exponent)} is too large (limit {MAX_EXPONENT})",
                self._where(node),
                "use a smaller exponent",
            )
        if exponent > 0 and abs(base) > 1 and exponent * math.log10(abs(base)) > MAX_DIGITS:
            raise _reject(
                f"result would have more than {MAX_DIGITS} digits",
                self._where(node),
                "use smaller numbers",
            )
        return self._apply(operator.pow, (base, exponent), node)

    def _apply(
        self, function: Callable[..., Any], args: tuple[Number, ...], node: ast.expr, hint: str = ""
    ) -> Number:
        where = self._where(node)
        try:
            result = function(*args)
        except ZeroDivisionError as exc:
            raise _reject("division by zero", where, hint or "change the expression") from exc
        except OverflowError as exc:
            raise _reject("number too large", where, "use smaller numbers") from exc
        except ValueError as exc:  # math domain errors
            raise _reject(f"{exc}", where, hint or "check the function's input") from exc
        except TypeError as exc:  # e.g. round(2.5, 0.5)
            raise _reject(f"bad argument ({exc})", where, hint or _ALLOWED) from exc
        if isinstance(result, complex):  # only ** makes these: (-8)**(1/3)
            raise _reject(
                "result is not a real number",
                where,
                "a negative base needs a whole-number exponent",
            )
        return self._checked(result, node)

    def _checked(self, value: Number, node: ast.expr) -> Number:
        if isinstance(value, float) and not math.isfinite(value):
            raise _reject("result is too large", self._where(node), "use smaller numbers")
        if isinstance(value, int) and value.bit_length() > _MAX_BITS:
            raise _reject(
                f"result has more than {MAX_DIGITS} digits",
                self._where(node),
                "use smaller numbers",
            )
        return value
