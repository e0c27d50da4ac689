"""Time zone names as a model writes them, checked against the tz database.

Reading the database touches the disk (a directory walk for the list of names, a
file per zone), so the tools that take a zone call ``find_zone`` in a worker
thread, never on the event loop.
"""

import functools
from difflib import get_close_matches
from zoneinfo import ZoneInfo, available_timezones

from backends.errors import ToolArgumentError

__all__ = ["find_zone"]


@functools.cache
def _zone_keys() -> dict[str, str]:
    return {key.lower(): key for key in available_timezones()}


def find_zone(name: str, tool: str) -> ZoneInfo:
    """Return the IANA zone ``name`` names, matched case-insensitively.

    Args:
        name: The zone as the model wrote it, e.g. ``europe/paris``.
        tool: The tool asking, named in the error.

    Raises:
        ToolArgumentError: The name is no tz database key; the message suggests
            the closest one when there is one.
    """
    # Only keys from the tz database reach ZoneInfo: arbitrary strings can be
    # paths ("../x") or directories ("Europe") and fail with OS errors.
    keys = _zone_keys()
    key = keys.get(name.strip().lower())
    if key is None:
        close = get_close_matches(name.strip().lower(), keys, n=1)
        hint = f"did you mean {keys[close[0]]!r}? " if close else ""
        raise ToolArgumentError(
            f"unknown time zone {name!r}: {hint}use an IANA name such as 'UTC' or 'Europe/Paris'",
            tool=tool,
        )
    return ZoneInfo(key)
