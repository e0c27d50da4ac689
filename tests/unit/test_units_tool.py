import math
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backends.errors import ToolArgumentError
from tools.base import tool_info
from tools.runner import run_tool
from tools.units import UNITS, UnitArgs, convert, describe_conversion, unit_convert

EXACT = [
    (1, "mi", "km", "1 mi = 1.609344 km"),
    (100, "C", "F", "100 °C = 212 °F"),
    (-40, "C", "F", "-40 °C = -40 °F"),
    (0, "K", "C", "0 K = -273.15 °C"),
    (1, "GiB", "B", "1 GiB = 1073741824 B"),
    (1, "GB", "B", "1 GB = 1000000000 B"),
    (90, "min", "h", "90 min = 1.5 h"),
    (1, "lb", "g", "1 lb = 453.59237 g"),
    (1, "in", "cm", "1 in = 2.54 cm"),
    (1, "ft", "m", "1 ft = 0.3048 m"),
    (1, "yd", "ft", "1 yd = 3 ft"),
    (1, "nmi", "m", "1 nmi = 1852 m"),
    (1, "oz", "g", "1 oz = 28.349523125 g"),
    (1, "st", "lb", "1 st = 14 lb"),
    (1, "t", "mg", "1 t = 1000000000 mg"),
    (1, "week", "min", "1 week = 10080 min"),
    (1, "day", "ms", "1 day = 86400000 ms"),
    (1, "B", "bit", "1 B = 8 bit"),
    (1, "KiB", "B", "1 KiB = 1024 B"),
    (1, "TiB", "GiB", "1 TiB = 1024 GiB"),
    (1, "TB", "B", "1 TB = 1000000000000 B"),
    (1, "MB", "kB", "1 MB = 1000 kB"),
    (0, "C", "K", "0 °C = 273.15 K"),
    (32, "F", "C", "32 °F = 0 °C"),
    (98.6, "F", "C", "98.6 °F = 37 °C"),
    (0.1, "m", "cm", "0.1 m = 10 cm"),
    (0.1, "ft", "in", "0.1 ft = 1.2 in"),
    (0.3, "m", "mm", "0.3 m = 300 mm"),
    (1, "h", "h", "1 h = 1 h"),
]


@pytest.mark.parametrize(("value", "source", "target", "expected"), EXACT)
def test_converts_exactly(value: float, source: str, target: str, expected: str) -> None:
    assert describe_conversion(float(value), source, target) == expected


def test_exact_results_are_fractions() -> None:
    assert convert(1.0, "mi", "km") == Fraction("1.609344")
    assert convert(1.0, "lb", "kg") == Fraction("0.45359237")
    assert convert(0.1, "km", "m") == 100


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (1, "m", "ft", "1 m = 3.28083989501 ft"),  # 12 significant digits
        (1, "kg", "lb", "1 kg = 2.20462262185 lb"),
        (1, "MB", "MiB", "1 MB = 0.953674316406 MiB"),
        (1, "mg", "t", "1 mg = 1e-09 t"),
        (1e300, "TiB", "bit", "1e+300 TiB = 8.79609302221e+312 bit"),  # beyond float range
        (0.30000000000000004, "m", "m", "0.3 m = 0.3 m"),
    ],
)
def test_rounds_to_12_significant_digits(
    value: float, source: str, target: str, expected: str
) -> None:
    assert describe_conversion(value, source, target) == expected


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("°C", "°C"), ("celsius", "°C"), ("Celsius", "°C"), ("degC", "°C"), ("℃", "°C"),
        ("degrees Celsius", "°C"), ("deg C", "°C"), ("° C", "°C"), ("c", "°C"),
        ("°F", "°F"), ("Fahrenheit", "°F"), ("degrees F", "°F"), ("degF", "°F"),
        ("kelvin", "K"), ("Kelvin", "K"),
        ("miles", "mi"), ("Mile", "mi"), ("metres", "m"), ("meter", "m"), ("feet", "ft"),
        ("inches", "in"), ("kilometers", "km"), ("nautical miles", "nmi"), ("NM", "nmi"),
        ("pounds", "lb"), ("lbs", "lb"), ("kilo", "kg"), ("grams", "g"), ("tonne", "t"),
        ("hours", "h"), ("hr", "h"), ("minutes", "min"), ("sec", "s"), ("days", "day"),
        ("bytes", "B"), ("bits", "bit"), ("b", "bit"), ("KB", "kB"), ("gibibytes", "GiB"),
        ("  km  ", "km"), ("km.", "km"),
    ],
)  # fmt: skip
def test_accepts_aliases(spelling: str, canonical: str) -> None:
    target = "°C" if canonical in UNITS["temperature"] else canonical
    assert describe_conversion(1.0, spelling, target).split(" = ")[0].endswith(f" {canonical}")


def test_incompatible_dimensions_name_both_units_and_list_valid_ones() -> None:
    with pytest.raises(ToolArgumentError) as caught:
        convert(1.0, "m", "kg")
    message = str(caught.value)
    assert "cannot convert m (length) to kg (mass)" in message
    assert "length units are mm, cm, m, km, in, ft, yd, mi, nmi" in message
    assert "mass units are mg, g, kg, t, oz, lb, st" in message
    assert caught.value.tool == "unit_convert"


