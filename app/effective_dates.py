"""When a versioned setting (a tax rate, an SLA definition) starts: today or later, never in the past.

Such settings are never edited: a change is a new row from a date on, so what was already charged or judged stays
explainable by the row that applied. A start "from today" is the moment it is saved, so whatever happened earlier
today keeps the setting it used.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from app.errors import DomainError


def effective_start(value, now: datetime, *, what: str, why: str, field: str = "effective_from") -> datetime:
    """`value` (a date, or an aware datetime) as the start of `what`, refused naming `field` when it is missing,
    naive or before today; `why` says what a past start would break."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise DomainError("The start needs a time zone (UTC).", field=field)
        moment = value.astimezone(timezone.utc)
    elif isinstance(value, date):
        moment = datetime.combine(value, time(), timezone.utc)
    else:
        raise DomainError(f"Enter the date the {what} takes effect, e.g. 2027-01-01.", field=field)
    if moment.date() < now.date():
        raise DomainError(f"A {what} cannot start in the past: {why}. Choose today or a later date.", field=field)
    return max(moment, now)
