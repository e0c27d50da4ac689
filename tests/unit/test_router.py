"""Fallback chains and circuit breakers, driven by a scripted backend call."""

import asyncio
import logging

import pytest

from backends.errors import (
    BackendTimeout,
    BackendUnavailable,
    ContextTooLong,
    InvalidRequest,
)
from backends.router import Breaker, NoBackendLeft, breaker_for, call_chain, reset_breakers
from backends.settings import EmbeddedBackend


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def backend(name: str, **settings) -> EmbeddedBackend:
    defaults = {"max_retries": 0, "retry_backoff_s": 0.0, "breaker_threshold": 3,
                "breaker_cooldown_s": 30.0}
    return EmbeddedBackend(name=name, kind="embedded", **{**defaults, **settings})


class Script:
    """A backend call that fails or answers per backend, as scripted; records every call."""

    def __init__(self, **outcomes: list) -> None:
        self.outcomes = outcomes
        self.calls: list[str] = []

    async def __call__(self, cfg) -> str:
        self.calls.append(cfg.name)
        queue = self.outcomes.get(cfg.name, [])
        outcome = queue.pop(0) if queue else "ok"
        if isinstance(outcome, type) and issubclass(outcome, Exception):
            raise outcome(f"{cfg.name} scripted failure", backend=cfg.name)
        return f"answer from {cfg.name}"


@pytest.fixture(autouse=True)
def fresh_breakers():
    reset_breakers()
    yield
    reset_breakers()


async def test_first_healthy_backend_answers_and_attempts_are_recorded():
    script = Script(a=[BackendUnavailable], b=[BackendTimeout])
    result, answered, attempts = await call_chain(
        "planner", [backend("a"), backend("b"), backend("c")], script
    )
    assert (result, answered.name) == ("answer from c", "c")
    assert script.calls == ["a", "b", "c"]
    assert [(a.backend, a.outcome, a.error) for a in attempts] == [
        ("a", "failed", "BackendUnavailable"), ("b", "failed", "BackendTimeout"),
        ("c", "ok", None)]


async def test_retryable_errors_are_retried_with_a_cap_and_a_delay(monkeypatch):
    sleeps: list[float] = []

    async def fake_sleep(delay: float) -> None:
        sleeps.append(delay)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    script = Script(a=[BackendUnavailable, BackendUnavailable, BackendUnavailable])
    a = backend("a", max_retries=2, retry_backoff_s=0.1, breaker_threshold=10)
    result, answered, _ = await call_chain("x", [a, backend("b")], script)
    assert script.calls == ["a", "a", "a", "b"]
    assert sleeps == [0.1, 0.2], "exponential backoff between retries, none after the last"
    assert answered.name == "b"


async def test_invalid_request_is_raised_without_retry_or_fallback():
    script = Script(a=[InvalidRequest])
    with pytest.raises(InvalidRequest):
        await call_chain("x", [backend("a", max_retries=3), backend("b")], script)
    assert script.calls == ["a"]


async def test_context_too_long_moves_to_a_larger_window_only():
    script = Script(small=[ContextTooLong])
    chain = [backend("small", context_length=2048), backend("same", context_length=2048),
             backend("big", context_length=32768)]
    _, answered, attempts = await call_chain("x", chain, script)
    assert answered.name == "big"
    assert script.calls == ["small", "big"], "never resent to the failing or an equal window"
    assert attempts[1].reason == "context 2048 too small"


async def test_all_failing_names_every_backend_tried():
    script = Script(a=[BackendUnavailable], b=[BackendTimeout])
    with pytest.raises(NoBackendLeft) as caught:
        await call_chain("answer", [backend("a"), backend("b")], script)
    message = str(caught.value)
    assert "chain 'answer'" in message and "a: failed" in message and "b: failed" in message
    assert isinstance(caught.value, BackendUnavailable)


async def test_breaker_opens_skips_then_lets_one_probe_through(caplog):
    clock = Clock()
    a = backend("a", breaker_threshold=2, breaker_cooldown_s=30)
    breaker_for(a, clock)
    script = Script(a=[BackendUnavailable, BackendUnavailable, BackendUnavailable])
    chain = [a, backend("b")]
    with caplog.at_level(logging.WARNING, logger="backends.router"):
        await call_chain("x", chain, script)
        _, _, attempts = await call_chain("x", chain, script)
    assert breaker_for(a).state == "open"
    assert "closed -> open" in caplog.text
    assert attempts[0].breaker == "closed -> open", "the change is in the run's record too"

    _, _, attempts = await call_chain("x", chain, script)
    assert attempts[0].outcome == "skipped" and attempts[0].reason == "circuit breaker open"
    assert script.calls.count("a") == 2

    clock.now += 31
    assert breaker_for(a).state == "half-open"
    await call_chain("x", chain, script)  # the probe fails: open again
    assert breaker_for(a).state == "open" and script.calls.count("a") == 3

    clock.now += 31
    _, answered, attempts = await call_chain("x", chain, script)  # the probe succeeds: closed
    assert answered.name == "a" and breaker_for(a).state == "closed"
    assert attempts[-1].breaker == "half-open -> closed"


def test_half_open_breaker_admits_a_single_probe():
    clock = Clock()
    breaker = Breaker(threshold=1, cooldown_s=5, clock=clock)
    breaker.record(ok=False)
    assert not breaker.allow()
    clock.now += 6
    assert breaker.allow() is True
    assert breaker.allow() is False, "a second caller waits for the probe's outcome"
    breaker.release()
    assert breaker.allow() is True


async def test_a_cancelled_probe_does_not_wedge_the_breaker():
    clock = Clock()
    a = backend("a", breaker_threshold=1, breaker_cooldown_s=5)
    breaker = breaker_for(a, clock)
    breaker.record(ok=False)
    clock.now += 6

    async def hang(cfg):
        await asyncio.sleep(3600)

    task = asyncio.ensure_future(call_chain("x", [a], hang))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.allow(), "the cancelled probe released its slot"


async def test_a_prompt_too_long_for_every_window_raises_the_length_error():
    script = Script(small=[ContextTooLong], big=[ContextTooLong])
    chain = [backend("small", context_length=2048), backend("same", context_length=2048),
             backend("big", context_length=32768)]
    with pytest.raises(ContextTooLong):
        await call_chain("x", chain, script)
    assert script.calls == ["small", "big"]


async def test_an_outage_next_to_a_length_error_is_still_an_outage():
    script = Script(small=[ContextTooLong], big=[BackendUnavailable])
    chain = [backend("small", context_length=2048), backend("big", context_length=32768)]
    with pytest.raises(NoBackendLeft) as caught:
        await call_chain("x", chain, script)
    assert "small: failed (ContextTooLong" in str(caught.value)
