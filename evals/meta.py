"""What an evaluation ran on: live backends and their models (file and hash).

The commit it ran is ``bench.provenance.commit``, shared with the benchmark.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.context import run_context
from backends.chat import health
from backends.config import load_config
from backends.errors import BackendUnavailable
from backends.model_file import resolve_model_path
from backends.settings import EmbeddedBackend
from backends.validation import RouterConfig

__all__ = ["chains_used", "check_backends"]


def chains_used(config: RouterConfig, fields: Sequence[str],
                contexts: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """Return the members of each chain that ``fields`` name in ``contexts``.

    A field left empty (``escalation_backend=""``: never escalate) names no chain.

    Raises:
        GraphConfigError: A context is invalid or names an unknown backend.
    """
    used: dict[str, list[str]] = {}
    for context in contexts:
        resolved = run_context(context)
        for field in fields:
            name = getattr(resolved, field)
            if name:
                used[name] = [cfg.name for cfg in config.chain(name, key=field)]
    return used


async def check_backends(fields: Sequence[str],
                         contexts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Validate each run context; return the chains its ``fields`` name and their models.

    Raises:
        GraphConfigError: A context is invalid or names an unknown backend.
        BackendUnavailable: No backend of a chain is up.
    """
    config = load_config()
    used = chains_used(config, fields, contexts)
    models: dict[str, Any] = {}
    for name, members in used.items():
        notes = []
        for member in members:
            cfg = config.backends[member]
            status = await health(cfg)
            if status.reachable and status.model_loaded:
                if member not in models:
                    models[member] = await _model_of(cfg)
                break
            notes.append(f"{member}: {status.detail or 'down'}")
        else:
            raise BackendUnavailable(f"no backend of {name!r} is up ({'; '.join(notes)})",
                                     backend=name)
    return {"chains": used, "models": models}


async def _model_of(cfg: Any) -> dict[str, Any]:
    if not isinstance(cfg, EmbeddedBackend):
        return {"kind": cfg.kind, "model": getattr(cfg, "model", None)}
    path = await asyncio.to_thread(resolve_model_path, cfg.engine.model_path)
    return {"kind": cfg.kind, "model": path.name, "sha256": await asyncio.to_thread(_sha, path)}


def _sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]
