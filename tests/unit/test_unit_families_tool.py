"""unit_convert's everyday families (volume, area, speed, energy, pressure, power) and names."""

from fractions import Fraction

import pytest

from backends.errors import ToolArgumentError
from tools.runner import run_tool
from tools.unit_names import find_unit
from tools.unit_table import FACTORS, SYSTEM_NEUTRAL
from tools.units import UNITS, convert, describe_conversion, unit_convert

# (unit, base unit, the factor NIST SP 811 Appendix B.8 prints, its significant digits).
# Seven digits where SP 811 rounds; every digit where it prints the factor in bold (exact).
NIST = [
    ("US gal", "m³", "3.785412E-03", 7), ("imp gal", "m³", "4.54609E-03", None),
    ("US qt", "m³", "9.463529E-04", 7), ("US pt", "m³", "4.731765E-04", 7),
    ("cup", "m³", "2.365882E-04", 7), ("US fl oz", "m³", "2.957353E-05", 7),
    ("imp fl oz", "m³", "2.841306E-05", 7), ("tbsp", "m³", "1.478676E-05", 7),
    ("tsp", "m³", "4.928922E-06", 7), ("ft³", "m³", "2.831685E-02", 7),
    ("in³", "m³", "1.6387064E-05", None), ("L", "m³", "1.0E-03", None),
    ("ft²", "m²", "9.290304E-02", None), ("in²", "m²", "6.4516E-04", None),
    ("yd²", "m²", "8.361274E-01", 7), ("mi²", "m²", "2.589988E+06", 7),
    ("ha", "m²", "1.0E+04", None),
    ("mph", "m/s", "4.4704E-01", None), ("km/h", "m/s", "2.777778E-01", 7),
    ("kn", "m/s", "5.144444E-01", 7), ("ft/s", "m/s", "3.048E-01", None),
    ("cal", "J", "4.184", None), ("kcal", "J", "4.184E+03", None),
    ("Wh", "J", "3.6E+03", None), ("kWh", "J", "3.6E+06", None),
    ("atm", "Pa", "1.01325E+05", None), ("bar", "Pa", "1.0E+05", None),
    ("psi", "Pa", "6.894757E+03", 7), ("mbar", "Pa", "1.0E+02", None),
    ("hp", "W", "7.456999E+02", 7), ("kW", "W", "1.0E+03", None),
]  # fmt: skip


@pytest.mark.parametrize(("unit", "base", "printed", "digits"), NIST)
def test_factors_match_nist_sp_811(unit: str, base: str, printed: str,
                                   digits: int | None) -> None:
    exact = convert(Fraction(1), unit, base)
    if digits is None:
        assert exact == Fraction(printed)
    else:
        assert float(f"{float(exact):.{digits - 1}e}") == float(printed)


@pytest.mark.parametrize(("value", "source", "target", "expected"), [
    (1, "US gal", "L", "1 US gal = 3.785411784 L"),
    (1, "imp gal", "L", "1 imp gal = 4.54609 L"),
    (1, "US gal", "US fl oz", "1 US gal = 128 US fl oz"),
    (1, "imp gal", "imp fl oz", "1 imp gal = 160 imp fl oz"),
    (1, "cup", "mL", "1 cup = 236.5882365 mL"),
    (1, "tbsp", "tsp", "1 tbsp = 3 tsp"),
    (1, "m³", "L", "1 m³ = 1000 L"),
    (1, "cm³", "mL", "1 cm³ = 1 mL"),
    (1, "ft³", "L", "1 ft³ = 28.316846592 L"),
    (1, "acre", "ft²", "1 acre = 43560 ft²"),
    (1, "acre", "m²", "1 acre = 4046.8564224 m²"),
    (1, "km²", "ha", "1 km² = 100 ha"),
    (1, "mi²", "acre", "1 mi² = 640 acre"),
    (1, "m²", "cm²", "1 m² = 10000 cm²"),
    (1, "mm²", "cm²", "1 mm² = 0.01 cm²"),
    (1, "mph", "km/h", "1 mph = 1.609344 km/h"),
    (36, "km/h", "m/s", "36 km/h = 10 m/s"),
    (1, "kn", "km/h", "1 kn = 1.852 km/h"),
    (1, "kWh", "MJ", "1 kWh = 3.6 MJ"),
    (1, "kcal", "kJ", "1 kcal = 4.184 kJ"),
    (1, "Wh", "J", "1 Wh = 3600 J"),
    (1, "atm", "hPa", "1 atm = 1013.25 hPa"),
    (1, "bar", "kPa", "1 bar = 100 kPa"),
    (1, "MPa", "bar", "1 MPa = 10 bar"),
    (1, "MW", "kW", "1 MW = 1000 kW"),
])  # fmt: skip
def test_converts_everyday_units_exactly(value: float, source: str, target: str,
                                         expected: str) -> None:
    assert describe_conversion(float(value), source, target) == expected


