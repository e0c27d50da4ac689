"""Which engine and which weights each benchmarked backend runs, and whether two match.

The embedded engine is llama.cpp on a GGUF file: its name, quantisation and sha256.
A vLLM server says its version (``/version``) and the folder it serves (``root`` in
``/v1/models``); when that folder is on this machine, its ``config.json`` gives the
weights' dtype and the manifest ``agent-router serve vllm`` writes gives the sha256 of
the GGUF it was converted from. Equal hashes mean both engines serve the same model,
though not in the same numeric format.
"""

from __future__ import annotations

import asyncio
import json
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

from backends.base import ModelInfo
from backends.model_file import sha256_file
from bench.measure import Target

__all__ = ["MANIFEST", "describe", "same_model"]

MANIFEST = "agent-router-manifest.json"  # written by serving/vllm/setup.py



def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown version"


async def _embedded(info: ModelInfo) -> dict[str, Any]:
    path = Path(info.model)
    found: dict[str, Any] = {"engine": f"llama.cpp (xllamacpp {_version('xllamacpp')})",
                             "model": path.name,
                             "weights": f"GGUF, {info.quantization or 'unknown type'}"}
    if path.is_file():
        found["sha256"] = await asyncio.to_thread(sha256_file, path)
    return found


def _folder(root: Path) -> dict[str, Any]:
    found: dict[str, Any] = {"folder": str(root)}
    try:
        config = json.loads((root / "config.json").read_text(encoding="utf-8"))
        found["dtype"] = str(config.get("dtype") or config.get("torch_dtype") or "unstated")
        found["weights"] = f"Hugging Face safetensors, {found['dtype']}"
    except (OSError, ValueError):
        return found
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        found["converted_from_sha256"] = manifest["source_sha256"]
    except (OSError, ValueError, KeyError):
        pass  # a folder the user brought, not one we converted
    return found


async def _vllm(client: httpx.AsyncClient, target: Target) -> dict[str, Any]:
    found: dict[str, Any] = {"engine": "vLLM", "model": target.model}
    try:
        version = await client.get(f"{target.root}/version", headers=target.headers)
        if version.status_code == 200:
            found["engine"] = f"vLLM {version.json().get('version', '')}".strip()
        models = await client.get(f"{target.root}/v1/models", headers=target.headers)
        models.raise_for_status()
        served: list[dict[str, Any]] = models.json().get("data", [])
        entry = next((m for m in served if m.get("id") == target.model), {})
    except (httpx.HTTPError, ValueError) as exc:
        return {**found, "note": f"the server did not describe its model: {exc}"}
    root = entry.get("root")
    if root and Path(root).is_dir():  # on this machine
        found.update(_folder(Path(root)))
    elif root:
        found["folder"] = root
    return found


async def describe(client: httpx.AsyncClient, target: Target, info: ModelInfo) -> dict[str, Any]:
    """Return the engine and the weights ``target`` serves, as far as can be found out."""
    if target.kind == "embedded":
        return await _embedded(info)
    if target.kind == "vllm":
        return await _vllm(client, target)
    return {"engine": target.kind, "model": target.model}


def same_model(backends: dict[str, dict[str, Any]]) -> list[str]:
    """Say which backends serve the same weights: a GGUF and a folder converted from it."""
    ggufs = {r["model_source"]["sha256"]: name for name, r in backends.items()
             if "sha256" in r.get("model_source", {})}
    lines = []
    for name, r in backends.items():
        source = r.get("model_source", {})
        origin = ggufs.get(source.get("converted_from_sha256", ""))
        if origin is None:
            continue
        gguf = backends[origin]["model_source"]
        lines.append(
            f"{origin} and {name} serve the same model: {gguf['model']} "
            f"({gguf['weights']}) in {gguf['engine']}, and in {source['engine']} a folder "
            f"converted from that very file (sha256 {gguf['sha256'][:16]}…). Not the same "
            f"numeric format: {name} computes in {source.get('dtype', 'its dtype')} on the "
            f"GGUF's weights dequantized, {origin} on the quantized blocks themselves, so "
            "the two do different amounts of arithmetic and their replies can differ in "
            "detail.")
    return lines
