"""The tile retry policy: how many attempts, and how long a retryable failure waits before the next."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """After the n-th attempt (1-based) failed retryably, wait `backoff_s * factor**(n-1)`, at most `cap_s`.

    A lost worker or scheduler is retried at once (the tile itself was not at fault).
    """

    max_attempts: int = 3
    backoff_s: float = 2.0
    factor: float = 2.0
    cap_s: float = 60.0

    def backoff(self, attempts: int) -> float:
        if attempts < 1 or self.backoff_s <= 0:
            return 0.0
        return min(self.backoff_s * self.factor ** (attempts - 1), self.cap_s)