def test_results_stay_exact_fractions() -> None:
    assert convert(1.0, "kn", "m/s") == Fraction(463, 900)
    assert convert(1.0, "psi", "Pa") == Fraction("0.45359237") * Fraction("9.80665") / Fraction(
        "0.0254") ** 2
    assert convert(1.0, "hp", "W") == 550 * Fraction("0.3048") * Fraction(
        "0.45359237") * Fraction("9.80665")
    assert convert(100.0, "km/h", "mph") == Fraction(100_000_000, 1_609_344)
    assert convert(convert(3.0, "US gal", "imp pt"), "imp pt", "US gal") == 3


@pytest.mark.parametrize("dimension", ["volume", "area", "speed", "energy", "pressure", "power"])
def test_every_new_unit_round_trips_exactly_through_every_other(dimension: str) -> None:
    units = UNITS[dimension]
    for source in units:
        for target in units:
            for value in (Fraction(1), Fraction("0.1"), Fraction(-7, 3), Fraction(10**12)):
                there = convert(value, source, target)
                assert convert(there, target, source) == value, (source, target)


def test_the_new_families_are_listed() -> None:
    for dimension in ("volume", "area", "speed", "energy", "pressure", "power"):
        assert set(UNITS[dimension]) == set(FACTORS[dimension])
    assert "volume" in unit_convert.description and "power" in unit_convert.description


@pytest.mark.parametrize(("spelling", "canonical"), [
    ("Kilometres", "km"), ("KILOMETERS", "km"), ("megabytes (decimal units)", "MB"),
    ("kilometres (km)", "km"), ("miles (nautical)", "nmi"), ("tons (metric)", "t"),
    ("litres", "L"), ("Liters", "L"), ("l", "L"), ("ml", "mL"), ("millilitres", "mL"),
    ("cc", "cm³"), ("cubic metres", "m³"), ("m3", "m³"), ("m^3", "m³"), ("cu ft", "ft³"),
    ("cubic feet", "ft³"), ("cubic inches", "in³"),
    ("US gallons", "US gal"), ("U.S. gallons", "US gal"), ("gallons (US)", "US gal"),
    ("gallon (imperial)", "imp gal"), ("UK gallons", "imp gal"), ("Imperial Gallons", "imp gal"),
    ("US quarts", "US qt"), ("imperial pints", "imp pt"), ("US fluid ounces", "US fl oz"),
    ("fl. oz. (US)", "US fl oz"), ("UK fl oz", "imp fl oz"), ("cups", "cup"),
    ("tablespoons", "tbsp"), ("teaspoons", "tsp"),
    ("sq ft", "ft²"), ("sq. ft.", "ft²"), ("sqft", "ft²"), ("square feet", "ft²"),
    ("Square Foot", "ft²"), ("ft^2", "ft²"), ("ft2", "ft²"), ("feet squared", "ft²"),
    ("square metres", "m²"), ("square meters", "m²"), ("sq m", "m²"), ("m2", "m²"),
    ("square kilometres", "km²"), ("km2", "km²"), ("sq mi", "mi²"), ("square miles", "mi²"),
    ("square inches", "in²"), ("sq yd", "yd²"), ("square millimetres", "mm²"),
    ("acres", "acre"), ("hectares", "ha"), ("Hectare", "ha"),
    ("miles per hour", "mph"), ("MPH", "mph"), ("miles/hour", "mph"), ("mi/hr", "mph"),
    ("km per hour", "km/h"), ("kilometres per hour", "km/h"), ("kph", "km/h"),
    ("km/hr", "km/h"), ("KM/H", "km/h"), ("km / h", "km/h"), ("metres per second", "m/s"),
    ("m/sec", "m/s"), ("meters per second", "m/s"), ("feet per second", "ft/s"),
    ("knots", "kn"), ("knot", "kn"), ("nautical miles per hour", "kn"),
    ("joules", "J"), ("kilojoules", "kJ"), ("megajoules", "MJ"), ("kilocalories", "kcal"),
    ("food calories", "kcal"), ("Kcal", "kcal"), ("watt hours", "Wh"),
    ("kilowatt hours", "kWh"), ("kilowatt-hours", "kWh"), ("kW·h", "kWh"), ("KWH", "kWh"),
    ("pascals", "Pa"), ("kilopascals", "kPa"), ("hectopascals", "hPa"), ("millibars", "mbar"),
    ("bars", "bar"), ("atmospheres", "atm"), ("pounds per square inch", "psi"),
    ("PSI", "psi"), ("lbf/in²", "psi"),
    ("watts", "W"), ("kilowatts", "kW"), ("megawatts", "MW"), ("horsepower", "hp"),
    ("HP", "hp"),
])  # fmt: skip
def test_forgiving_spellings_name_the_plain_unit(spelling: str, canonical: str) -> None:
    assert find_unit(spelling, "").symbol == canonical


