"""A local server's memory from /proc, each engine's model, and how the report says both."""

import json
import os
import socket
import subprocess
import sys

import httpx
import pytest

from backends.base import ModelInfo
from bench.local_server import listening_inodes, loopback_port, server_memory, server_processes
from bench.measure import Target
from bench.models import MANIFEST, describe, same_model
from bench.report import write_report
from tests import procs
from tests.wire.faulty import FaultyServer, ok

# Listens on a loopback port, starts a grandchild that sleeps, says both, waits for stdin.
SERVER_WITH_A_CHILD = """\
import socket, subprocess, sys
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print(server.getsockname()[1], child.pid, flush=True)
sys.stdin.read()
"""


def test_a_server_on_this_machine_is_its_listener_and_every_descendant():
    with procs.started([sys.executable, "-c", SERVER_WITH_A_CHILD], stdin=subprocess.PIPE,
                       stdout=subprocess.PIPE, text=True) as server:
        assert server.stdout is not None
        port, grandchild = (int(v) for v in server.stdout.readline().split())
        found = server_processes(port)
        memory = server_memory(f"http://127.0.0.1:{port}/v1")
    assert [p.pid for p in found] == sorted([server.pid, grandchild])
    assert all(p.rss_kb > 0 and p.peak_rss_kb >= p.rss_kb for p in found)
    assert [p["pid"] for p in memory["processes"]] == sorted([server.pid, grandchild])
    total = sum(p["rss_mb"] for p in memory["processes"])
    assert memory["all_processes_rss_mb"] == pytest.approx(total, abs=0.2)
    assert memory["all_processes_peak_rss_mb"] >= memory["all_processes_rss_mb"]


def _fake_proc(tmp_path, processes):
    """Write a /proc with one listening socket (inode 111, port 8000) held by pid 10."""
    net = tmp_path / "net"
    net.mkdir()
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt" \
             "   uid  timeout inode\n"
    (net / "tcp").write_text(header + (
        "   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000"
        "     0        0 111 1 0000000000000000 100 0 0 10 0\n"
        "   1: 0100007F:1F40 0100007F:9C40 01 00000000:00000000 00:00000000 00000000"
        "     0        0 222 1 0000000000000000 20 4 30 10 -1\n"))
    (net / "tcp6").write_text(header + (
        "   0: 00000000000000000000000001000000:1F41 00000000000000000000000000000000:0000 0A"
        " 00000000:00000000 00:00000000 00000000     0        0 333 1 0000000000000000 100 0"
        " 0 10 0\n"))
    for pid, (ppid, state, rss_kb, links) in processes.items():
        entry = tmp_path / str(pid)
        (entry / "fd").mkdir(parents=True)
        for fd, target in enumerate(links):
            os.symlink(target, entry / "fd" / str(fd))
        memory = f"VmHWM:\t{rss_kb * 2} kB\nVmRSS:\t{rss_kb} kB\n" if rss_kb else ""
        (entry / "status").write_text(f"Name:\tp{pid}\nState:\t{state}\nPPid:\t{ppid}\n{memory}")
    return tmp_path


def test_proc_tables_are_read_by_listening_port_and_parent_pid(tmp_path):
    proc = _fake_proc(tmp_path, {
        10: (1, "S (sleeping)", 1000, ["socket:[111]", "/dev/null"]),  # the API server
        11: (10, "S (sleeping)", 4000, ["socket:[999]"]),  # the engine worker
        12: (11, "S (sleeping)", 100, []),  # a grandchild
        13: (1, "S (sleeping)", 5000, ["socket:[222]"]),  # a client, not the server
        14: (10, "Z (zombie)", 0, []),
        15: (10, "S (sleeping)", 0, []),  # a kernel thread has no memory lines
    })
    assert listening_inodes(8000, proc) == {111}, "established connections are not listeners"
    assert listening_inodes(8001, proc) == {333}, "IPv6 listeners count too"
    assert [p.pid for p in server_processes(8000, proc)] == [10, 11, 12, 15]
    memory = server_memory("http://localhost:8000", proc)
    assert memory["all_processes_rss_mb"] == round(5100 / 1024, 1)
    assert memory["all_processes_peak_rss_mb"] == round(10200 / 1024, 1)
    assert [p["name"] for p in memory["processes"]] == ["p10", "p11", "p12", "p15"]


@pytest.mark.parametrize(("url", "port"), [
    ("http://127.0.0.1:8000", 8000), ("http://localhost:8000/v1", 8000),
    ("http://[::1]:9000", 9000), ("http://127.0.0.2", 80), ("https://localhost", 443),
    ("http://10.0.0.5:8000", None), ("https://api.example.com/v1", None)])
def test_only_loopback_urls_are_looked_up_on_this_machine(url, port):
    assert loopback_port(url) == port


def test_a_remote_or_absent_server_gets_a_note_not_a_number():
    remote = server_memory("http://10.0.0.5:8000")
    assert "not on this machine" in remote["processes_note"]
    with socket.socket() as bound:  # bound but not listening: nobody serves this port
        bound.bind(("127.0.0.1", 0))
        absent = server_memory(f"http://127.0.0.1:{bound.getsockname()[1]}")
    assert "no process" in absent["processes_note"]
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        ours = server_memory(f"http://127.0.0.1:{listening.getsockname()[1]}")
    assert "inside this process" in ours["processes_note"]


