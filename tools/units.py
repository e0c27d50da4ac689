"""The ``unit_convert`` tool: exact conversions of length, mass, temperature, time and data size.

Every factor is an exact ``Fraction`` taken from the unit's definition (1 in is
0.0254 m, 1 lb is 0.45359237 kg, 1 KiB is 1024 B), and the value is read from
its shortest decimal spelling, so 0.1 means one tenth and results such as
1 mi = 1.609344 km come out exact. Temperatures are affine and go through
kelvin. Only the final result is rounded, to 12 significant digits.
"""

import math
import re
from decimal import Decimal
from difflib import get_close_matches
from fractions import Fraction

from pydantic import Field

from backends.errors import ToolArgumentError
from tools.base import ToolArgs, make_tool

__all__ = ["UNITS", "UnitArgs", "convert", "describe_conversion", "unit_convert"]

_F = Fraction

# dimension -> unit -> size of one unit in the dimension's base unit (m, kg, s, B).
_FACTORS: dict[str, dict[str, Fraction]] = {
    "length": {
        "mm": _F("0.001"), "cm": _F("0.01"), "m": _F(1), "km": _F(1000),
        "in": _F("0.0254"), "ft": _F("0.3048"), "yd": _F("0.9144"),
        "mi": _F("1609.344"), "nmi": _F(1852),
    },
    "mass": {
        "mg": _F("0.000001"), "g": _F("0.001"), "kg": _F(1), "t": _F(1000),
        "oz": _F("0.45359237") / 16, "lb": _F("0.45359237"), "st": _F("0.45359237") * 14,
    },
    "time": {
        "ms": _F("0.001"), "s": _F(1), "min": _F(60), "h": _F(3600),
        "day": _F(86400), "week": _F(604800),
    },
    "data size": {
        "bit": _F(1, 8), "B": _F(1),
        "kB": _F(10**3), "MB": _F(10**6), "GB": _F(10**9), "TB": _F(10**12),
        "KiB": _F(2**10), "MiB": _F(2**20), "GiB": _F(2**30), "TiB": _F(2**40),
    },
}  # fmt: skip

# unit -> (scale, offset) with kelvin = (value + offset) * scale
_TO_KELVIN: dict[str, tuple[Fraction, Fraction]] = {
    "°C": (_F(1), _F("273.15")),
    "°F": (_F(5, 9), _F("459.67")),
    "K": (_F(1), _F(0)),
}

UNITS: dict[str, tuple[str, ...]] = {
    **{dimension: tuple(units) for dimension, units in _FACTORS.items()},
    "temperature": tuple(_TO_KELVIN),
}

# Spellings matched exactly, before the case-insensitive fallback.
_ALIASES: dict[str, tuple[str, ...]] = {
    "mm": ("millimeter", "millimeters", "millimetre", "millimetres"),
    "cm": ("centimeter", "centimeters", "centimetre", "centimetres"),
    "m": ("meter", "meters", "metre", "metres"),
    "km": ("kilometer", "kilometers", "kilometre", "kilometres"),
    "in": ("inch", "inches"),
    "ft": ("foot", "feet"),
    "yd": ("yard", "yards"),
    "mi": ("mile", "miles"),
    "nmi": ("nautical mile", "nautical miles", "NM"),
    "mg": ("milligram", "milligrams"),
    "g": ("gram", "grams", "gramme", "grammes"),
    "kg": ("kilogram", "kilograms", "kilo", "kilos"),
    "t": ("tonne", "tonnes", "metric ton", "metric tons"),
    "oz": ("ounce", "ounces"),
    "lb": ("lbs", "pound", "pounds"),
    "st": ("stone", "stones"),
    "°C": ("C", "℃", "degC", "celsius", "centigrade"),
    "°F": ("F", "℉", "degF", "fahrenheit"),
    "K": ("kelvin", "kelvins", "degK", "°K"),
    "ms": ("millisecond", "milliseconds", "msec"),
    "s": ("sec", "secs", "second", "seconds"),
    "min": ("mins", "minute", "minutes"),
    "h": ("hr", "hrs", "hour", "hours"),
    "day": ("d", "days"),
    "week": ("wk", "weeks"),
    "bit": ("bits", "b"),
    "B": ("byte", "bytes", "octet", "octets"),
    "kB": ("KB", "kilobyte", "kilobytes"),
    "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"),
    "TB": ("terabyte", "terabytes"),
    "KiB": ("kibibyte", "kibibytes"),
    "MiB": ("mebibyte", "mebibytes"),
    "GiB": ("gibibyte", "gibibytes"),
    "TiB": ("tebibyte", "tebibytes"),
}

# Spellings that name several units; guessing one would give a wrong answer.
_AMBIGUOUS = {
    "ton": "it is 907 kg (US), 1016 kg (UK) or 1000 kg (metric); use t for the metric tonne",
    "tons": "it is 907 kg (US), 1016 kg (UK) or 1000 kg (metric); use t for the metric tonne",
    "nm": "nm could be nanometres or nautical miles: use nmi for nautical miles",
}

