"""bench/server.py without servers: its quantiles and what counts as a finished run."""

import pytest

from bench.server import LEVELS, QUICK_RUNS, RUNS, WORKLOADS, quantile


def test_quantiles_interpolate_between_samples():
    assert quantile([], 0.5) == 0.0
    assert quantile([3.0], 0.95) == 3.0
    assert quantile([4.0, 1.0, 3.0, 2.0], 0.5) == pytest.approx(2.5)
    assert quantile([float(n) for n in range(1, 21)], 0.95) == pytest.approx(19.05)


def test_every_level_has_its_number_of_runs():
    assert LEVELS == (1, 4, 16)
    assert all(RUNS[c] >= c and QUICK_RUNS[c] >= 1 for c in LEVELS)


def test_a_run_is_done_only_with_its_output():
    plan, chat = WORKLOADS["plan_execute"], WORKLOADS["chat"]

    assert plan.done({"answer": "42"}) and not plan.done({"answer": ""})
    assert not plan.done({"__error__": {"error": "Error", "message": "x"}})
    assert chat.done({"messages": [{"type": "human"}, {"type": "ai"}]})
    assert not chat.done({"messages": [{"type": "human"}]}) and not chat.done("text")
    assert plan.input(7) == {"question": "What is 7 * 3?"}
