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
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

import platformdirs
from pydantic import BaseModel, ConfigDict, ValidationError

from backends.errors import GraphConfigError
from backends.settings import (
    KINDS,
    BackendConfig,
    EmbeddedSettings,
    GenerationParams,
    RemoteBackend,
    ToolSettings,
)

__all__ = [
    "BackendConfig",
    "EmbeddedSettings",
    "GenerationParams",
    "RouterConfig",
    "api_key",
    "auth_headers",
    "postgres_url",
    "server_api_keys",
    "cache_dir",
    "config_identity",
    "load_config",
    "model_override",
    "parse_config",
]

DEFAULT_CONFIG_FILE = "backends.toml"
BUILT_IN = {"backends": {"embedded": {"kind": "embedded"}},
            "chains": {"planner": ["embedded"], "drafter": ["embedded"], "answer": ["embedded"]}}


class RouterConfig(BaseModel):
    """Every configured backend and chain, and where the settings came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backends: dict[str, BackendConfig]
    chains: dict[str, tuple[str, ...]]
    tools: ToolSettings = ToolSettings()
    source: str

    def names(self) -> list[str]:
        """Return every name a node may be given: chains first, then single backends."""
        return sorted(self.chains) + sorted(self.backends)

    def backend(self, name: str, *, key: str) -> BackendConfig:
        """Return the backend called ``name``; ``key`` names the setting that asked for it."""
        if name not in self.backends:
            self._unknown(name, key)
        return self.backends[name]

    def chain(self, name: str, *, key: str) -> tuple[BackendConfig, ...]:
        """Return the backends to try in order for ``name``, a chain or a single backend."""
        if name in self.chains:
            return tuple(self.backends[member] for member in self.chains[name])
        if name in self.backends:
            return (self.backends[name],)
        self._unknown(name, key)

    def _unknown(self, name: str, key: str) -> NoReturn:
        raise GraphConfigError(
            f"{key}={name!r} names no configured chain or backend; choose one of: "
            # The file's name, not its path: the message reaches API clients.
            f"{', '.join(self.names())} (declared in {Path(self.source).name})",
            key=key,
            source=self.source,
        )


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


def _env_prefix(name: str) -> str:
    return "AGENT_ROUTER_" + re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_"


Overrides = tuple[tuple[str, str], ...]


def _env_overrides() -> Overrides:
    names = ("AGENT_ROUTER_MODEL", "AGENT_ROUTER_THREADS")
    return tuple(sorted(
        (key, value) for key, value in os.environ.items()
        if value and (key in names or key.endswith(("_BASE_URL", "_MODEL")))
        and key.startswith("AGENT_ROUTER_")
    ))


def _apply_overrides(name: str, entry: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    entry = {**entry, "name": name}
    if entry.get("kind") == "embedded":
        engine = dict(entry.get("engine", {}))
        if "AGENT_ROUTER_MODEL" in env:
            engine["model_path"] = env["AGENT_ROUTER_MODEL"]
        if "AGENT_ROUTER_THREADS" in env:
            engine["threads"] = env["AGENT_ROUTER_THREADS"]
        return {**entry, "engine": engine}
    prefix = _env_prefix(name)
    for setting in ("base_url", "model"):
        if prefix + setting.upper() in env:
            entry[setting] = env[prefix + setting.upper()]
    return entry


def _validate_backend(name: str, table: Any, env: dict[str, str]) -> BackendConfig | list[str]:
    where = f"backends.{name}"
    if not isinstance(table, dict):
        return [f"  {where}: must be a table like [backends.{name}]"]
    kind = table.get("kind")
    if kind not in KINDS:
        return [f"  {where}.kind: {kind!r} is not a backend kind; use one of {sorted(KINDS)}"]
    try:
        validated: BackendConfig = KINDS[kind].model_validate(  # type: ignore[assignment]
            _apply_overrides(name, table, env)
        )
    except ValidationError as exc:
        return [f"  {where}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors()]
    return validated


def _validate_chains(raw: Any, backends: dict[str, BackendConfig]) -> list[str]:
    if not isinstance(raw, dict):
        return ["  chains: must be a table of name = [backend, ...]"]
    problems = []
    for name, members in raw.items():
        if name in backends:
            problems.append(f"  chains.{name}: a chain cannot share the name of a backend")
        elif not isinstance(members, list) or not members:
            problems.append(f"  chains.{name}: must be a non-empty list of backend names")
        else:
            problems += [
                f"  chains.{name}[{i}]: {member!r} is not a declared backend; "
                f"declare [backends.{member}] or use one of {sorted(backends)}"
                for i, member in enumerate(members) if member not in backends
            ]
    return problems


def _resolve_folders(table: Any, source: str) -> Any:
    if not isinstance(table, dict):
        return table
    base = Path(source).parent if Path(source).is_file() else Path.cwd()
    return {key: str(base / value) if key in ("files_root", "knowledge_dir")
            and isinstance(value, str) else value for key, value in table.items()}


def parse_config(
    data: dict[str, Any], *, source: str, overrides: Overrides = ()
) -> RouterConfig:
    """Validate a parsed backends document; errors name the file and every bad key.

    Args:
        data: the parsed document: ``backends``, optional ``chains`` and ``tools`` tables.
        source: where it came from, quoted in error messages.
        overrides: (variable, value) pairs from the environment that replace settings.
    """
    tables = data.get("backends")
    if not isinstance(tables, dict) or not tables:
        raise GraphConfigError(
            f"{source} has no [backends.<name>] tables; declare at least one backend",
            key="backends", source=source,
        )
    env = dict(overrides)
    backends: dict[str, BackendConfig] = {}
    problems: list[str] = []
    for name, table in tables.items():
        result = _validate_backend(name, table, env)
        if isinstance(result, list):
            problems += result
        else:
            backends[name] = result
    raw_chains = data.get("chains", {})
    if not problems:
        problems += _validate_chains(raw_chains, backends)
    tools = ToolSettings()
    try:
        tools = ToolSettings.model_validate(_resolve_folders(data.get("tools", {}), source))
    except ValidationError as exc:
        problems += [f"  tools.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                     for e in exc.errors()]
    if problems:
        raise GraphConfigError(
            f"invalid backend configuration in {source}:\n" + "\n".join(problems),
            key=problems[0].split(":")[0].strip(), source=source,
        )
    chains = {name: tuple(members) for name, members in raw_chains.items()}
    return RouterConfig(backends=backends, chains=chains, tools=tools, source=source)


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
