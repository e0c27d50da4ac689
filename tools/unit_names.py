"""Read a unit name as a model writes it: forgiving about spelling, strict about meaning.

Small models copy the user's words ("Kilometres", "sq ft", "miles per hour",
"megabytes (decimal units)"), so before a name is looked up, dots go
("U.S.", "sq. ft."), hyphens and underscores become spaces, "per" becomes "/",
"^2" and "²" become "2", and a degree word goes ("degrees Celsius"). The lookup
then tries, in order: the exact spelling; the spelling in any case, when only one
unit has it; a square or cubic length ("square feet", "sq ft", "m2", "cu ft") or a
length per time ("km/hr", "nautical miles per hour"); the name with a plural s or
es dropped from a word. A trailing parenthesis is first read as a qualifier
("gallons (US)" is "US gallons"), else dropped.

What stays strict: a name that means several units is refused with the choices
(``AMBIGUOUS``; "mb", which could be megabits); and a gallon, quart, pint or fluid
ounce without "US" or "imperial" is a ``Unit`` with both readings, which
``convert`` accepts only where both give the same answer.
"""

import re
from dataclasses import dataclass
from difflib import get_close_matches

from backends.errors import ToolArgumentError
from tools.unit_table import ALIASES, AMBIGUOUS, FACTORS, SYSTEM_NEUTRAL, UNITS

__all__ = ["Unit", "find_unit", "known_unit", "listing"]

_TOOL = "unit_convert"


@dataclass(frozen=True)
class Unit:
    """A unit as read from a name: the symbol shown, its dimension, what it may mean.

    ``readings`` is one unit of ``UNITS``, or the U.S. and the imperial unit for a
    name that does not say which.
    """

    symbol: str
    dimension: str
    readings: tuple[str, ...]


_DEGREE = re.compile(r"^(?:degrees?|deg)\s+|(?<=°)\s+", re.IGNORECASE)
_PER = re.compile(r"\s*/\s*|\s+per\s+", re.IGNORECASE)
_PARENTHESIS = re.compile(r"(.*?)\s*\(([^()]*)\)")
_SQUARE = re.compile(r"(?:square|sq)\s*(.+)|(.+?)\s*(?:squared|2)", re.IGNORECASE)
_CUBIC = re.compile(r"(?:cubic|cu)\s*(.+)|(.+?)\s*(?:cubed|3)", re.IGNORECASE)
_SQUARES = {unit.removesuffix("²"): unit for unit in FACTORS["area"] if unit.endswith("²")}
_CUBES = {unit.removesuffix("³"): unit for unit in FACTORS["volume"] if unit.endswith("³")}
_SPEEDS = {("m", "s"): "m/s", ("km", "h"): "km/h", ("mi", "h"): "mph", ("nmi", "h"): "kn",
           ("ft", "s"): "ft/s"}
_DIMENSION = {unit: dimension for dimension, units in UNITS.items() for unit in units}
_DIMENSION.update({neutral: "volume" for neutral in SYSTEM_NEUTRAL})


def _key(name: str) -> str:
    text = name.replace(".", "").replace("-", " ").replace("_", " ").replace("·", " ")
    text = text.replace("^", "").replace("²", "2").replace("³", "3")
    text = _PER.sub("/", " ".join(text.split()))
    return _DEGREE.sub("", text)


_EXACT = {_key(alias): unit for unit, aliases in ALIASES.items() for alias in (unit, *aliases)}
_EXACT.update({_key(unit): unit for unit in _DIMENSION})
_CASELESS: dict[str, set[str]] = {}
for _alias, _target in _EXACT.items():
    _CASELESS.setdefault(_alias.casefold(), set()).add(_target)


def listing(dimension: str) -> str:
    """Say which units a dimension has, as the error messages list them."""
    return f"{dimension} units are {', '.join(UNITS[dimension])}"


