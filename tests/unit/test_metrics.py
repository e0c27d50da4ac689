from agents.metrics import summarize, usage_counts


def metric(node, ms, prompt=0, completion=0, cached=0):
    return {"node": node, "backend": "b", "latency_ms": ms, "prompt_tokens": prompt,
            "completion_tokens": completion, "cached_tokens": cached, "status": "ok"}


def test_summary_per_node_and_total():
    summary = summarize([metric("write_plan", 100.04, 400, 30, 380),
                         metric("execute_step", 1.0), metric("execute_step", 2.0),
                         metric("write_answer", 50.0, 120, 10, 60)])
    assert summary["execute_step"] == {"calls": 2, "latency_ms": 3.0, "prompt_tokens": 0,
                                       "completion_tokens": 0, "cached_tokens": 0}
    assert summary["total"] == {"calls": 4, "latency_ms": 153.0, "prompt_tokens": 520,
                                "completion_tokens": 40, "cached_tokens": 440}
    assert summarize([]) == {}


def test_usage_counts_reads_cached_tokens():
    usage = {"input_tokens": 9, "output_tokens": 2,
             "input_token_details": {"cache_read": 7}}
    assert usage_counts(usage) == (9, 2, 7)
    assert usage_counts(None) == (0, 0, 0)
