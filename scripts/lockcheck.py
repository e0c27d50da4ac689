"""Check that the dependency locks still match pyproject.toml.

``make lock`` compiles ``requirements.lock`` (the app) and ``requirements-dev.lock``
(the app plus the ``dev`` and ``bench`` extras) with pip-compile, then records in each
lock's header the pyproject requirements it was made from::

    # lockcheck: extras = bench,dev
    # lockcheck: requires = httpx>=0.28,<0.29
    ...

``make run`` and ``make test`` run this check before installing from a lock. It fails,
naming each offending requirement and saying to run ``make lock``, when:

- a requirement was added to, changed in or removed from pyproject.toml since the lock
  was made (compares the recorded inputs with the current ones);
- a pinned version does not satisfy its requirement, or a requirement has no pin (a
  hand-edited lock). This part needs ``packaging`` and is skipped without it, so the
  check also runs on a bare interpreter before anything is installed.

Only the standard library is needed otherwise. A repository tool, not part of the
installed packages: run it from the repository root as ``python scripts/lockcheck.py
[LOCK ...]``, or with ``--record LOCK --extras dev,bench`` to write the header
(``make lock`` does).
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["DEFAULT_LOCKS", "check_lock", "locked_versions", "main", "pyproject_requirements",
           "record_inputs", "recorded_inputs"]

DEFAULT_LOCKS = ("requirements.lock", "requirements-dev.lock")
FIX = "run `make lock` to refresh requirements.lock and requirements-dev.lock, then commit them"
_TAG = "# lockcheck:"
_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _normalize(requirement: str) -> str:
    """Spell a PEP 508 requirement one way: canonical name, no spaces in the specifier."""
    body, semicolon, marker = requirement.partition(";")
    match = _NAME.match(body)
    if match is None:
        return " ".join(requirement.split())
    rest = re.sub(r"\s+", "", body[match.end():])
    text = _canonical(match.group(1)) + rest
    return f"{text}; {' '.join(marker.split())}" if semicolon else text


def _name_of(requirement: str) -> str:
    match = _NAME.match(requirement)
    return _canonical(match.group(1)) if match else requirement


def pyproject_requirements(pyproject: Path, extras: Iterable[str]) -> list[str]:
    """Return ``[project]`` dependencies plus those of ``extras``, normalized and sorted."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    found = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        found += optional.get(extra, [])
    return sorted({_normalize(r) for r in found})


def locked_versions(lock_text: str) -> dict[str, str]:
    """Map each pinned package's canonical name to its version in a pip-compile lock."""
    pins = {}
    for line in lock_text.splitlines():
        match = _PIN.match(line)
        if match:
            pins[_canonical(match.group(1))] = match.group(2)
    return pins


def recorded_inputs(lock_text: str) -> tuple[list[str], list[str]] | None:
    """Return ``(extras, requirements)`` recorded by ``make lock``, or None if absent."""
    extras: list[str] | None = None
    requires: list[str] = []
    for line in lock_text.splitlines():
        if not line.startswith(_TAG):
            continue
        key, equals, value = line[len(_TAG):].partition("=")
        if not equals:
            continue
        if key.strip() == "extras":
            extras = [e for e in value.strip().split(",") if e]
        elif key.strip() == "requires":
            requires.append(value.strip())
    return None if extras is None else (extras, requires)


def record_inputs(lock: Path, pyproject: Path, extras: Sequence[str]) -> None:
    """Write (or rewrite) the lockcheck header of ``lock`` from the current pyproject."""
    lines = [ln for ln in lock.read_text(encoding="utf-8").splitlines()
             if not ln.startswith(_TAG)]
    header = 0
    while header < len(lines) and lines[header].startswith("#"):
        header += 1
    block = [f"{_TAG} pyproject.toml's requirements behind this lock (`make lock` writes them)",
             f"{_TAG} extras = {','.join(sorted(extras))}".rstrip(),
             *(f"{_TAG} requires = {r}" for r in pyproject_requirements(pyproject, extras))]
    lock.write_text("\n".join([*lines[:header], *block, *lines[header:]]) + "\n",
                    encoding="utf-8")


def _unsatisfied(requirements: Iterable[str], pins: dict[str, str]) -> dict[str, str]:
    """Say, per requirement, why the pinned versions do not meet it (needs packaging)."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        return {}
    problems = {}
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        version = pins.get(_canonical(requirement.name))
        if version is None:
            problems[text] = "has no pin in the lock"
        elif not requirement.specifier.contains(version, prereleases=True):
            problems[text] = f"is not met by the locked {requirement.name}=={version}"
    return problems


def check_lock(lock: Path, pyproject: Path) -> list[str]:
    """Return one line per way ``lock`` disagrees with ``pyproject``; empty when in sync."""
    if not lock.is_file():
        return [f"{lock.name} is missing"]
    text = lock.read_text(encoding="utf-8")
    inputs = recorded_inputs(text)
    if inputs is None:
        return [f"{lock.name} has no '{_TAG}' header (it was not made by `make lock`)"]
    extras, recorded = inputs
    current = pyproject_requirements(pyproject, extras)
    was = {_name_of(r): r for r in recorded if r not in current}
    now = {_name_of(r) for r in current}
    problems = []
    unsatisfied = _unsatisfied(current, locked_versions(text))
    for requirement in current:
        if requirement in recorded:
            if requirement in unsatisfied:
                problems.append(f"`{requirement}` {unsatisfied[requirement]}")
            continue
        old = was.get(_name_of(requirement))
        detail = f"was `{old}` when the lock was made" if old else "is new since the lock was made"
        if requirement in unsatisfied:
            detail += f" and {unsatisfied[requirement]}"
        problems.append(f"`{requirement}` in pyproject.toml {detail}")
    problems += [f"`{r}` was removed from pyproject.toml after the lock was made"
                 for r in recorded if r not in current and _name_of(r) not in now]
    return [f"{lock.name}: {p}" for p in problems]


def main(argv: Sequence[str] | None = None) -> int:
    """Check the locks (or record one's inputs); print what disagrees and return 1 if any."""
    parser = argparse.ArgumentParser(prog="python scripts/lockcheck.py",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("locks", nargs="*", type=Path, default=[Path(p) for p in DEFAULT_LOCKS])
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    parser.add_argument("--record", type=Path, help="write this lock's lockcheck header")
    parser.add_argument("--extras", default="", help="comma-separated extras, with --record")
    args = parser.parse_args(argv)
    if args.record:
        record_inputs(args.record, args.pyproject, [e for e in args.extras.split(",") if e])
        return 0
    problems = [p for lock in args.locks for p in check_lock(lock, args.pyproject)]
    if not problems:
        return 0
    print("The dependency locks do not match pyproject.toml:", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    print(FIX + ".", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
