"""Backend configuration: which engines exist, how to reach them, which chains use them.

This is the only module that reads environment variables. Precedence, highest
first: an explicit argument, then an environment variable, then the file
``backends.toml``, then the built-in default (the embedded engine alone).

Environment variables:
    AGENT_ROUTER_CONFIG          path of the backends file (default: ./backends.toml)
    AGENT_ROUTER_MODEL           GGUF file for the embedded engine
    AGENT_ROUTER_THREADS         CPU threads for the embedded engine
    AGENT_ROUTER_CACHE           cache folder for pulled models
    AGENT_ROUTER_<NAME>_BASE_URL base URL of backend <NAME> (upper case, - as _)
    AGENT_ROUTER_<NAME>_MODEL    model of backend <NAME>
    the variable a backend names in ``api_key_env``: its API key
    DATABASE_URL / POSTGRES_URI  PostgreSQL URL for durable checkpoints (first set wins)
    AGENT_ROUTER_API_KEYS        server API keys as ``user1:key1,user2:key2``; unset = auth off
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path

import platformdirs

from backends.errors import GraphConfigError
from backends.settings import BackendConfig, RemoteBackend
from backends.validation import Overrides, RouterConfig, parse_config

__all__ = [
    "api_key",
    "auth_headers",
    "cache_dir",
    "config_identity",
    "load_config",
    "model_override",
    "postgres_url",
    "server_api_keys",
]

DEFAULT_CONFIG_FILE = "backends.toml"
BUILT_IN = {"backends": {"embedded": {"kind": "embedded"}},
            "chains": {"planner": ["embedded"], "drafter": ["embedded"], "answer": ["embedded"]}}


def cache_dir() -> Path:
    """Return the folder where pulled models are cached."""
    configured = os.environ.get("AGENT_ROUTER_CACHE")
    return Path(configured) if configured else Path(platformdirs.user_cache_dir("llm-agent-router"))


def model_override() -> str | None:
    """Return the GGUF path the user forced with AGENT_ROUTER_MODEL, if any."""
    return os.environ.get("AGENT_ROUTER_MODEL") or None


def api_key(cfg: BackendConfig | RemoteBackend) -> str | None:
    """Return the API key of ``cfg`` from the environment variable it names, if any."""
    if isinstance(cfg, RemoteBackend) and cfg.api_key_env:
        return os.environ.get(cfg.api_key_env) or None
    return None


def auth_headers(cfg: BackendConfig | RemoteBackend) -> dict[str, str]:
    """Return the bearer-token header for ``cfg``'s API key, or none without a key."""
    key = api_key(cfg)
    return {"Authorization": f"Bearer {key}"} if key else {}


def postgres_url() -> str | None:
    """Return the PostgreSQL URL for checkpoints from DATABASE_URL or POSTGRES_URI, if set."""
    return os.environ.get("DATABASE_URL") or os.environ.get("POSTGRES_URI") or None


def server_api_keys() -> dict[str, str]:
    """Return the server's API keys as {key: user} from AGENT_ROUTER_API_KEYS.

    The variable reads ``user1:key1,user2:key2``; unset or empty means no keys
    (authentication off). A malformed entry raises ``GraphConfigError``.
    """
    raw = os.environ.get("AGENT_ROUTER_API_KEYS", "")
    keys: dict[str, str] = {}
    entries = [part.strip() for part in raw.split(",") if part.strip()]
    for number, entry in enumerate(entries, start=1):
        user, sep, key = (piece.strip() for piece in entry.partition(":"))
        if not (sep and user and key) or key in keys:
            raise GraphConfigError(
                "AGENT_ROUTER_API_KEYS must read user1:key1,user2:key2 with distinct, "
                f"non-empty users and keys; fix entry {number} (not echoed: it holds a key)",
                key="AGENT_ROUTER_API_KEYS",
            )
        keys[key] = user
    return keys


def _default_file() -> Path | None:
    configured = os.environ.get("AGENT_ROUTER_CONFIG")
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise GraphConfigError(
                f"AGENT_ROUTER_CONFIG={configured!r} is not a file; "
                "point it at a backends.toml or unset it",
                key="AGENT_ROUTER_CONFIG",
            )
        return path
    local = Path(DEFAULT_CONFIG_FILE)
    return local if local.is_file() else None


def _env_overrides() -> Overrides:
    names = ("AGENT_ROUTER_MODEL", "AGENT_ROUTER_THREADS")
    return tuple(sorted(
        (key, value) for key, value in os.environ.items()
        if value and (key in names or key.endswith(("_BASE_URL", "_MODEL")))
        and key.startswith("AGENT_ROUTER_")
    ))


@lru_cache(maxsize=8)
def _load_cached(
    path: str | None, version: tuple[int, int], overrides: Overrides
) -> RouterConfig:
    if path is None:
        return parse_config(BUILT_IN, source="built-in defaults", overrides=overrides)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise GraphConfigError(f"{path} is not valid TOML: {exc}", source=path) from None
    return parse_config(data, source=path, overrides=overrides)


def load_config(path: str | Path | None = None) -> RouterConfig:
    """Load and validate the backends configuration, once per file and environment."""
    chosen = Path(path) if path is not None else _default_file()
    if chosen is None:
        return _load_cached(None, (0, 0), _env_overrides())
    # The file's mtime and size and the overrides are part of the cache key, so an
    # edited file or a changed variable is never served stale.
    stat = chosen.stat()
    return _load_cached(str(chosen.resolve()), (stat.st_mtime_ns, stat.st_size),
                        _env_overrides())


def config_identity() -> tuple[str | None, Overrides]:
    """Return what picks the default configuration: AGENT_ROUTER_CONFIG and the overrides."""
    return os.environ.get("AGENT_ROUTER_CONFIG"), _env_overrides()
