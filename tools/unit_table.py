"""The units ``unit_convert`` knows: exact factors, their sources, and their spellings.

Every factor is an exact ``Fraction``: the size of one unit in its dimension's
base unit (m, kg, s, B, m³, m², m/s, J, Pa, W). Sources, each tagged on its line:

* [SI] The International System of Units (SI Brochure), 9th edition, BIPM 2019:
  the prefixes (Table 7) and the non-SI units accepted for use with the SI
  (Table 8): litre = 1 dm³, hectare = 1 hm², tonne = 1000 kg, minute, hour, day.
* [SP 811] NIST Special Publication 811 (2008), *Guide for the Use of the SI*,
  Appendix B.8 and B.9. Where it prints a factor in bold, the factor is exact
  and copied. Where it prints a rounded factor, the table computes the exact
  value from the definition SP 811 gives: the international inch (0.0254 m),
  foot, yard, mile and avoirdupois pound (0.45359237 kg); the U.S. gallon of
  231 in³; the imperial gallon of 4.54609 L; standard gravity 9.80665 m/s² for
  the pound-force; the horsepower of 550 ft·lbf/s; the knot of one nautical mile
  (1852 m) per hour. The acre is 43 560 ft² of the international foot: SP 811
  prints the U.S. survey acre, and NIST retired the survey foot at the end of 2022.

A unit's spellings are its symbol and the ``ALIASES`` listed here; ``unit_names``
adds what it can derive (case, plurals, "square"/"sq", "per hour", a parenthesis).
"""

from fractions import Fraction

__all__ = ["ALIASES", "AMBIGUOUS", "FACTORS", "SYSTEM_NEUTRAL", "TO_KELVIN", "UNITS"]

_F = Fraction
_INCH = _F("0.0254")  # SP 811
_FOOT = _INCH * 12  # SP 811
_MILE = _FOOT * 5280  # SP 811
_POUND = _F("0.45359237")  # SP 811
_POUND_FORCE = _POUND * _F("9.80665")  # SP 811: lbf, with standard gravity
_US_GALLON = 231 * _INCH**3  # SP 811: 231 in³
_IMP_GALLON = _F("0.00454609")  # SP 811 (bold): 4.546 09 E-03 m³
_HOUR = _F(3600)  # SI

# dimension -> unit -> size of one unit in the dimension's base unit.
FACTORS: dict[str, dict[str, Fraction]] = {
    "length": {  # SI prefixes; SP 811 for in, ft, yd, mi and nmi (bold)
        "mm": _F("0.001"), "cm": _F("0.01"), "m": _F(1), "km": _F(1000),
        "in": _INCH, "ft": _FOOT, "yd": _FOOT * 3, "mi": _MILE, "nmi": _F(1852),
    },
    "mass": {  # SI prefixes and tonne; SP 811 for the avoirdupois pound
        "mg": _F("0.000001"), "g": _F("0.001"), "kg": _F(1), "t": _F(1000),
        "oz": _POUND / 16, "lb": _POUND, "st": _POUND * 14,
    },
    "time": {  # SI Table 8
        "ms": _F("0.001"), "s": _F(1), "min": _F(60), "h": _HOUR,
        "day": _F(86400), "week": _F(604800),
    },
    "data size": {  # SI prefixes (kB, MB ...); IEC 80000-13 binary prefixes (KiB ...)
        "bit": _F(1, 8), "B": _F(1),
        "kB": _F(10**3), "MB": _F(10**6), "GB": _F(10**9), "TB": _F(10**12),
        "KiB": _F(2**10), "MiB": _F(2**20), "GiB": _F(2**30), "TiB": _F(2**40),
    },
    "volume": {  # SI: L, mL, cm³, m³; SP 811: the rest, from the two gallons
        "mL": _F(1, 10**6), "L": _F(1, 1000), "cm³": _F(1, 10**6), "m³": _F(1),
        "in³": _INCH**3, "ft³": _FOOT**3,
        "US gal": _US_GALLON, "US qt": _US_GALLON / 4, "US pt": _US_GALLON / 8,
        "cup": _US_GALLON / 16, "US fl oz": _US_GALLON / 128,
        "tbsp": _US_GALLON / 256, "tsp": _US_GALLON / 768,
        "imp gal": _IMP_GALLON, "imp qt": _IMP_GALLON / 4, "imp pt": _IMP_GALLON / 8,
        "imp fl oz": _IMP_GALLON / 160,
    },
    "area": {  # SI: metric squares and ha; SP 811: in², ft², yd², mi², acre
        "mm²": _F(1, 10**6), "cm²": _F(1, 10**4), "m²": _F(1), "ha": _F(10**4),
        "km²": _F(10**6), "in²": _INCH**2, "ft²": _FOOT**2, "yd²": (_FOOT * 3) ** 2,
        "mi²": _MILE**2, "acre": 43560 * _FOOT**2,
    },
    "speed": {  # SI: m/s, km/h; SP 811: mph (bold 0.447 04), ft/s, knot = 1852 m/h
        "m/s": _F(1), "km/h": 1000 / _HOUR, "mph": _MILE / _HOUR, "kn": 1852 / _HOUR,
        "ft/s": _FOOT,
    },
    "energy": {  # SI: J, kJ, MJ, Wh = 3600 J; SP 811 (bold): calorie_th = 4.184 J
        "J": _F(1), "kJ": _F(1000), "MJ": _F(10**6), "cal": _F("4.184"),
        "kcal": _F(4184), "Wh": _HOUR, "kWh": 1000 * _HOUR,
    },
    "pressure": {  # SI: Pa and prefixes; SP 811: bar (bold), atm (bold), psi = lbf/in²
        "Pa": _F(1), "hPa": _F(100), "kPa": _F(1000), "MPa": _F(10**6),
        "mbar": _F(100), "bar": _F(10**5), "psi": _POUND_FORCE / _INCH**2,
        "atm": _F(101325),
    },
    "power": {  # SI: W and prefixes; SP 811: horsepower = 550 ft·lbf/s
        "W": _F(1), "kW": _F(1000), "MW": _F(10**6), "hp": 550 * _FOOT * _POUND_FORCE,
    },
}  # fmt: skip

