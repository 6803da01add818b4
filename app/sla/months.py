"""SLA months are calendar months in UTC. A month closes (its report and credit are made) a grace period after
it ends, so samples sent a little late still count; from then on samples for it are refused."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.billing.periods import add_months

CLOSE_GRACE = timedelta(minutes=15)


def month_start(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, 1, tzinfo=timezone.utc)


def next_month(start: datetime) -> datetime:
    return add_months(month_start(start), 1)


def previous_month(start: datetime) -> datetime:
    return add_months(month_start(start), -1)


def whole_minute(moment: datetime) -> datetime:
    """The start of the minute `moment` is in: samples, rollups and windows count whole minutes."""
    return moment.replace(second=0, microsecond=0)


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes in [start, end), 0 when end is not after start."""
    return max(0, int((end - start).total_seconds()) // 60)


def earliest_open_minute(now: datetime) -> datetime:
    """The first moment samples may still describe: the previous month's start during the grace, else this
    month's start."""
    current = month_start(now)
    return previous_month(current) if now < current + CLOSE_GRACE else current


def month_due_for_closing(now: datetime) -> datetime | None:
    """The start of the month that has ended and whose grace has passed (the previous month), once it has."""
    current = month_start(now)
    return previous_month(current) if now >= current + CLOSE_GRACE else None
