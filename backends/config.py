"""Backend configuration: which engines exist and how to reach them.

This is the only module that reads environment variables. Precedence, highest
first: an explicit argument, then an environment variable, then the file
``backends.toml``, then the built-in default (the embedded engine alone).

Environment variables:
    AGENT_ROUTER_CONFIG   path of the backends file (default: ./backends.toml if present)
    AGENT_ROUTER_MODEL    GGUF file for the embedded engine (default: the pulled SmolLM2)
    AGENT_ROUTER_CACHE    cache folder for pulled models (default: the user cache dir)
    AGENT_ROUTER_THREADS  CPU threads for the embedded engine (default: all cores)
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backends.errors import GraphConfigError

__all__ = [
    "BackendConfig",
    "EmbeddedSettings",
    "GenerationParams",
    "RouterConfig",
    "cache_dir",
    "load_config",
    "model_override",
    "parse_config",
]

DEFAULT_CONFIG_FILE = "backends.toml"


class GenerationParams(BaseModel):
    """One vocabulary for sampling parameters, mapped to each engine's own names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: Annotated[float, Field(ge=0.0, le=2.0)] | None = None
    top_p: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    top_k: Annotated[int, Field(ge=0)] | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    stop: tuple[str, ...] | None = None
    seed: int | None = None
    repetition_penalty: Annotated[float, Field(gt=0.0)] | None = None
    frequency_penalty: Annotated[float, Field(ge=-2.0, le=2.0)] | None = None

    def merged(self, override: GenerationParams) -> GenerationParams:
        """Return these parameters with every value set in ``override`` replacing ours."""
        return self.model_copy(update=override.model_dump(exclude_none=True))


class EmbeddedSettings(BaseModel):
    """How the in-process llama.cpp engine is started."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_path: str | None = Field(
        default=None, description="GGUF file; unset means the pulled default model."
    )
    n_ctx: Annotated[int, Field(ge=512)] = 8192
    n_parallel: Annotated[int, Field(ge=1, le=64)] = 4
    threads: Annotated[int, Field(ge=1)] | None = None
    port: Annotated[int, Field(ge=0, le=65535)] = 0
    verbose: bool = False


class BackendConfig(BaseModel):
    """One configured backend."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["embedded"]
    timeout_s: Annotated[float, Field(gt=0)] = 120.0
    local: bool = True
    params: GenerationParams = GenerationParams()
    engine: EmbeddedSettings = EmbeddedSettings()


class RouterConfig(BaseModel):
    """Every configured backend, keyed by name, and where the settings came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backends: dict[str, BackendConfig]
    source: str

    def backend(self, name: str, *, key: str) -> BackendConfig:
        """Return the backend called ``name``; ``key`` names the setting that asked for it."""
        try:
            return self.backends[name]
        except KeyError:
            known = ", ".join(sorted(self.backends))
            raise GraphConfigError(
                f"{key}={name!r} names no configured backend; choose one of: {known} "
                f"(backends are declared in {self.source})",
                key=key,
                source=self.source,
            ) from None


def cache_dir() -> Path:
    """Return the folder where pulled models are cached."""
    configured = os.environ.get("AGENT_ROUTER_CACHE")
    return Path(configured) if configured else Path(platformdirs.user_cache_dir("llm-agent-router"))


def model_override() -> str | None:
    """Return the GGUF path the user forced with AGENT_ROUTER_MODEL, if any."""
    return os.environ.get("AGENT_ROUTER_MODEL") or None


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


def _apply_overrides(
    raw: dict[str, Any], overrides: tuple[str | None, str | None]
) -> dict[str, Any]:
    model, threads = overrides
    for entry in raw.values():
        if entry.get("kind") != "embedded":
            continue
        engine = dict(entry.get("engine", {}))
        if model:
            engine["model_path"] = model
        if threads:
            engine["threads"] = threads
        entry["engine"] = engine
    return raw


def _validation_lines(exc: ValidationError, prefix: str) -> list[str]:
    return [
        f"  {prefix}.{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
        for error in exc.errors()
    ]


def _env_overrides() -> tuple[str | None, str | None]:
    return model_override(), os.environ.get("AGENT_ROUTER_THREADS") or None


def parse_config(
    data: dict[str, Any],
    *,
    source: str,
    overrides: tuple[str | None, str | None] = (None, None),
) -> RouterConfig:
    """Validate a parsed backends document; errors name the file and the key.

    Args:
        data: the parsed document, with a ``backends`` table of tables.
        source: where it came from, quoted in error messages.
        overrides: embedded-engine model path and thread count that replace the file's.
    """
    tables = data.get("backends")
    if not isinstance(tables, dict) or not tables:
        raise GraphConfigError(
            f"{source} has no [backends.<name>] tables; declare at least one backend",
            key="backends",
            source=source,
        )
    raw = {name: {**table, "name": name} for name, table in tables.items()}
    backends: dict[str, BackendConfig] = {}
    problems: list[str] = []
    for name, entry in _apply_overrides(raw, overrides).items():
        try:
            backends[name] = BackendConfig.model_validate(entry)
        except ValidationError as exc:
            problems += _validation_lines(exc, f"backends.{name}")
    if problems:
        raise GraphConfigError(
            f"invalid backend configuration in {source}:\n" + "\n".join(problems),
            key=problems[0].split(":")[0].strip(),
            source=source,
        )
    return RouterConfig(backends=backends, source=source)


@lru_cache(maxsize=8)
def _load_cached(path: str | None, overrides: tuple[str | None, str | None]) -> RouterConfig:
    if path is None:
        default = {"backends": {"embedded": {"kind": "embedded"}}}
        return parse_config(default, source="built-in defaults", overrides=overrides)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise GraphConfigError(f"{path} is not valid TOML: {exc}", source=path) from None
    return parse_config(data, source=path, overrides=overrides)


def load_config(path: str | Path | None = None) -> RouterConfig:
    """Load and validate the backends configuration, once per file and environment."""
    chosen = Path(path) if path is not None else _default_file()
    # The overrides are part of the cache key so a changed variable is never served stale.
    return _load_cached(str(chosen.resolve()) if chosen else None, _env_overrides())
