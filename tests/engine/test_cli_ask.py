"""``agent-router ask`` as a user runs it: a real process, the embedded engine."""

import json
import subprocess
import sys
from pathlib import Path

from tests import procs

ROOT = Path(__file__).parents[2]
ASK_TIMEOUT_S = 900  # a whole plan_execute run; the model can crawl on a loaded machine


def ask(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return procs.run(
        [sys.executable, "-m", "agent_router", "ask", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=ASK_TIMEOUT_S, env=env,
    )


def test_ask_prints_answer_and_per_node_table(model_path):
    done = ask("What is 17 * 23?", "--graph", "plan_execute")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].strip()
    header = next(i for i, line in enumerate(lines) if line.startswith("node"))
    assert "latency ms" in lines[header] and "prompt tok" in lines[header]
    rows = [line.split()[0] for line in lines[header + 2:] if line and not line.startswith("-")]
    assert rows[:2] == ["split_question", "write_plan"] and "execute_step" in rows
    assert rows[-1] == "total"
    assert "slot" not in done.stderr and "llama" not in done.stderr, "engine log leaked"


def test_ask_json_prints_the_final_state(model_path):
    done = ask("What is 17 * 23?", "--json", "--graph", "plan_execute")
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout)
    assert set(state) >= {"answer", "plan", "tool_results", "metrics"}
    assert any(r["tool"] == "calculator" and r["output"] == "391"
               for r in state["tool_results"])


def test_ask_goes_through_the_router_and_says_which_route_and_why(tmp_path):
    import os

    from tests.wire.config import vllm_at, write_backends
    from tests.wire.faulty import FaultyServer, chat_completion, ok

    judge = FaultyServer([ok(chat_completion(text))
                          for text in ("greeting", "Hello there.", "yes")])
    judge.start()
    try:
        path = write_backends(tmp_path, {"judge": vllm_at(judge.base_url)},
                              {"planner": ["judge"], "answer": ["judge"], "drafter": ["judge"]})
        done = ask("Say hello.", env={**os.environ, "AGENT_ROUTER_CONFIG": str(path)})
    finally:
        judge.stop()
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Hello there."
    assert "route: chat (judge classified it as greeting (chat, simple); any backend)" in lines
    table = lines[lines.index(next(line for line in lines if line.startswith("node"))) + 2:]
    assert [line.split()[0] for line in table if line and line[0] != "-"] == [
        "classify_request", "answer_directly", "check_answer", "total"]