_DIMENSION = {unit: dimension for dimension, units in UNITS.items() for unit in units}
_EXACT = {alias: unit for unit, aliases in _ALIASES.items() for alias in (unit, *aliases)}
_CASELESS: dict[str, set[str]] = {}
for _alias, _target in _EXACT.items():
    _CASELESS.setdefault(_alias.casefold(), set()).add(_target)
# "degrees Celsius", "deg F", "° C": the word or sign is dropped before lookup.
_DEGREE = re.compile(r"^(?:degrees?|deg)\s+|(?<=°)\s+", re.IGNORECASE)
# Integers are printed in full up to this size; beyond it, 12 significant digits.
_EXACT_INT_LIMIT = 10**15


def _listing(dimension: str) -> str:
    return f"{dimension} units are {', '.join(UNITS[dimension])}"


def _spelled(name: str) -> str:
    return _DEGREE.sub("", " ".join(name.split()).removesuffix("."))


def _known(name: str) -> str | None:
    spelled = _spelled(name)
    candidates = _CASELESS.get(spelled.casefold(), set())
    return _EXACT.get(spelled) or (next(iter(candidates)) if len(candidates) == 1 else None)


def _unit(name: str, other: str) -> str:
    spelled = _spelled(name)
    unit = _EXACT.get(spelled)
    if unit is not None:
        return unit
    if spelled.casefold() in _AMBIGUOUS:
        raise ToolArgumentError(
            f"unit {name!r} is ambiguous: {_AMBIGUOUS[spelled.casefold()]}", tool="unit_convert"
        )
    candidates = sorted(_CASELESS.get(spelled.casefold(), ()))
    # "Mb" and "kb" usually mean megabits and kilobits, which are not units here.
    bits = spelled.endswith("b") and any(c in _FACTORS["data size"] for c in candidates)
    if len(candidates) == 1 and not bits:
        return candidates[0]
    if candidates:
        raise ToolArgumentError(
            f"unit {name!r} is ambiguous: write {' or '.join(map(repr, candidates))} exactly "
            "('bit' is the only bit unit; B-suffixed units are bytes)",
            tool="unit_convert",
        )
    close = get_close_matches(spelled, list(_EXACT), n=1, cutoff=0.75)
    hint = f"did you mean {_EXACT[close[0]]!r}? " if close else ""
    known = _known(other)
    dimensions = [_DIMENSION[known]] if known else list(UNITS)
    raise ToolArgumentError(
        f"unknown unit {name!r}: {hint}{'; '.join(_listing(dim) for dim in dimensions)}",
        tool="unit_convert",
    )


def convert(value: float | Fraction, from_unit: str, to_unit: str) -> Fraction:
    """Convert ``value`` from one unit to another and return the exact result.

    A float is taken at its shortest decimal spelling, so ``0.1`` is exactly 1/10.

    Raises:
        ToolArgumentError: A unit is unknown, the units measure different
            things, the value is not finite, or a temperature is below
            absolute zero; the message lists the valid units.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolArgumentError(f"value must be a finite number, got {value}", tool="unit_convert")
    exact = value if isinstance(value, Fraction) else Fraction(repr(value))
    source, target = _unit(from_unit, to_unit), _unit(to_unit, from_unit)
    dimension = _DIMENSION[source]
    if _DIMENSION[target] != dimension:
        raise ToolArgumentError(
            f"cannot convert {source} ({dimension}) to {target} ({_DIMENSION[target]}): "
            f"{_listing(dimension)}; {_listing(_DIMENSION[target])}",
            tool="unit_convert",
        )
    if dimension != "temperature":
        return exact * _FACTORS[dimension][source] / _FACTORS[dimension][target]
    scale, offset = _TO_KELVIN[source]
    kelvin = (exact + offset) * scale
    if kelvin < 0:
        zero = -_TO_KELVIN[source][1]
        raise ToolArgumentError(
            f"{_format(exact)} {source} is below absolute zero ({_format(zero)} {source}): "
            "check the value and its unit",
            tool="unit_convert",
        )
    scale, offset = _TO_KELVIN[target]
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
    result = convert(value, from_unit, to_unit)
    source, target = _unit(from_unit, to_unit), _unit(to_unit, from_unit)
    return f"{_format(Fraction(repr(value)))} {source} = {_format(result)} {target}"


class UnitArgs(ToolArgs):
    """Arguments of the unit_convert tool."""

    # Bounded so a constrained decoder cannot write a runaway number.
    value: float = Field(allow_inf_nan=False, ge=-1e15, le=1e15,
                         description="The number to convert, e.g. 3.5.")
    from_unit: str = Field(
        min_length=1, max_length=40, description="Unit of the value, e.g. km, lb, °C, GiB, min."
    )
    to_unit: str = Field(
        min_length=1, max_length=40, description="Unit to convert to, of the same kind."
    )


async def _unit_convert(value: float, from_unit: str, to_unit: str) -> str:
    return describe_conversion(value, from_unit, to_unit)


unit_convert = make_tool(
    _unit_convert,
    name="unit_convert",
    description=(
        "Convert a value between units of length, mass, temperature, time or data size "
        "(e.g. mi to km, °F to °C, GiB to MB). Results are exact."
    ),
    args_schema=UnitArgs,
    risk="safe",
    topics=["math", "units"],
    network=False,
    timeout_s=2.0,
)