def _converted(tmp_path, source_sha256):
    folder = tmp_path / "converted"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"dtype": "float32"}))
    (folder / MANIFEST).write_text(json.dumps({"source_sha256": source_sha256, "files": {}}))
    return folder


async def test_each_engine_says_which_weights_it_serves(tmp_path):
    gguf = tmp_path / "Tiny-Instruct.Q4_1.gguf"
    gguf.write_bytes(b"GGUF weights")
    embedded = await describe(httpx.AsyncClient(), Target("embedded", "embedded", "", "", {}),
                              ModelInfo("embedded", str(gguf), 2048, quantization="Q4_1"))
    assert embedded["model"] == gguf.name and embedded["weights"] == "GGUF, Q4_1"
    assert embedded["engine"].startswith("llama.cpp")
    folder = _converted(tmp_path, embedded["sha256"])
    with FaultyServer(fixed={"/version": ok({"version": "0.32.0"}), "/v1/models": ok(
            {"data": [{"id": "Tiny-Instruct", "root": str(folder), "max_model_len": 4096}]})},
    ) as server:
        async with httpx.AsyncClient() as client:
            vllm = await describe(client, Target("vllm", "vllm", server.base_url,
                                                 "Tiny-Instruct", {}), ModelInfo("vllm", "x", 1))
    assert vllm == {"engine": "vLLM 0.32.0", "model": "Tiny-Instruct", "folder": str(folder),
                    "dtype": "float32", "weights": "Hugging Face safetensors, float32",
                    "converted_from_sha256": embedded["sha256"]}
    [line] = same_model({"embedded": {"model_source": embedded}, "vllm": {"model_source": vllm}})
    assert "embedded and vllm serve the same model" in line
    assert "float32" in line and "Q4_1" in line
    assert same_model({"vllm": {"model_source": vllm}}) == []


def _engine_result(model_source, memory, **extra):
    p = {"p50": 1.0, "p90": 2.0, "p99": 3.0, "mean": 1.5}
    summary = {"requests": 1, "ttft_ms": p, "tpot_ms": p, "e2e_ms": p, "completion_tokens": 4,
               "cached_tokens": 0}
    return {"kind": "x", "model": "m", "context_length": 2048, "model_source": model_source,
            "latency": summary, "throughput": {**summary, "output_tokens_per_s": 9.0},
            "concurrency": [{**summary, "users": 1, "output_tokens_per_s": 9.0}],
            "prompt_length": [{"prompt_tokens": 64, "ttft_ms": 5.0, "e2e_ms": 9.0,
                               "completion_tokens": 4}],
            "prefix_cache": {"shared_prefix": summary, "varied_prefix": summary},
            "memory": memory, **extra}


def test_the_report_names_the_models_and_every_servers_memory(tmp_path):
    gguf = {"engine": "llama.cpp (xllamacpp 1)", "model": "Tiny.Q4_1.gguf",
            "weights": "GGUF, Q4_1", "sha256": "ab" * 32}
    folder = {"engine": "vLLM 0.32.0", "model": "Tiny", "folder": "/models/tiny",
              "dtype": "float32", "weights": "Hugging Face safetensors, float32",
              "converted_from_sha256": "ab" * 32}
    backends = {
        "embedded": _engine_result(gguf, {"process_rss_mb": 400.0, "peak_rss_mb": 500.0},
                                   process_rss_mb_engine_started=300.0),
        "vllm": _engine_result(folder, {
            "all_processes_rss_mb": 4000.0, "all_processes_peak_rss_mb": 5000.0,
            "processes": [{"pid": 7, "name": "python3", "rss_mb": 600.0, "peak_rss_mb": 700.0},
                          {"pid": 8, "name": "VLLM::EngineCor", "rss_mb": 3400.0,
                           "peak_rss_mb": 4300.0}],
            "server_rss_mb": 600.0, "kv_cache_usage": 0.0},
            all_processes_rss_mb_engine_started=3900.0)}
    results = {"meta": {"commit": "abc", "started": "now", "cpus": 2, "cpu_model": "Some CPU",
                        "sizes": {"requests": 1, "prompt_tokens": 8, "max_tokens": 4,
                                  "batch": 1, "prefix_tokens": 40},
                        "same_model": same_model(backends)},
               "backends": backends}
    text = write_report(results, tmp_path).read_text()
    assert "(Some CPU)" in text
    assert "- **embedded**: llama.cpp (xllamacpp 1), Tiny.Q4_1.gguf (GGUF, Q4_1)" in text
    assert "- **vllm**: vLLM 0.32.0, Tiny from /models/tiny (Hugging Face safetensors, " \
           "float32)" in text
    assert "embedded and vllm serve the same model" in text
    assert "all 2 processes: 4000.0 MB (peak ≤ 5000.0); API server alone (/metrics): " \
           "600.0 MB" in text
    assert "this process: 400.0 MB (peak 500.0)" in text
    assert "all the server's processes: 3900.0" in text
    assert "VLLM::EngineCor (pid 8) 3400.0 / 4300.0" in text
