"""Call a chain of backends in order, with retries, fallbacks and circuit breakers.

What happens to each failure is decided by its type, never by message text:

- ``BackendUnavailable`` / ``BackendTimeout``: retried on the same backend up to
  ``max_retries`` times with exponential backoff, then the next backend is tried.
- ``ContextTooLong``: the next backend whose context window is larger (when known)
  is tried; the same backend is never asked again.
- ``InvalidRequest``: raised at once; another backend would refuse it too.

Each backend has a circuit breaker: after ``breaker_threshold`` consecutive
failures it opens and the backend is skipped for ``breaker_cooldown_s``; then
one call is let through (half-open) and its outcome closes or re-opens it. All
of this is logged and returned as ``Attempt`` records for the run's metrics.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from backends.errors import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    ContextTooLong,
    InvalidRequest,
)
from backends.settings import BackendConfig

__all__ = ["Attempt", "Breaker", "NoBackendLeft", "breaker_for", "call_chain", "reset_breakers"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
Clock = Callable[[], float]


@dataclass
class Attempt:
    """One try of one backend, as recorded in metrics."""

    backend: str
    outcome: Literal["ok", "failed", "skipped"]
    error: str | None = None
    reason: str | None = None
    latency_ms: float = 0.0
    breaker: str | None = None  # the breaker state change this attempt caused, if any


class NoBackendLeft(BackendUnavailable):
    """Every backend of a chain failed or was skipped."""

    def __init__(self, chain: str, attempts: list[Attempt]) -> None:
        tried = "; ".join(f"{a.backend}: {a.outcome}"
                          + (f" ({a.error}: {a.reason})" if a.error else "")
                          + (f" ({a.reason})" if a.reason and not a.error else "")
                          for a in attempts)
        super().__init__(f"no backend of chain {chain!r} could answer — {tried}", backend=chain)
        self.attempts = attempts


@dataclass
class Breaker:
    """Consecutive-failure circuit breaker of one backend."""

    threshold: int
    cooldown_s: float
    clock: Clock = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def state(self) -> Literal["closed", "open", "half-open"]:
        """Return the breaker's state now."""
        if self.opened_at is None:
            return "closed"
        if self.clock() - self.opened_at < self.cooldown_s:
            return "open"
        return "half-open"

    def allow(self) -> bool:
        """Tell whether a call may go through; in half-open state only one at a time."""
        with self._lock:
            state = self.state
            if state == "closed":
                return True
            if state == "half-open" and not self.probing:
                self.probing = True
                return True
            return False

    def release(self) -> None:
        """End a half-open probe without an outcome (the call never reached the server)."""
        with self._lock:
            self.probing = False

    def record(self, ok: bool) -> str | None:
        """Record a call's outcome; return the state change it caused, if any."""
        with self._lock:
            before = self.state
            self.probing = False
            if ok:
                self.failures, self.opened_at = 0, None
            else:
                self.failures += 1
                if before == "half-open" or self.failures >= self.threshold:
                    self.opened_at = self.clock()
            after = self.state
        return None if after == before else f"{before} -> {after}"


_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(cfg: BackendConfig, clock: Clock = time.monotonic) -> Breaker:
    """Return the process-wide breaker of ``cfg`` (created closed on first use)."""
    with _breakers_lock:
        breaker = _breakers.get(cfg.name)
        if breaker is None:
            breaker = _breakers[cfg.name] = Breaker(cfg.breaker_threshold,
                                                   cfg.breaker_cooldown_s, clock)
        return breaker


def reset_breakers() -> None:
    """Forget every breaker's state (tests, or after fixing a server)."""
    with _breakers_lock:
        _breakers.clear()


def _record(cfg: BackendConfig, ok: bool) -> str | None:
    change = breaker_for(cfg).record(ok)
    if change:
        logger.warning("circuit breaker of backend %s: %s", cfg.name, change)
    return change


async def _try_backend(
    cfg: BackendConfig, call: Callable[[BackendConfig], Awaitable[T]], attempts: list[Attempt]
) -> T:
    for retry in range(cfg.max_retries + 1):
        started = time.perf_counter()
        try:
            result = await call(cfg)
        except (ContextTooLong, InvalidRequest):
            _record(cfg, ok=True)  # the server answered: it is healthy, the request was not
            raise
        except (BackendUnavailable, BackendTimeout) as exc:
            attempts.append(Attempt(cfg.name, "failed", type(exc).__name__, str(exc.args[0]),
                                    round((time.perf_counter() - started) * 1000, 1),
                                    breaker=_record(cfg, ok=False)))
            if retry == cfg.max_retries or not breaker_for(cfg).allow():
                raise
            delay = cfg.retry_backoff_s * 2**retry
            logger.info("retrying backend %s in %.2fs after %s", cfg.name, delay, exc)
            await asyncio.sleep(delay)
        except BaseException:
            breaker_for(cfg).release()
            raise
        else:
            attempts.append(Attempt(cfg.name, "ok",
                                    latency_ms=round((time.perf_counter() - started) * 1000, 1),
                                    breaker=_record(cfg, ok=True)))
            return result
    raise AssertionError("unreachable: the loop returns or raises")


BREAKER_OPEN = "circuit breaker open"


async def call_chain(
    chain_name: str,
    chain: Sequence[BackendConfig],
    call: Callable[[BackendConfig], Awaitable[T]],
    context_lengths: dict[str, int] | None = None,
) -> tuple[T, BackendConfig, list[Attempt]]:
    """Run ``call`` on the first backend of ``chain`` that answers.

    Args:
        chain_name: the chain's name, for messages.
        chain: backends in the order to try them.
        call: does the work against one backend; raises our BackendError subclasses.
        context_lengths: known context windows by backend name, used after ContextTooLong.

    Returns:
        The result, the backend that produced it, and every attempt made.
    """
    attempts: list[Attempt] = []
    too_long_at: int | None = None
    too_long: ContextTooLong | None = None
    lengths = context_lengths or {}
    for cfg in chain:
        skipped = _skip_reason(cfg, lengths.get(cfg.name) or cfg.context_length, too_long_at)
        if skipped:
            attempts.append(Attempt(cfg.name, "skipped", reason=skipped))
            continue
        try:
            result = await _try_backend(cfg, call, attempts)
        except ContextTooLong as exc:
            attempts.append(Attempt(cfg.name, "failed", "ContextTooLong", str(exc.args[0])))
            too_long_at = lengths.get(cfg.name) or cfg.context_length or 0
            too_long = exc
            continue
        except InvalidRequest:
            raise
        except BackendError as exc:
            logger.warning("backend %s failed (%s); trying the next one in chain %s",
                           cfg.name, type(exc).__name__, chain_name)
            continue
        if len(attempts) > 1:
            logger.info("chain %s answered by %s after %d attempts", chain_name, cfg.name,
                        len(attempts))
        return result, cfg, attempts
    # No failure but length refusals (window skips record no error): the prompt is
    # what the caller must fix (shorten it); this is not an outage.
    breaker_skipped = any(a.reason == BREAKER_OPEN for a in attempts)
    if too_long is not None and not breaker_skipped and all(
            a.error in (None, "ContextTooLong") for a in attempts):
        raise too_long
    raise NoBackendLeft(chain_name, attempts)


def _skip_reason(cfg: BackendConfig, window: int | None, too_long_at: int | None) -> str:
    """Say why ``cfg`` is not tried at all ('' to try it): too small a window, or its breaker."""
    if too_long_at is not None and window is not None and window <= too_long_at:
        return f"context {window} too small"
    if not breaker_for(cfg).allow():
        return BREAKER_OPEN
    return ""