def test_unknown_unit_lists_the_units_of_the_other_ones_dimension() -> None:
    with pytest.raises(ToolArgumentError) as caught:
        convert(1.0, "furlong", "m")
    message = str(caught.value)
    assert "unknown unit 'furlong'" in message
    assert "length units are mm, cm, m" in message
    assert "mass units" not in message


def test_unknown_units_on_both_sides_list_every_dimension() -> None:
    with pytest.raises(ToolArgumentError) as caught:
        convert(1.0, "parsec", "cubit")
    for dimension in UNITS:
        assert f"{dimension} units are" in str(caught.value)


def test_unknown_unit_suggests_a_close_spelling() -> None:
    with pytest.raises(ToolArgumentError, match="did you mean 'km'"):
        convert(1.0, "kilometer s", "m")


@pytest.mark.parametrize(
    ("unit", "words"),
    [
        ("mb", ["ambiguous", "'MB'"]),  # megabit or megabyte?
        ("Gb", ["ambiguous", "'GB'"]),
        ("ton", ["ambiguous", "metric tonne"]),
        ("nm", ["ambiguous", "nmi"]),
    ],
)
def test_ambiguous_units_are_refused_not_guessed(unit: str, words: list[str]) -> None:
    other = "B" if unit.lower().endswith("b") else "kg" if unit == "ton" else "m"
    with pytest.raises(ToolArgumentError) as caught:
        convert(1.0, unit, other)
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize(
    ("value", "unit", "words"),
    [
        (-300, "C", ["-300 °C", "below absolute zero", "-273.15 °C"]),
        (-500, "F", ["-500 °F", "-459.67 °F"]),
        (-0.001, "K", ["-0.001 K", "0 K"]),
    ],
)
def test_temperature_below_absolute_zero_is_refused(
    value: float, unit: str, words: list[str]
) -> None:
    with pytest.raises(ToolArgumentError) as caught:
        convert(float(value), unit, "K")
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_value_is_refused(value: float) -> None:
    with pytest.raises(ToolArgumentError, match="finite"):
        convert(value, "m", "km")


async def test_tool_is_safe_offline_and_formats_the_result() -> None:
    info = tool_info(unit_convert)
    assert (info.risk, info.network) == ("safe", False)
    assert await unit_convert.ainvoke({"value": 1.0, "from_unit": "mi", "to_unit": "km"}) == (
        "1 mi = 1.609344 km"
    )


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"value": "1", "from_unit": "m", "to_unit": "km"}, "value"),
        ({"value": math.nan, "from_unit": "m", "to_unit": "km"}, "value"),
        ({"value": math.inf, "from_unit": "m", "to_unit": "km"}, "value"),
        ({"value": 1.0, "from_unit": "", "to_unit": "km"}, "from_unit"),
        ({"value": 1.0, "from_unit": "m", "to_unit": "k" * 41}, "to_unit"),
        ({"value": 1.0, "from_unit": "m", "to_unit": "km", "precision": 3}, "precision"),
    ],
)
async def test_runner_rejects_bad_arguments(args: dict[str, object], field: str) -> None:
    result = await run_tool("unit_convert", dict(args), tools={"unit_convert": unit_convert})
    assert result["status"] == "error"
    assert field in result["output"]


async def test_runner_accepts_an_int_value_and_reports_unit_errors() -> None:
    tools = {"unit_convert": unit_convert}
    ok = await run_tool(
        "unit_convert", {"value": 3, "from_unit": "ft", "to_unit": "in"}, tools=tools
    )
    assert (ok["status"], ok["output"]) == ("ok", "3 ft = 36 in")
    bad = await run_tool(
        "unit_convert", {"value": 1, "from_unit": "m", "to_unit": "kg"}, tools=tools
    )
    assert bad["status"] == "error"
    assert "cannot convert m (length) to kg (mass)" in bad["output"]


def test_schema_forbids_extra_keys() -> None:
    assert UnitArgs.model_config.get("extra") == "forbid"


@st.composite
def same_dimension_pair(draw: st.DrawFn) -> tuple[str, str]:
    units = draw(st.sampled_from(sorted(UNITS.values())))
    return draw(st.sampled_from(units)), draw(st.sampled_from(units))


def _above_absolute_zero(value: float, unit: str) -> bool:
    if unit not in UNITS["temperature"]:
        return True
    try:
        convert(value, unit, "K")
    except ToolArgumentError:
        return False
    return True


@settings(database=None, deadline=None, max_examples=300)
@given(st.floats(-1e12, 1e12, allow_nan=False), same_dimension_pair())
def test_round_trip_returns_the_value(value: float, pair: tuple[str, str]) -> None:
    source, target = pair
    assume(_above_absolute_zero(value, source))
    there = convert(value, source, target)
    assert convert(there, target, source) == Fraction(repr(value))  # exact, not approximately
    shown = describe_conversion(value, source, target).split(" = ")[1].split(" ")[0]
    back = convert(float(shown), target, source)
    assert math.isclose(float(back), value, rel_tol=1e-11, abs_tol=1e-9)
