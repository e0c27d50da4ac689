"""The eval runner on small model-free graphs: answers, nested tool results, crashes, report."""

import datetime as dt
import json
import operator
import subprocess
from typing import Annotated, Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, MessagesState, StateGraph
from typing_extensions import TypedDict

from bench.provenance import commit
from evals.questions import Question, Tolerance
from evals.record import run_question
from evals.report import summarize, write_eval_report

TOL = Tolerance()


def question(qid="q1", category="arithmetic", text="Tickets cost $38 each. What do 7 cost?",
             expected=(266,)):
    return Question(id=qid, split="test", category=category, question=text,
                    expected=expected, tolerance=TOL)


class Inner(TypedDict):
    question: str
    tool_results: Annotated[list[dict[str, Any]], operator.add]
    answer: str
    metrics: Annotated[list[dict[str, Any]], operator.add]
    vote: dict[str, Any]


def plan_execute_like(answer: str, checks: tuple[str, ...] = ("passed",)):
    def execute_step(state: Inner) -> dict[str, Any]:
        return {"tool_results": [{"tool": "calculator", "args": {"expression": "38 * 7"},
                                  "status": "ok", "output": "266", "round": 0, "step": 0}]}

    def write_answer(state: Inner) -> dict[str, Any]:
        metrics = [{"node": "write_answer", "backend": "fake", "prompt_tokens": 100 // len(checks),
                    "completion_tokens": 8 // len(checks), "answer_check": check}
                   for check in checks]
        return {"answer": answer, "metrics": metrics, "vote": {"margin": 1}}

    builder = StateGraph(Inner)
    builder.add_node("execute_step", execute_step)
    builder.add_node("write_answer", write_answer)
    builder.add_edge(START, "execute_step")
    builder.add_edge("execute_step", "write_answer")
    builder.add_edge("write_answer", END)
    return builder.compile()


class Outer(TypedDict):
    request: str
    answer: str
    metrics: Annotated[list[dict[str, Any]], operator.add]


def router_like(inner):
    async def run_tools(state: Outer, config: RunnableConfig) -> dict[str, Any]:
        result = await inner.ainvoke({"question": state["request"]}, config)
        return {"answer": result["answer"], "metrics": result["metrics"]}

    builder = StateGraph(Outer)
    builder.add_node("run_tools", run_tools)
    builder.add_edge(START, "run_tools")
    builder.add_edge("run_tools", END)
    return builder.compile()


async def test_a_plan_execute_record_has_answer_score_cost_and_checks():
    record = await run_question(plan_execute_like("7 tickets cost $266."), "plan_execute",
                                question(), {})
    assert record["answer"] == "7 tickets cost $266."
    assert record["correct"] and record["faithful"] and not record["crashed"]
    assert record["tokens"] == 108 and record["answer_check"] == "passed"
    assert record["vote"] == {"margin": 1}
    assert record["tool_results"][0]["output"] == "266"
    assert record["today"] == dt.datetime.now(dt.UTC).date().isoformat()


@pytest.mark.parametrize(("checks", "shown"), [
    (("passed", "templated"), "templated"), (("repaired", "passed"), "repaired"),
    (("passed", "passed"), "passed")])
async def test_a_split_messages_record_shows_the_worst_check_of_its_parts(checks, shown):
    record = await run_question(plan_execute_like("7 tickets cost $266.", checks),
                                "plan_execute", question(), {})
    assert record["answer_check"] == shown


async def test_tool_results_of_a_graph_run_inside_a_node_are_the_sources():
    graph = router_like(plan_execute_like("7 tickets cost $214."))
    record = await run_question(graph, "router", question(), {})
    assert record["tool_results"][0]["output"] == "266", "gathered from the nested graph"
    assert not record["correct"] and record["faithful"] is False
    assert record["unsupported"] == ["214"]


async def test_a_graph_that_raises_is_a_crash_and_the_run_goes_on():
    def explode(state: Inner) -> dict[str, Any]:
        raise RuntimeError("model said nonsense")

    builder = StateGraph(Inner)
    builder.add_node("write_plan", explode)
    builder.add_edge(START, "write_plan")
    record = await run_question(builder.compile(), "plan_execute", question(), {})
    assert record["crashed"] and record["error"] == "RuntimeError: model said nonsense"
    assert record["correct"] is False and record["faithful"] is None


async def test_an_empty_answer_is_a_crash():
    record = await run_question(plan_execute_like("  "), "plan_execute", question(), {})
    assert record["crashed"] and record["error"] is None


async def test_message_graphs_answer_with_their_last_ai_message():
    def think(state: MessagesState) -> dict[str, Any]:
        call = {"name": "calculator", "args": {"expression": "38 * 7"}, "id": "c1"}
        return {"messages": [AIMessage("", tool_calls=[call]),
                             ToolMessage("266", tool_call_id="c1", name="calculator"),
                             AIMessage("They cost 266 dollars.")]}

    builder = StateGraph(MessagesState)
    builder.add_node("think", think)
    builder.add_edge(START, "think")
    record = await run_question(builder.compile(), "react_agent", question(), {})
    assert record["answer"] == "They cost 266 dollars."
    assert record["correct"] and record["faithful"]
    assert [r["output"] for r in record["tool_results"]] == ["", "266"]


async def test_the_report_has_a_row_per_category_and_overall(tmp_path):
    good = await run_question(plan_execute_like("7 tickets cost $266."), "plan_execute",
                              question(), {})
    paris = await run_question(plan_execute_like("It is Paris."), "plan_execute",
                               question("q2", "no_tool", "What is the capital of France?",
                                        ("Paris",)), {})
    wrong = await run_question(plan_execute_like("7 tickets cost $214."), "plan_execute",
                               question("q3"), {})
    summary = summarize([good, paris, wrong])
    assert list(summary) == ["arithmetic", "no_tool", "overall"]
    assert summary["arithmetic"]["accuracy_pct"] == 50.0
    assert summary["overall"]["faithful_pct"] == 66.7
    runs = [{"k": k, "context": {}, "records": [good, paris, wrong], "wall_s": wall}
            for k, wall in ((1, 2.0), (3, 3.0))]
    meta = {"commit": "abc", "started": "now", "graph": "plan_execute", "backend": "fake",
            "models": {"fake": {"kind": "embedded", "model": "m.gguf", "sha256": "12ab"}},
            "split": "dev", "k_note": None, "concurrency": 1,
            "sizes": {"questions": 3, "dev": 3, "test": 0}}
    report = write_eval_report({"meta": meta, "runs": runs}, tmp_path / "run")
    text = report.read_text()
    assert "## k = 1 (wall time 2.0 s)" in text and "## k = 3" in text
    assert "| **overall** | 3 | 66.7% | 66.7% | 66.7% | 0 |" in text
    assert "k = 3 vs k = 1: accuracy 66.7% vs 66.7% (+0.0 points); wall time 3.0 s vs " \
           "2.0 s (1.50x)" in text
    assert "| q3 | 266 | 7 tickets cost $214. | missing 266; unsupported 214 |" in text
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["runs"][0]["summary"]["overall"]["crashes"] == 0
    test_report = write_eval_report({"meta": {**meta, "split": "test"}, "runs": runs},
                                    tmp_path / "test-run").read_text()
    assert "| **overall** | 3 |" in test_report and "q3" not in test_report, \
        "a test-half report gives per-category figures, never its misses"


def test_the_recorded_commit_says_when_the_run_measured_uncommitted_code(tmp_path, monkeypatch):
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                        *args], cwd=tmp_path, check=True, capture_output=True)

    monkeypatch.chdir(tmp_path)
    assert commit() == "unknown"
    git("init", "-q")
    (tmp_path / "prompt.txt").write_text("one\n")
    git("add", "prompt.txt")
    git("commit", "-q", "-m", "first")
    clean = commit()
    assert len(clean) == 7 and int(clean, 16) >= 0
    (tmp_path / "prompt.txt").write_text("two\n")
    assert commit() == f"{clean}-dirty"


