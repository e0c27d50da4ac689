"""Write a backends.toml for tests that point backends at loopback test servers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["vllm_at", "write_backends"]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    # TOML's basic strings and arrays of them are written as JSON writes them.
    return json.dumps(value)


def vllm_at(base_url: str, **settings: Any) -> dict[str, Any]:
    """Return a vLLM backend entry for the test server at ``base_url``."""
    return {"kind": "vllm", "base_url": base_url, "model": "m", **settings}


def write_backends(folder: Path, backends: dict[str, dict[str, Any]],
                   chains: dict[str, list[str]] | None = None) -> Path:
    """Write ``folder/backends.toml`` with these chains and backends; return its path.

    A backend's dict values become its sub-tables (``engine = {"n_parallel": 2}``).
    """
    lines = ["[chains]", *(f"{name} = {_value(chain)}" for name, chain in (chains or {}).items())]
    for name, settings in backends.items():
        lines += ["", f"[backends.{name}]"]
        lines += [f"{key} = {_value(v)}" for key, v in settings.items() if not isinstance(v, dict)]
        for key, table in settings.items():
            if isinstance(table, dict):
                lines += [f"[backends.{name}.{key}]",
                          *(f"{k} = {_value(v)}" for k, v in table.items())]
    path = folder / "backends.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