@pytest.mark.parametrize(("source", "target", "words"), [
    ("ton", "kg", ["'ton' is ambiguous", "907 kg (US)", "1016 kg (UK)", "use t for"]),
    ("tons", "kg", ["'tons' is ambiguous", "metric tonne"]),
    ("nm", "m", ["'nm' is ambiguous", "nanometres or nautical miles", "nmi"]),
    ("calories", "kJ", ["'calories' is ambiguous", "cal, 4.184 J", "kcal, 4184 J"]),
    ("Calorie", "J", ["'Calorie' is ambiguous", "use cal or kcal"]),
    ("mb", "B", ["'mb' is ambiguous", "'MB'"]),
    ("gallons", "L", ["'gallons' is ambiguous here", "1 US gal is 3785.411784 mL",
                      "1 imp gal is 4546.09 mL", "write 'US gal' or 'imp gal'"]),
    ("L", "gallon", ["'gallon' is ambiguous here", "'US gal' or 'imp gal'"]),
    ("pints", "mL", ["'pints' is ambiguous here", "'US pt' or 'imp pt'"]),
    ("quarts", "cups", ["'quarts' is ambiguous here", "'US qt' or 'imp qt'"]),
    ("fl oz", "mL", ["'fl oz' is ambiguous here", "'US fl oz' or 'imp fl oz'"]),
    ("gallons", "fl oz", ["'gallons' is ambiguous here"]),  # 128 or 160
    ("US gal", "fl oz", ["'fl oz' is ambiguous here"]),
])  # fmt: skip
def test_names_that_mean_two_things_are_refused_with_the_choices(
        source: str, target: str, words: list[str]) -> None:
    with pytest.raises(ToolArgumentError) as caught:
        convert(1.0, source, target)
    assert caught.value.tool == "unit_convert"
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize(("value", "source", "target", "expected"), [
    (2, "gallons", "quarts", "2 gal = 8 qt"),
    (1, "gallon", "pints", "1 gal = 8 pt"),
    (3, "pints", "gallons", "3 pt = 0.375 gal"),
    (1, "fl oz", "fl oz", "1 fl oz = 1 fl oz"),
])  # fmt: skip
def test_us_or_imperial_does_not_matter_where_both_give_the_same_answer(
        value: float, source: str, target: str, expected: str) -> None:
    assert describe_conversion(float(value), source, target) == expected


@pytest.mark.parametrize(("source", "target"), [
    ("°F", "Fahrenheit"), ("km", "kilometres"), ("fl oz", "fl oz"), ("US gal", "US gallons"),
])  # fmt: skip
async def test_the_tool_refuses_a_conversion_to_the_same_unit_as_a_mistaken_plan(
        source: str, target: str) -> None:
    args = {"value": 180.0, "from_unit": source, "to_unit": target}
    result = await run_tool("unit_convert", args, tools={"unit_convert": unit_convert})
    assert result["status"] == "error"
    assert f"from_unit {source!r} and to_unit {target!r} are the same unit" in result["output"]
    assert "from_unit is the unit the value is given in" in result["output"]


def test_every_system_neutral_name_has_a_us_and_an_imperial_reading() -> None:
    for us, imperial in SYSTEM_NEUTRAL.values():
        assert us.startswith("US ") and imperial.startswith("imp ")
        assert us in UNITS["volume"] and imperial in UNITS["volume"]


def test_a_mass_ounce_for_a_volume_points_at_fluid_ounces() -> None:
    with pytest.raises(ToolArgumentError) as caught:
        convert(8.0, "ounces", "mL")
    message = str(caught.value)
    assert "cannot convert oz (mass) to mL (volume)" in message
    assert "for fluid ounces write 'US fl oz' or 'imp fl oz'" in message


def test_unknown_units_list_the_other_units_family() -> None:
    with pytest.raises(ToolArgumentError) as caught:
        convert(1.0, "furlongs per fortnight", "mph")
    message = str(caught.value)
    assert "unknown unit 'furlongs per fortnight'" in message
    assert "speed units are m/s, km/h, mph, kn, ft/s" in message
    assert "mass units" not in message
    with pytest.raises(ToolArgumentError, match="did you mean 'psi'"):
        convert(1.0, "psia", "Pa")


def test_units_of_different_families_are_refused_naming_both() -> None:
    with pytest.raises(ToolArgumentError) as caught:
        convert(1.0, "kWh", "kW")
    assert "cannot convert kWh (energy) to kW (power)" in str(caught.value)
    assert "energy units are J, kJ, MJ, cal, kcal, Wh, kWh" in str(caught.value)
