"""Validate a parsed backends document into a ``RouterConfig``, naming every bad key.

Reads nothing itself: ``backends.config`` reads the file and the environment, and
passes the environment's overrides in.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NoReturn

from pydantic import BaseModel, ConfigDict, ValidationError

from backends.errors import GraphConfigError
from backends.settings import KINDS, BackendConfig, ToolSettings

__all__ = ["Overrides", "RouterConfig", "parse_config"]

Overrides = tuple[tuple[str, str], ...]


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


def _env_prefix(name: str) -> str:
    return "AGENT_ROUTER_" + re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_"


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
