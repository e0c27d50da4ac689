"""Run one question through a graph and record what happened: answer, scores, route, cost.

The tool results are gathered from the stream of every (sub)graph, so the
router, which runs plan-and-execute inside a node, is judged against them too.
A run that raised or ended without an answer is recorded as ending without one.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Collection, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from evals.faithful import judge
from evals.questions import Question, resolve_expected
from evals.score import lenient_score, score_answer

__all__ = ["ROUTER_NODES", "graph_input", "run_question"]

# The router's own calls, before and after the work: what routing adds to a request.
ROUTER_NODES = ("classify_request", "check_answer")


def graph_input(graph: str, question: Question) -> dict[str, Any]:
    """Return ``graph``'s input for ``question``; sensitive marks it for the router."""
    if graph == "plan_execute":
        return {"question": question.question}
    if graph == "router":
        return {"request": question.question, "sensitive": question.sensitive}
    return {"messages": [HumanMessage(question.question)]}


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(part if isinstance(part, str) else str(part.get("text", ""))
                   for part in content)


def _final_answer(graph: str, final: dict[str, Any]) -> str:
    if graph in ("plan_execute", "router"):
        return str(final.get("answer") or "")
    replies = [m for m in final.get("messages", []) if isinstance(m, AIMessage)]
    return _text(replies[-1]) if replies else ""


def _message_results(final: dict[str, Any]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for message in final.get("messages", []):
        if isinstance(message, AIMessage):
            results += [{"tool": call["name"], "args": call["args"], "output": ""}
                        for call in message.tool_calls]
        elif isinstance(message, ToolMessage):
            results.append({"tool": message.name or "", "args": {}, "output": _text(message)})
    return results


async def _stream(graph: Any, graph_name: str, question: Question, context: dict[str, Any],
                  seen: dict[str, Any]) -> None:
    # Fills ``seen`` as the run goes, so a run that raises keeps what it got to.
    async for namespace, mode, chunk in graph.astream(
            graph_input(graph_name, question), context=context,
            stream_mode=["updates", "values"], subgraphs=True):
        if mode == "values" and not namespace:
            seen["final"] = chunk
            continue
        if mode != "updates":
            continue
        for update in chunk.values():
            if not isinstance(update, dict):
                continue
            seen["tool_results"] = [*seen["tool_results"], *update.get("tool_results", [])]
            for key in ("plan", "vote"):
                if update.get(key) is not None:
                    seen[key] = update[key]


def _answer_check(metrics: Sequence[dict[str, Any]]) -> str | None:
    # A split message's parts are answered one by one: the record shows the worst of them.
    checks = [m["answer_check"] for m in metrics
              if m.get("node") == "write_answer" and "answer_check" in m]
    return max(checks, key=("passed", "repaired", "templated").index) if checks else None


def _routing(final: dict[str, Any], metrics: Sequence[dict[str, Any]],
             remote: Collection[str]) -> dict[str, Any]:
    used = sorted({str(m["backend"]) for m in metrics})
    return {
        "decision": final.get("decision"),
        "escalated": bool(final.get("escalated")),
        "router_ms": round(sum(float(m["latency_ms"]) for m in metrics
                               if m.get("node") in ROUTER_NODES), 1),
        "backends": used,
        "remote_backends": [name for name in used if name in remote],
    }


async def run_question(graph: Any, graph_name: str, question: Question,
                       context: dict[str, Any], remote: Collection[str] = ()
                       ) -> dict[str, Any]:
    """Run one question; return its record: answer, scores, faithfulness, route, cost.

    ``remote`` names the backends not flagged local: a sensitive question that
    reached one is a privacy failure.
    """
    today = dt.datetime.now(dt.UTC).date()
    record: dict[str, Any] = {
        "id": question.id, "split": question.split, "category": question.category,
        "question": question.question, "route": question.route,
        "complexity": question.complexity, "sensitive": question.sensitive,
        "expected": [resolve_expected(item, today).label() for item in question.expected],
        "today": today.isoformat(), "error": None,
    }
    seen: dict[str, Any] = {"final": {}, "tool_results": [], "plan": None, "vote": None}
    if question.sensitive and graph_name != "router":
        context = {**context, "local_only": True}
    started = time.perf_counter()
    try:
        await _stream(graph, graph_name, question, context, seen)
    # Ending without an answer is what this measures: any error the graph raises is
    # recorded and counted, with its type, and the next question runs.
    except Exception as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
    record["latency_s"] = round(time.perf_counter() - started, 3)
    final = seen["final"]
    answer = _final_answer(graph_name, final).strip()
    metrics = final.get("metrics", [])
    tool_results = seen["tool_results"] or _message_results(final)
    record.update({
        "answer": answer,
        "crashed": record["error"] is not None or not answer,
        "prompt_tokens": sum(int(m.get("prompt_tokens", 0)) for m in metrics),
        "completion_tokens": sum(int(m.get("completion_tokens", 0)) for m in metrics),
        "plan": final.get("plan", seen["plan"]),
        "tool_results": [{key: r.get(key) for key in ("tool", "args", "status", "output")}
                         for r in tool_results],
        "answer_check": _answer_check(metrics),
        "vote": seen["vote"] if seen["vote"] is not None else final.get("vote"),
        "problems": final.get("problems", []),
        **_routing(final, metrics, remote),
    })
    record["tokens"] = record["prompt_tokens"] + record["completion_tokens"]
    return {**record, **_scores(question, answer, record, today)}


def _scores(question: Question, answer: str, record: dict[str, Any],
            today: dt.date) -> dict[str, Any]:
    if record["crashed"]:
        return {"correct": False, "lenient_correct": False, "missing": record["expected"],
                "faithful": None, "unsupported": [], "false_claims": [], "leaks_trace": False}
    correct, missing = score_answer(question, answer, today)
    verdict = judge(answer, question.question, record["tool_results"]) \
        if question.route == "tools" else None
    return {"correct": correct, "lenient_correct": lenient_score(question, answer, today),
            "missing": missing, "faithful": verdict.faithful if verdict else None,
            "unsupported": verdict.unsupported if verdict else [],
            "false_claims": verdict.false_claims if verdict else [],
            "leaks_trace": verdict.leaks_trace if verdict else False}
