"""The evaluation question set: loading it, checking it, and resolving its expected values.

``evals/questions.jsonl`` holds one question a line::

    {"id": "pct-01", "split": "dev", "category": "percent",
     "question": "What is 15% of 240?", "expected": [36],
     "tolerance": {"rel": 0.0001, "min_decimals": 1},
     "worked": [{"calc": "240 * 15 / 100"}]}

``expected`` lists every value the answer must contain: a number, a string
(matched case-insensitively as a word), or a date relative to the day the
question runs (UTC): ``{"date_offset_days": 45}`` is an ISO date,
``{"weekday_offset_days": 10}`` a weekday name. ``worked`` says how each
number was computed (a calculator expression, or a unit_convert triple), so a
test can recompute it with the tools' own code. The ``dev`` half may be used to
tune prompts; the ``test`` half is only ever measured.
"""

from __future__ import annotations

import datetime as dt
import json
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
CATEGORIES = ("arithmetic", "percent", "units", "dates", "two_part", "no_tool")
SPLITS = ("dev", "test")
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


def resolve_expected(item: Any, today: dt.date) -> Expected:
    """Return what ``item`` of a question's ``expected`` list means on ``today``.

    Raises:
        ValueError: ``item`` is none of the forms the module docstring lists.
    """
    if isinstance(item, bool):
        raise ValueError(f"expected value {item!r} is a boolean, not a number or text")
    if isinstance(item, int | float):
        return Expected("number", float(item))
    if isinstance(item, str) and item.strip():
        return Expected("text", item.strip())
    if isinstance(item, dict) and len(item) == 1:
        [(key, days)] = item.items()
        if isinstance(days, int) and not isinstance(days, bool):
            day = today + dt.timedelta(days=days)
            if key == "date_offset_days":
                return Expected("date", day.isoformat())
            if key == "weekday_offset_days":
                return Expected("weekday", WEEKDAYS[day.weekday()])
    raise ValueError(f"expected value {item!r} is not a number, a text, "
                     "{'date_offset_days': N} or {'weekday_offset_days': N}")


def _question(row: Any) -> Question:
    if not isinstance(row, dict):
        raise ValueError("each line must be a JSON object")
    missing = {"id", "split", "category", "question", "expected"} - set(row)
    if missing:
        raise ValueError(f"missing keys {sorted(missing)}")
    if row["split"] not in SPLITS:
        raise ValueError(f"split {row['split']!r} is not one of {SPLITS}")
    if not isinstance(row["expected"], list) or not row["expected"]:
        raise ValueError("expected must be a non-empty list")
    for item in row["expected"]:
        resolve_expected(item, dt.date(2000, 1, 1))
    tolerance = Tolerance(**row.get("tolerance", {}))
    return Question(id=str(row["id"]), split=row["split"], category=str(row["category"]),
                    question=str(row["question"]), expected=tuple(row["expected"]),
                    tolerance=tolerance, worked=tuple(row.get("worked", ())))


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
