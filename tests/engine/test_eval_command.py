"""``agent-router eval`` as a user runs it: a real process, the embedded engine, a tiny set.

No assertion on accuracy or time: the tiny model and a loaded machine decide those.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from tests import procs
from tests.wire.config import vllm_at, write_backends

ROOT = Path(__file__).parents[2]
EVAL_TIMEOUT_S = 1800  # six plan_execute runs; the model can crawl on a loaded machine

TINY = [
    {"id": "t-sum", "split": "test", "category": "arithmetic",
     "question": "What is the sum of 31, 45 and 12?", "expected": [88], "route": "tools",
     "tolerance": {"rel": 0.0001, "min_decimals": 1}},
    {"id": "t-units", "split": "test", "category": "units",
     "question": "How many grams are in 3 kilograms?", "expected": [3000], "route": "tools"},
    {"id": "t-chat", "split": "test", "category": "no_tool",
     "question": "What is the capital of Italy?", "expected": ["Rome"], "route": "chat",
     "complexity": "simple"},
]


def run_eval(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return procs.run([sys.executable, "-m", "agent_router", "eval", *args], cwd=ROOT,
                     capture_output=True, text=True, timeout=EVAL_TIMEOUT_S, env=env)


def test_eval_runs_a_tiny_set_for_two_ks_and_writes_json_and_markdown(tmp_path, model_path):
    questions = tmp_path / "tiny.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in TINY))
    out = tmp_path / "results"
    done = run_eval("--questions", str(questions), "--samples", "1,2", "--concurrency", "3",
                    "--model", str(model_path), "--out", str(out))
    assert done.returncode == 0, done.stderr
    [folder] = out.iterdir()
    assert folder.name.startswith("eval-")
    results = json.loads((folder / "results.json").read_text())
    meta = results["meta"]
    assert meta["graph"] == "plan_execute" and meta["commit"]
    assert meta["models"]["embedded"]["model"] == model_path.name
    assert len(meta["models"]["embedded"]["sha256"]) == 16
    assert [run["k"] for run in results["runs"]] == [1, 2]
    for run in results["runs"]:
        assert run["context"]["plan_samples"] == run["k"]
        records = run["records"]
        assert [r["id"] for r in records] == ["t-sum", "t-units", "t-chat"]
        for record in records:
            assert record["latency_s"] > 0 and isinstance(record["crashed"], bool)
            assert record["crashed"] or record["answer"]
            assert record["faithful"] in (True, False, None)
        assert list(run["summary"]) == ["arithmetic", "units", "no_tool", "overall"]
        assert run["summary"]["overall"]["questions"] == 3
    report = (folder / "report.md").read_text()
    for row in ("| arithmetic | 1 |", "| units | 1 |", "| no_tool | 1 |", "| **overall** | 3 |"):
        assert report.count(row) == 2, row
    assert "k = 2 vs k = 1: accuracy" in report
    assert "| **overall** | 3 |" in done.stdout, "the table is printed"
    assert "Traceback" not in done.stderr


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_eval_exits_1_with_a_message_when_the_backend_is_down(tmp_path):
    config = write_backends(tmp_path, {
        "embedded": {"kind": "embedded"},
        "gone": vllm_at(f"http://127.0.0.1:{_closed_port()}", timeout_s=5)})
    env = {**os.environ, "AGENT_ROUTER_CONFIG": str(config)}
    done = run_eval("--backend", "gone", "--out", str(tmp_path / "out"), env=env)
    assert done.returncode == 1
    assert "error: no backend of 'gone' is up" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_eval_exits_1_on_an_unknown_backend_or_bad_samples(tmp_path):
    done = run_eval("--backend", "nowhere", "--out", str(tmp_path))
    assert done.returncode == 1 and "names no configured chain or backend" in done.stderr
    done = run_eval("--samples", "1,zero", "--out", str(tmp_path))
    assert done.returncode == 1 and "--samples" in done.stderr
    assert "Traceback" not in done.stderr
