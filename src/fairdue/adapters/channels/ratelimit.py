"""Messages per second per provider: a token bucket in front of a sender.

The clock and the sleep are injected so tests can run a thousand sends in no time and
check exactly how long the bucket made them wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fairdue.domain.messages import OutboundMessage, SendResult
from fairdue.errors import ConfigurationError

from .base import Sender


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; `acquire` waits for one."""

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ConfigurationError(f"a rate limit must be above 0 messages a second, not {rate}")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        if self.burst < 1:
            raise ConfigurationError(f"a rate limit's burst must be at least 1, not {self.burst}")
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until there is one; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        # Sleep outside the lock: the token is already ours (the balance may go negative),
        # so the next caller computes its own, later, wait.
        if wait > 0:
            self._sleep(wait)
        return wait


class RateLimitedSender:
    """A sender that waits for its bucket before each send."""

    def __init__(self, inner: Sender, bucket: TokenBucket) -> None:
        self.inner = inner
        self.bucket = bucket
        self.idempotent = inner.idempotent

    def send(self, message: OutboundMessage) -> SendResult:
        self.bucket.acquire()
        return self.inner.send(message)

    def close(self) -> None:
        self.inner.close()

    def __repr__(self) -> str:
        return f"RateLimitedSender({self.inner!r}, rate={self.bucket.rate:g}/s)"