def _unit(symbol: str) -> Unit:
    return Unit(symbol, _DIMENSION[symbol], SYSTEM_NEUTRAL.get(symbol, (symbol,)))


def _direct(key: str, name: str) -> str | None:
    """Return the unit ``key`` spells in some case; raise if it spells several."""
    if key in _EXACT:
        return _EXACT[key]
    if key.casefold() in AMBIGUOUS:
        raise ToolArgumentError(
            f"unit {name!r} is ambiguous: {AMBIGUOUS[key.casefold()]}", tool=_TOOL)
    candidates = sorted(_CASELESS.get(key.casefold(), ()))
    # "Mb" and "kb" usually mean megabits and kilobits, which are not units here.
    bits = key.endswith("b") and any(c in FACTORS["data size"] for c in candidates)
    if len(candidates) == 1 and not bits:
        return candidates[0]
    if candidates:
        raise ToolArgumentError(
            f"unit {name!r} is ambiguous: write {' or '.join(map(repr, candidates))} exactly "
            "('bit' is the only bit unit; B-suffixed units are bytes)",
            tool=_TOOL,
        )
    return None


def _singulars(key: str) -> list[str]:
    words = re.split(r"([ /])", key)
    found = []
    for index in range(0, len(words), 2):
        word = words[index]
        for cut in (2, 1):
            if len(word) > cut + 1 and word.endswith("es"[2 - cut:]):
                found.append("".join([*words[:index], word[:-cut], *words[index + 1:]]))
    return found


def _part(key: str, dimension: str) -> str | None:
    """Return the unit of ``dimension`` that ``key`` names, or None; never raise."""
    for candidate in (key, *_singulars(key)):
        try:
            unit = _direct(candidate, candidate)
        except ToolArgumentError:
            continue
        if unit is not None and _DIMENSION[unit] == dimension:
            return unit
    return None


def _compound(key: str) -> str | None:
    if "/" in key:
        length, _, time = key.partition("/")
        return _SPEEDS.get((_part(length, "length") or "", _part(time, "time") or ""))
    for pattern, powers in ((_SQUARE, _SQUARES), (_CUBIC, _CUBES)):
        match = pattern.fullmatch(key)
        if match:
            side = _part(match.group(1) or match.group(2), "length")
            if side in powers:
                return powers[side]
    return None


def _resolve(key: str, name: str) -> str | None:
    found = _direct(key, name) or _compound(key)
    for singular in _singulars(key) if found is None else ():
        found = _direct(singular, name) or _compound(singular)
        if found is not None:
            break
    return found


def known_unit(name: str) -> Unit | None:
    """Return the unit ``name`` names, or None when it names none or several."""
    try:
        return find_unit(name, "")
    except ToolArgumentError:
        return None


def find_unit(name: str, other: str) -> Unit:
    """Return the unit ``name`` names.

    Args:
        name: The unit as the model wrote it.
        other: The other unit of the conversion; an unknown ``name`` lists the
            units of its dimension, or of every dimension if it is unknown too.

    Raises:
        ToolArgumentError: ``name`` names no unit (the message suggests a close
            spelling and lists units) or several (the message lists them).
    """
    parenthesis = _PARENTHESIS.fullmatch(name.strip())
    bare = name
    if parenthesis and parenthesis.group(1):
        bare, note = parenthesis.groups()
        qualified = known_unit(f"{note} {bare}")
        if qualified is not None:
            return qualified
    key = _key(bare)
    found = _resolve(key, name)
    if found is not None:
        return _unit(found)
    close = get_close_matches(key, list(_EXACT), n=1, cutoff=0.75)
    hint = f"did you mean {_EXACT[close[0]]!r}? " if close else ""
    known = known_unit(other) if other else None
    dimensions = [known.dimension] if known else list(UNITS)
    raise ToolArgumentError(
        f"unknown unit {name!r}: {hint}{'; '.join(listing(dim) for dim in dimensions)}",
        tool=_TOOL,
    )
