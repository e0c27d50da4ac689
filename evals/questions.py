"""The evaluation question set: loading it, checking it, and resolving its expected values.

``evals/questions.jsonl`` holds one question a line::

    {"id": "pct-01", "split": "dev", "category": "percent",
     "question": "What is 15% of 240?", "expected": [36],
     "tolerance": {"rel": 0.0001, "min_decimals": 1},
     "worked": [{"calc": "240 * 15 / 100"}]}

``expected`` lists every value the answer must give, one per part of the
question, in the order the question asks them: a number; an ISO date
(``"2027-07-19"``); a string (matched case-insensitively as a word, ``a|b`` for
either); a weekday of a fixed date (``{"weekday_of": "2027-07-04"}``); or a value
relative to the day the question runs (UTC): ``{"date_offset_days": 45}`` a date,
``{"weekday_offset_days": 10}`` a weekday, ``{"days_until": "12-25"}`` the days
until that month and day comes next (0 on the day itself). ``worked`` says how
each number was computed (a calculator expression, a unit_convert triple, or a
``note`` for a calendar computation), so a test can recompute it with the tools'
own code.

Every line also says how the router should handle it: ``route`` is ``tools`` or
``chat``; a chat request has a ``complexity``, ``simple`` or ``complex``; and
``"sensitive": true`` marks a request that must never leave local backends.

The ``dev`` half may be used to tune prompts; the ``test`` half is only ever
measured, and its reports give per-category figures, never its misses. Lines
marked ``"retired_test": true`` were an earlier test half; prompts were tuned on
its misses, so it now serves as dev.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from backends.errors import GraphConfigError

__all__ = [
    "CATEGORIES",
    "QUESTIONS",
    "SPLITS",
    "Expected",
    "Question",
    "Tolerance",
    "load_questions",
    "resolve_expected",
]

QUESTIONS = Path(__file__).with_name("questions.jsonl")
CATEGORIES = ("arithmetic", "percent", "units", "everyday_units", "dates", "calendar",
              "two_part", "no_tool", "chat")
SPLITS = ("dev", "test")
ROUTES = ("tools", "chat")
COMPLEXITIES = ("simple", "complex")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Tolerance:
    """When a number shown in an answer counts as the expected one.

    It matches when it is within ``rel`` of the expected value (relative), or
    when it shows at least ``min_decimals`` decimals and equals the expected
    value rounded to that many decimals (``68.04`` for 68.0388555).
    """

    rel: float = 1e-4
    min_decimals: int = 1


@dataclass(frozen=True)
class Expected:
    """One value the answer must contain, resolved for the day of the run."""

    kind: Literal["number", "text", "date", "weekday"]
    value: float | str

    def label(self) -> str:
        """Return the value as a report shows it."""
        if self.kind == "number" and isinstance(self.value, float) and self.value.is_integer():
            return str(int(self.value))
        return str(self.value)


@dataclass(frozen=True)
class Question:
    """One line of the question set."""

    id: str
    split: str
    category: str
    question: str
    expected: tuple[Any, ...]
    tolerance: Tolerance
    worked: tuple[dict[str, Any], ...] = ()
    route: str = "tools"
    complexity: str | None = None
    sensitive: bool = False


def _days_until(month_day: str, today: dt.date) -> int:
    month, day = (int(part) for part in month_day.split("-"))
    for year in range(today.year, today.year + 9):  # 02-29 can be eight years away
        try:
            coming = dt.date(year, month, day)
        except ValueError:  # 02-29 outside a leap year
            continue
        if coming >= today:
            return (coming - today).days
    raise ValueError(f"{month_day!r} is no month and day")


def _resolve_form(key: str, value: Any, today: dt.date) -> Expected | None:
    if key in ("date_offset_days", "weekday_offset_days") and isinstance(value, int) \
            and not isinstance(value, bool):
        day = today + dt.timedelta(days=value)
        return Expected("date", day.isoformat()) if key == "date_offset_days" \
            else Expected("weekday", WEEKDAYS[day.weekday()])
    if key == "weekday_of" and isinstance(value, str):
        return Expected("weekday", WEEKDAYS[dt.date.fromisoformat(value).weekday()])
    if key == "days_until" and isinstance(value, str):
        return Expected("number", float(_days_until(value, today)))
    return None


def resolve_expected(item: Any, today: dt.date) -> Expected:
    """Return what ``item`` of a question's ``expected`` list means on ``today``.

    Raises:
        ValueError: ``item`` is none of the forms the module docstring lists.
    """
    if isinstance(item, bool):
        raise ValueError(f"expected value {item!r} is a boolean, not a number or text")
    if isinstance(item, int | float):
        return Expected("number", float(item))
    if isinstance(item, str) and _ISO_DAY.fullmatch(item.strip()):
        dt.date.fromisoformat(item.strip())
        return Expected("date", item.strip())
    if isinstance(item, str) and item.strip():
        return Expected("text", item.strip())
    if isinstance(item, dict) and len(item) == 1:
        [(key, value)] = item.items()
        try:
            resolved = _resolve_form(key, value, today)
        except ValueError:
            resolved = None
        if resolved is not None:
            return resolved
    raise ValueError(f"expected value {item!r} is not a number, a text, "
                     "{'date_offset_days': N}, {'weekday_offset_days': N}, "
                     "{'weekday_of': 'YYYY-MM-DD'} or {'days_until': 'MM-DD'}")


def _routing(row: dict[str, Any]) -> tuple[str, str | None, bool]:
    route, complexity = row.get("route"), row.get("complexity")
    if route not in ROUTES:
        raise ValueError(f"route {route!r} is not one of {ROUTES}: say whether the router "
                         "should send the question to the tools or to chat")
    if route == "chat" and complexity not in COMPLEXITIES:
        raise ValueError(f"a chat request needs a complexity, one of {COMPLEXITIES}")
    if route == "tools" and complexity is not None:
        raise ValueError("only chat requests have a complexity")
    sensitive = row.get("sensitive", False)
    if not isinstance(sensitive, bool):
        raise ValueError(f"sensitive must be true or false, not {sensitive!r}")
    return route, complexity, sensitive


def _question(row: Any) -> Question:
    if not isinstance(row, dict):
        raise ValueError("each line must be a JSON object")
    missing = {"id", "split", "category", "question", "expected"} - set(row)
    if missing:
        raise ValueError(f"missing keys {sorted(missing)}")
    if row["split"] not in SPLITS:
        raise ValueError(f"split {row['split']!r} is not one of {SPLITS}")
    if row["category"] not in CATEGORIES:
        raise ValueError(f"category {row['category']!r} is not one of {CATEGORIES}")
    route, complexity, sensitive = _routing(row)
    if not isinstance(row["expected"], list) or not row["expected"]:
        raise ValueError("expected must be a non-empty list")
    for item in row["expected"]:
        resolve_expected(item, dt.date(2000, 1, 1))
    tolerance = Tolerance(**row.get("tolerance", {}))
    return Question(id=str(row["id"]), split=row["split"], category=str(row["category"]),
                    question=str(row["question"]), expected=tuple(row["expected"]),
                    tolerance=tolerance, worked=tuple(row.get("worked", ())), route=route,
                    complexity=complexity, sensitive=sensitive)


def load_questions(path: Path = QUESTIONS, *, split: str = "all",
                   limit: int | None = None) -> list[Question]:
    """Read a question file, keep ``split`` (dev, test or all), then the first ``limit``.

    Raises:
        GraphConfigError: The file is missing or a line is malformed (named by number).
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise GraphConfigError(f"cannot read the question file {path}: {exc.strerror}",
                               key="questions", source=str(path)) from None
    questions: list[Question] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            questions.append(_question(json.loads(line)))
        except (ValueError, TypeError) as exc:
            raise GraphConfigError(f"{where}: {exc}", key="questions",
                                   source=str(path)) from None
    ids = [q.id for q in questions]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise GraphConfigError(f"{path}: duplicate question ids {duplicates}",
                               key="questions", source=str(path))
    chosen = [q for q in questions if split == "all" or q.split == split]
    if not chosen:
        raise GraphConfigError(f"{path} has no questions in split {split!r}",
                               key="split", source=str(path))
    return chosen[:limit] if limit is not None else chosen