# unit -> (scale, offset) with kelvin = (value + offset) * scale
TO_KELVIN: dict[str, tuple[Fraction, Fraction]] = {
    "°C": (_F(1), _F("273.15")),
    "°F": (_F(5, 9), _F("459.67")),
    "K": (_F(1), _F(0)),
}

UNITS: dict[str, tuple[str, ...]] = {
    **{dimension: tuple(units) for dimension, units in FACTORS.items()},
    "temperature": tuple(TO_KELVIN),
}

# Names that mean the U.S. or the imperial unit: they convert only where both
# readings give the same answer (4 qt to a gal), and are refused elsewhere.
SYSTEM_NEUTRAL: dict[str, tuple[str, str]] = {
    "gal": ("US gal", "imp gal"),
    "qt": ("US qt", "imp qt"),
    "pt": ("US pt", "imp pt"),
    "fl oz": ("US fl oz", "imp fl oz"),
}

_US, _IMPERIAL = ("US", "American"), ("imp", "imperial", "UK", "British")


def _both(unit: str, *names: str) -> dict[str, tuple[str, ...]]:
    us, imperial = SYSTEM_NEUTRAL[unit]
    return {us: tuple(f"{q} {name}" for q in _US for name in (unit, *names)),
            imperial: tuple(f"{q} {name}" for q in _IMPERIAL for name in (unit, *names))}


# Spellings matched exactly, before the case-insensitive fallback. Plurals that
# only add s or es need not be listed: unit_names drops them when nothing matches.
ALIASES: dict[str, tuple[str, ...]] = {
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
    "mL": ("ml", "millilitre", "milliliter"),
    "L": ("l", "litre", "liter", "ltr"),
    "cm³": ("cc", "cubic centimetre", "cubic centimeter"),
    "m³": ("cubic metre", "cubic meter"),
    "gal": ("gallon",),
    "qt": ("quart",),
    "pt": ("pint",),
    "fl oz": ("floz", "fluid ounce", "fluid oz"),
    **_both("gal", "gallon"), **_both("qt", "quart"), **_both("pt", "pint"),
    **_both("fl oz", "fluid ounce", "floz"),
    "cup": ("US cup", "cups"),
    "tbsp": ("tablespoon", "tbs", "US tablespoon"),
    "tsp": ("teaspoon", "US teaspoon"),
    "ha": ("hectare",),
    "acre": ("ac", "acres"),
    "mph": ("miles per hour", "mi/h"),
    "km/h": ("kph", "kmh", "kmph", "km/hr"),
    "kn": ("knot", "kt", "kts", "nautical miles per hour"),
    "J": ("joule",),
    "kJ": ("kilojoule",),
    "MJ": ("megajoule",),
    "cal": ("small calorie", "gram calorie"),
    "kcal": ("kilocalorie", "food calorie", "large calorie"),
    "Wh": ("watt hour", "W h"),
    "kWh": ("kilowatt hour", "kW h"),
    "Pa": ("pascal",),
    "hPa": ("hectopascal",),
    "kPa": ("kilopascal",),
    "MPa": ("megapascal",),
    "mbar": ("millibar",),
    "bar": (),
    "psi": ("lbf/in2", "pound per square inch", "pound force per square inch"),
    "atm": ("atmosphere", "standard atmosphere"),
    "W": ("watt",),
    "kW": ("kilowatt",),
    "MW": ("megawatt",),
    "hp": ("horsepower", "bhp"),
}

# Spellings that name several units; guessing one would give a wrong answer.
_TONS = "it is 907 kg (US), 1016 kg (UK) or 1000 kg (metric); use t for the metric tonne"
_CALORIES = ("it is the small calorie (cal, 4.184 J) or the food Calorie (kcal, 4184 J); "
             "use cal or kcal")
AMBIGUOUS = {
    "ton": _TONS,
    "tons": _TONS,
    "nm": "nm could be nanometres or nautical miles: use nmi for nautical miles",
    "calorie": _CALORIES,
    "calories": _CALORIES,
}
