"""What a newcomer meets first: `agent-router ask` on the default model, in a fresh process.

The other tests run their mechanics on the fast model; these run the catalogue's
default (Qwen2.5-Coder-0.5B-Instruct) end to end, through the router, as `make run`
does: a tool request gets plan-and-execute, a chat request a chat answer.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backends.catalogue import DEFAULT_MODEL
from backends.errors import ModelFileError
from backends.model_file import resolve_model_path
from tests import procs

ROOT = Path(__file__).parents[2]
ASK_TIMEOUT_S = 900  # a whole routed run on a loaded 2-core machine


@pytest.fixture(scope="module")
def default_env() -> dict[str, str]:
    try:
        resolve_model_path(DEFAULT_MODEL.name)
    except ModelFileError as exc:
        pytest.fail(f"{exc}. `make test` pulls it first.", pytrace=False)
    return {k: v for k, v in os.environ.items() if k != "AGENT_ROUTER_MODEL"}


def ask(question: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return procs.run([sys.executable, "-m", "agent_router", "ask", question], cwd=ROOT,
                     env=env, capture_output=True, text=True, timeout=ASK_TIMEOUT_S)


def rows(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("node"))
    return [line.split()[0] for line in lines[header + 2:] if line and line[0] != "-"]


def test_a_tool_request_is_planned_computed_and_answered(default_env):
    done = ask("What is 17 * 23?", default_env)
    assert done.returncode == 0, done.stderr
    answer, *_ = done.stdout.splitlines()
    assert "391" in answer
    assert "route: tools (embedded classified it as math (tools); any backend)" in done.stdout
    assert {"classify_request", "write_plan", "execute_step", "write_answer",
            "check_answer"} <= set(rows(done.stdout))


@pytest.mark.parametrize("request_text", ["Write a haiku about autumn.",
                                          "Why do cats purr?"])
def test_a_chat_request_gets_a_chat_answer_without_tools(default_env, request_text):
    done = ask(request_text, default_env)
    assert done.returncode == 0, done.stderr
    assert "route: chat" in done.stdout
    nodes = rows(done.stdout)
    assert "answer_directly" in nodes and "execute_step" not in nodes
    assert done.stdout.split("\n\n")[0].strip(), "an answer comes first"
