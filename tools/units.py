"""The ``unit_convert`` tool: exact conversions between units of the same kind.

Length, mass, temperature, time, data size, volume, area, speed, energy, pressure
and power. Every factor is an exact ``Fraction`` taken from the unit's definition
(``unit_table`` lists them with their NIST SP 811 or SI Brochure source), and the
value is read from its shortest decimal spelling, so 0.1 means one tenth and results
such as 1 mi = 1.609344 km come out exact. Temperatures are affine and go through
kelvin. Only the final result is rounded, to 12 significant digits. Names are read
forgivingly and refused when they mean several units (``unit_names``).

Why not ``pint`` (0.25.3, measured on this project's 2-core machine): importing it
takes 150-230 ms and building its default registry another 230-440 ms per process
(25 ms with its on-disk cache, which writes to the user's cache folder); and it is
not exact. Given a ``Fraction`` it still goes through floats: 1 US gallon comes out
as 3785411783999999/10**15 L, 1 knot as 1028888888888889/(2*10**15) m/s, 100 °C as
211.99999999999991 °F; its acre is the retired U.S. survey acre. It also reads
"gallon" as the U.S. gallon, "ton" as the short ton and "nm" as the nanometre
without a word, where this tool must refuse. The table here is about 100 lines,
every factor exact and cited, and costs nothing to load.
"""

import math
from decimal import Decimal
from fractions import Fraction

from pydantic import Field

from backends.errors import ToolArgumentError
from tools.base import ToolArgs, make_tool
from tools.unit_names import Unit, find_unit, listing
from tools.unit_table import FACTORS, SYSTEM_NEUTRAL, TO_KELVIN, UNITS

__all__ = ["UNITS", "UnitArgs", "convert", "describe_conversion", "unit_convert"]

_TOOL = "unit_convert"
# Integers are printed in full up to this size; beyond it, 12 significant digits.
_EXACT_INT_LIMIT = 10**15
# Where a unit of one dimension is often meant as a unit of another.
_HINTS = {("oz", "volume"): "for fluid ounces write 'US fl oz' or 'imp fl oz'"}


def convert(value: float | Fraction, from_unit: str, to_unit: str) -> Fraction:
    """Convert ``value`` from one unit to another and return the exact result.

    A float is taken at its shortest decimal spelling, so ``0.1`` is exactly 1/10.

    Raises:
        ToolArgumentError: A unit is unknown or ambiguous, the units measure
            different things, the value is not finite, or a temperature is below
            absolute zero; the message lists the valid units.
    """
    return _converted(value, from_unit, to_unit)[0]


def _converted(value: float | Fraction, from_unit: str, to_unit: str
               ) -> tuple[Fraction, Fraction, Unit, Unit]:
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolArgumentError(f"value must be a finite number, got {value}", tool=_TOOL)
    exact = value if isinstance(value, Fraction) else Fraction(repr(value))
    source, target = find_unit(from_unit, to_unit), find_unit(to_unit, from_unit)
    if source.dimension != target.dimension:
        hint = _HINTS.get((source.readings[0], target.dimension)) \
            or _HINTS.get((target.readings[0], source.dimension))
        raise ToolArgumentError(
            f"cannot convert {source.symbol} ({source.dimension}) to {target.symbol} "
            f"({target.dimension}): {listing(source.dimension)}; {listing(target.dimension)}"
            + (f"; {hint}" if hint else ""),
            tool=_TOOL,
        )
    if source.dimension == "temperature":
        return _temperature(exact, source.symbol, target.symbol), exact, source, target
    factors = FACTORS[source.dimension]
    # One reading per system: a name without US or imperial takes each in turn.
    systems = range(max(len(source.readings), len(target.readings)))
    results = [exact * factors[source.readings[min(i, len(source.readings) - 1)]]
               / factors[target.readings[min(i, len(target.readings) - 1)]] for i in systems]
    if len(set(results)) > 1:
        neutral, written = (source, from_unit) if len(source.readings) > 1 else (target, to_unit)
        raise _which_system(neutral, written)
    return results[0], exact, source, target


def _which_system(unit: Unit, written: str) -> ToolArgumentError:
    us, imperial = SYSTEM_NEUTRAL[unit.symbol]
    sizes = [f"1 {reading} is {_format(FACTORS['volume'][reading] * 10**6)} mL"
             for reading in (us, imperial)]
    return ToolArgumentError(
        f"unit {written!r} is ambiguous here: {' and '.join(sizes)}; write {us!r} or "
        f"{imperial!r}",
        tool=_TOOL,
    )


def _temperature(exact: Fraction, source: str, target: str) -> Fraction:
    scale, offset = TO_KELVIN[source]
    kelvin = (exact + offset) * scale
    if kelvin < 0:
        zero = -TO_KELVIN[source][1]
        raise ToolArgumentError(
            f"{_format(exact)} {source} is below absolute zero ({_format(zero)} {source}): "
            "check the value and its unit",
            tool=_TOOL,
        )
    scale, offset = TO_KELVIN[target]
    return kelvin / scale - offset


def _format(number: Fraction) -> str:
    if number.denominator == 1 and abs(number) < _EXACT_INT_LIMIT:
        return str(number.numerator)
    try:
        return format(float(number) + 0.0, ".12g")  # + 0.0 turns -0.0 into 0.0
    except OverflowError:  # beyond float range: 1e300 TiB in bits
        quotient = Decimal(number.numerator) / Decimal(number.denominator)
        mantissa, exponent = format(quotient, ".11e").split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{exponent}"


def describe_conversion(value: float, from_unit: str, to_unit: str) -> str:
    """Return ``"<value> <from> = <result> <to>"`` with canonical unit symbols.

    Raises:
        ToolArgumentError: As ``convert``.
    """
    result, exact, source, target = _converted(value, from_unit, to_unit)
    return f"{_format(exact)} {source.symbol} = {_format(result)} {target.symbol}"


class UnitArgs(ToolArgs):
    """Arguments of the unit_convert tool."""

    # Bounded so a constrained decoder cannot write a runaway number.
    value: float = Field(allow_inf_nan=False, ge=-1e15, le=1e15,
                         description="The number to convert, e.g. 3.5.")
    from_unit: str = Field(
        min_length=1, max_length=40,
        description="Unit of the value, e.g. km, lb, °C, GiB, min, US gal, sq ft, mph, kWh, psi.",
    )
    to_unit: str = Field(
        min_length=1, max_length=40,
        description="Unit to convert to, of the same kind. Gallons, quarts, pints and fl oz "
        "need US or imp.",
    )


async def _unit_convert(value: float, from_unit: str, to_unit: str) -> str:
    if find_unit(from_unit, to_unit).symbol == find_unit(to_unit, from_unit).symbol:
        # "180 °F to Fahrenheit" is a plan that copied the wrong unit, not a conversion.
        raise ToolArgumentError(
            f"from_unit {from_unit!r} and to_unit {to_unit!r} are the same unit: from_unit "
            "is the unit the value is given in, to_unit the one asked for",
            tool=_TOOL,
        )
    return describe_conversion(value, from_unit, to_unit)


unit_convert = make_tool(
    _unit_convert,
    name="unit_convert",
    description=(
        "Convert a value between units of length, mass, temperature, time, data size, volume, "
        "area, speed, energy, pressure or power (e.g. mi to km, °F to °C, US gal to L, psi to "
        "kPa). Exact."
    ),
    args_schema=UnitArgs,
    risk="safe",
    topics=["math", "units"],
    network=False,
    timeout_s=2.0,
)
