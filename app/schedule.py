"""Every periodic job, in one place. `flask scheduler` enqueues them on time."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from app.accounts.jobs import expire_sessions


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: Callable
    queue: str = "low"
    interval: int | None = None  # seconds
    cron: str | None = None  # crontab syntax, UTC


PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("expire-sessions", expire_sessions, interval=15 * 60),
)
