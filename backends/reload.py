"""When an edit of ``backends.toml`` takes effect: at once, or at the next start.

Two parts of the file are read once, when a process starts (``startup_config``):

* ``[tools]``: the tool registry (``tools.registry.TOOLS``) is built from it at import;
* the *names* of backends and chains: Studio's dropdowns (``agents.context``) list them.

Everything else (a backend's URL, model, timeouts, the members of a chain) is read
again for every model call that starts a second or more after the last read
(``current_config``), so an edit applies without a restart. When an edit touches a
part read at start, ``current_config`` logs a warning once per edit, naming it,
and ``agent-router backends`` names each running ``agent-router dev`` server that
started before it (``record_server`` / ``stale_servers``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from backends.config import cache_dir, config_identity, load_config
from backends.validation import Overrides, RouterConfig

__all__ = [
    "RESTART_SECTIONS",
    "StaleServer",
    "current_config",
    "record_server",
    "restart_needed",
    "stale_servers",
    "startup_config",
]

logger = logging.getLogger(__name__)

RESTART_SECTIONS = ("[tools]", "backend and chain names")
RECHECK_AFTER_S = 1.0

# What current_config() last loaded, by AGENT_ROUTER_CONFIG and overrides, with when.
_recent: dict[tuple[str | None, Overrides], tuple[float, RouterConfig]] = {}
_warned: set[tuple[str, ...]] = set()


@lru_cache(maxsize=1)
def startup_config() -> RouterConfig:
    """Return the configuration as this process first read it (tools, dropdown names)."""
    return load_config()


def _read_at_start(config: RouterConfig) -> dict[str, object]:
    return {RESTART_SECTIONS[0]: config.tools.model_dump(mode="json"),
            RESTART_SECTIONS[1]: config.names()}


def restart_needed(config: RouterConfig, started: RouterConfig) -> list[str]:
    """Return the parts read at start in which ``config`` differs from ``started``."""
    now, then = _read_at_start(config), _read_at_start(started)
    return [section for section in RESTART_SECTIONS if now[section] != then[section]]


async def current_config() -> RouterConfig:
    """Return the default configuration, for code on the event loop.

    ``load_config()`` looks at the file, which blocks, so it runs in a worker thread,
    at most once a second: every model call asks, and a thread hop per call would
    cost more than the rest of the routing. An edited ``backends.toml`` applies to
    calls that start up to a second later; a changed environment variable, at once.
    """
    key = config_identity()
    seen = _recent.get(key)
    if seen is not None and time.monotonic() - seen[0] < RECHECK_AFTER_S:
        return seen[1]
    config = await asyncio.to_thread(load_config)
    _recent[key] = (time.monotonic(), config)
    _warn_if_stale(config)
    return config


def _warn_if_stale(config: RouterConfig) -> None:
    started = startup_config()
    changed = restart_needed(config, started) if config.source == started.source else []
    if changed and (config.source, *changed) not in _warned:
        _warned.add((config.source, *changed))
        logger.warning("%s changed since this process started: %s apply only after a "
                       "restart; the other settings apply now", config.source,
                       " and ".join(changed))


def _servers_dir() -> Path:
    return cache_dir() / "servers"


def record_server(pid: int, config: RouterConfig) -> Path:
    """Note that process ``pid`` serves the graphs with ``config`` as read at its start."""
    folder = _servers_dir()
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / f"{pid}.json"
    record.write_text(json.dumps({
        "pid": pid, "source": config.source, "read_at_start": _read_at_start(config),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}))
    return record


@dataclass(frozen=True)
class StaleServer:
    """A running server whose start-time settings differ from the file's."""

    pid: int
    started: str
    changed: tuple[str, ...]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_servers(config: RouterConfig) -> list[StaleServer]:
    """Return the recorded live servers on ``config``'s file that need a restart for it.

    Records of servers that have ended are removed on the way.
    """
    stale = []
    for record in sorted(_servers_dir().glob("*.json")):
        try:
            data = json.loads(record.read_text())
        except (OSError, ValueError):
            continue
        if not _alive(int(data["pid"])):
            record.unlink(missing_ok=True)
            continue
        if data["source"] != config.source:
            continue
        now = _read_at_start(config)
        changed = tuple(s for s in RESTART_SECTIONS if now[s] != data["read_at_start"].get(s))
        if changed:
            stale.append(StaleServer(int(data["pid"]), str(data["started"]), changed))
    return stale
