"""A plan_execute run killed after its tool steps resumes from its SQLite checkpoint.

The answer backend is a scripted loopback server that holds the first request,
so the run is stuck in write_answer (its tool results already checkpointed)
when the process is killed. A new process resumes the same thread: the planner
is not asked again, the tool is not re-run, and the answer arrives.
"""

import json
import os
import signal
import sys
import time
from pathlib import Path

from tests import procs
from tests.wire.config import vllm_at, write_backends
from tests.wire.faulty import FaultyServer, chat_completion, hang, ok

ROOT = Path(__file__).parents[2]
# Generous: starting Python with LangGraph's imports alone can take a minute when loaded.
REACH_TIMEOUT_S = 300
RESUME_TIMEOUT_S = 600
RUN = """
import json, sys
from serving.api.persistence import compile_with_sqlite
from graphs.plan_execute import build_plan_execute
graph = compile_with_sqlite(build_plan_execute(), sys.argv[1])
config = {"configurable": {"thread_id": "job-1"}}
state = graph.invoke({"question": "What is 17 * 23?"} if sys.argv[2] == "start" else None,
                     config)
print(json.dumps({"answer": state["answer"], "results": state["tool_results"]}))
"""


def test_killed_run_resumes_without_rerunning_its_tools(tmp_path, monkeypatch):
    plan = {"steps": [{"tool": "calculator", "args": {"expression": "17 * 23"},
                       "depends_on": []}]}
    one_question = {"questions": ["What is 17 * 23?"]}
    planner = FaultyServer([ok(chat_completion(json.dumps(one_question))),
                            ok(chat_completion(json.dumps(plan)))])
    answerer = FaultyServer([hang(120), ok(chat_completion("17 * 23 is 391."))])
    with planner, answerer:
        config = write_backends(
            tmp_path, {"planner-server": vllm_at(planner.base_url),
                       "answer-server": vllm_at(answerer.base_url, max_retries=0,
                                                timeout_s=300)},
            {"planner": ["planner-server"], "answer": ["answer-server"]})
        env = {**os.environ, "AGENT_ROUTER_CONFIG": str(config)}
        database = str(tmp_path / "runs.sqlite")
        log = tmp_path / "first.log"
        with log.open("wb") as output, procs.started(
                [sys.executable, "-c", RUN, database, "start"], cwd=ROOT, env=env,
                stdout=output, stderr=output) as first:
            deadline = time.monotonic() + REACH_TIMEOUT_S
            while not answerer.requests and time.monotonic() < deadline:
                assert first.poll() is None, log.read_text()
                time.sleep(0.1)  # polls for the request: the signal the run got there
            assert answerer.requests, "the run never reached write_answer"
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=REACH_TIMEOUT_S)

        resumed = procs.run([sys.executable, "-c", RUN, database, "resume"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=RESUME_TIMEOUT_S)
        assert resumed.returncode == 0, resumed.stderr
        state = json.loads(resumed.stdout.strip().splitlines()[-1])
        assert state["answer"] == "17 * 23 is 391."
        assert [r["output"] for r in state["results"]] == ["391"], "the tool ran exactly once"
        assert len(planner.requests) == 2, "the resumed run did not split or plan again"
        assert len(answerer.requests) == 2
