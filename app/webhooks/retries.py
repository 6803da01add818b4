"""When to try a failed message again.

Attempt 1 is immediate; after each failure the next waits 5 s, 5 min, 30 min,
2 h, 5 h, 10 h, 14 h, 20 h, 24 h (±20% jitter, so a receiver coming back up is
not hit by every message at the same second). After the tenth attempt the
message is failed. A Retry-After answer is honoured within [delay, 2 × delay].
"""
from __future__ import annotations

import random
from datetime import timedelta

RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
    timedelta(hours=5), timedelta(hours=10), timedelta(hours=14), timedelta(hours=20), timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.2
FAILING_DISABLES_AFTER = timedelta(days=5)


def next_delay(attempts_in_cycle: int, retry_after: float | None = None,
               rng: random.Random | None = None) -> timedelta | None:
    """The wait before the next attempt, or None when the schedule is used up.

    `attempts_in_cycle` counts the attempts made so far, including the one that
    just failed.
    """
    if attempts_in_cycle >= MAX_ATTEMPTS:
        return None
    nominal = RETRY_DELAYS[attempts_in_cycle - 1].total_seconds()
    seconds = nominal * (rng or random).uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        seconds = min(max(retry_after, seconds), 2 * seconds)
    return timedelta(seconds=seconds)