def routed(route, complexity, decided, decided_complexity="simple", *, sensitive=False,
           escalated=False, remote=(), router_ms=100.0, escalate_to="large"):
    return {"route": route, "complexity": complexity, "sensitive": sensitive,
            "decision": {"route": decided, "complexity": decided_complexity,
                         "escalate_to": escalate_to},
            "escalated": escalated, "remote_backends": list(remote), "router_ms": router_ms,
            "latency_s": 1.0}


def test_the_router_summary_counts_routes_escalations_latency_and_privacy():
    from evals.router_report import router_summary

    records = [routed("tools", None, "tools", router_ms=50),
               routed("chat", "simple", "tools", router_ms=60),
               routed("chat", "complex", "chat", "complex", router_ms=70),
               routed("chat", "simple", "chat", escalated=True, sensitive=True,
                      remote=["large-model"], router_ms=400)]
    summary = router_summary(records)
    assert summary["route_accuracy_pct"] == 75.0
    assert summary["confusion"]["chat/simple"] == {"tools": 1, "chat/simple": 1,
                                                   "chat/complex": 0}
    assert summary["to_larger_pct"] == 50.0 and summary["escalated_after_check"] == 1
    assert (summary["router_ms_p50"], summary["router_ms_p95"]) == (70.0, 400.0)
    assert (summary["sensitive"], summary["sensitive_left_local"]) == (1, 1)


def test_a_complex_request_with_no_larger_chain_it_may_use_is_right_to_stay_simple():
    from evals.router_report import router_summary

    kept_local = routed("chat", "complex", "chat", sensitive=True, escalate_to="")
    could_go = routed("chat", "complex", "chat")
    summary = router_summary([kept_local, could_go])
    assert summary["confusion"]["chat/simple"]["chat/simple"] == 1
    assert summary["confusion"]["chat/complex"]["chat/simple"] == 1
    assert summary["route_accuracy_pct"] == 50.0 and summary["complex_kept_simple"] == 1


def test_a_router_eval_compares_with_a_pass_where_the_large_chain_answers_everything():
    from backends.validation import parse_config
    from evals.meta import chains_used
    from evals.run import EvalSettings, _passes

    passes = _passes(EvalSettings(graph="router", samples=(1,), escalation="large",
                                  baseline="large"))
    [(label, _, ours), (other, _, always)] = passes
    assert label == "graph" and ours["escalation_backend"] == "large"
    assert other == "always large" and always["escalation_backend"] == ""
    config = parse_config({"backends": {"embedded": {"kind": "embedded"}},
                           "chains": {"large": ["embedded"]}}, source="test.toml")
    used = chains_used(config, ["escalation_backend"], [ours, always])
    assert set(used) == {"large"}, "an empty escalation_backend names no chain to check"
    assert {always[f] for f in ("router_backend", "chat_backend", "planner_backend",
                                "drafter_backend", "answer_backend")} == {"large"}
