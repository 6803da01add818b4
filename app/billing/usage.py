"""Usage metering, the write side: record batches of usage once, keep per-period totals, tell customers when a
threshold of what their plan includes is crossed.

A batch is all or nothing: every record is checked before anything is written, so a client that gets a refusal
fixes the named record and sends the whole batch again. Records are idempotent by the customer's key, enforced by
the database (INSERT … ON CONFLICT DO NOTHING), not by a read before the write, so two requests racing with the same
key count it once. Each (metric, period) total is bumped by one upsert that returns the new total; the row
serialises concurrent batches, so exactly one of them sees a threshold crossed, and `UsageAlert`'s UNIQUE makes the
event once per threshold, metric and period even if a plan change moves the threshold under it.

The read side (the usage summary, the page's figures) is `app/billing/usage_queries.py`.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import Organization
from app.audit import service as audit
from app.billing import plans
from app.billing.models import METRICS, Subscription, UsageAlert, UsageRecord, UsageTotal
from app.billing.periods import Period, period_containing
from app.billing.usage_queries import UsageSummary, usage_summary  # noqa: F401  (the read side, re-exported)
from app.db import dialect_insert, new_public_id
from app.errors import DomainError
from app.rental.service import current_subscription, instance_ids
from app.webhooks import events

MAX_BATCH = 1000
MAX_KEY_LENGTH = 100
MAX_MODEL_LENGTH = 80
MAX_QUANTITY = 10**12  # per record; keeps any period's total far inside a BIGINT
FUTURE_TOLERANCE = timedelta(minutes=5)  # clocks of the machines reporting usage drift a little
THRESHOLDS = (80, 100)  # percent of the plan's included quantity
SUBJECT = {"gpu_seconds": "instance", "api_requests": "model"}  # what each metric's record must name


@dataclass(frozen=True)
class UsageInput:
    """One record as a client reports it (checked by `record_batch`, not here)."""

    idempotency_key: str
    metric: str
    quantity: int
    timestamp: datetime | None = None  # None: now
    instance: str | None = None  # ins_… of one of the organization's instances (gpu_seconds)
    model: str | None = None  # the model the requests were for (api_requests)


@dataclass(frozen=True)
class RecordResult:
    idempotency_key: str
    id: str  # mu_… of the stored record (the earlier one for a duplicate)
    status: str  # "recorded" | "duplicate"


@dataclass(frozen=True)
class ThresholdReached:
    metric: str
    threshold_percent: int
    used: int
    included: int
    period: Period


@dataclass(frozen=True)
class BatchResult:
    records: list[RecordResult]
    thresholds: list[ThresholdReached]

    @property
    def recorded(self) -> int:
        return sum(1 for r in self.records if r.status == "recorded")

    @property
    def duplicates(self) -> int:
        return len(self.records) - self.recorded


@dataclass(frozen=True)
class _NewRecord:
    """A checked record whose key was not stored when the batch was read."""

    index: int  # its position in the batch
    public_id: str
    idempotency_key: str
    metric: str
    quantity: int
    instance_id: int | None
    model: str | None
    occurred_at: datetime
    period: Period

    def row(self, org_id: int) -> dict:
        return {"org_id": org_id, "public_id": self.public_id, "idempotency_key": self.idempotency_key,
                "metric": self.metric, "quantity": self.quantity, "instance_id": self.instance_id,
                "model": self.model, "occurred_at": self.occurred_at, "period_start": self.period.start}


@dataclass(frozen=True)
class _Context:
    """What checking a record needs to know, read once per batch."""

    subscription: Subscription
    now: datetime
    known: dict[str, str]  # idempotency key → mu_… of records already stored
    instances: dict[str, int]  # ins_… → row id, the organization's own only


def record_batch(session: Session, org: Organization, records: list[UsageInput], *,
                 actor_label: str) -> BatchResult:
    """Record `records` for `org` (all or none); duplicates of stored or earlier keys are counted once.

    Refusals are DomainErrors naming `records` or `records[<index>].<field>`; nothing is written then. The caller
    commits. Threshold crossings emit `usage.threshold_reached` and are audited, in the same transaction.
    """
    subscription = _metered_subscription(session, org.id)
    if not records:
        raise DomainError("The batch is empty: send at least one record.", field="records")
    if len(records) > MAX_BATCH:
        raise DomainError(f"A batch holds at most {MAX_BATCH:,} records; this one has {len(records):,}. "
                          "Split it.", field="records")
    context = _Context(subscription, clock.utcnow(), _known_keys(session, org.id, records),
                       instance_ids(session, org.id, (r.instance for r in records)))
    new: dict[str, _NewRecord] = {}
    for index, record in enumerate(records):
        checked = _checked_record(index, record, context)
        if checked is not None:
            new.setdefault(checked.idempotency_key, checked)  # a later copy in the batch is a duplicate
    stored = {**context.known, **_insert_records(session, org.id, list(new.values()))}
    _confirm_period_open(session, subscription)
    inserted = [record for record in new.values() if stored[record.idempotency_key] == record.public_id]
    recorded_at = {record.index for record in inserted}
    results = [RecordResult(record.idempotency_key, stored[record.idempotency_key],
                            "recorded" if index in recorded_at else "duplicate")
               for index, record in enumerate(records)]
    return BatchResult(results, _add_to_totals(session, org.id, subscription, inserted, actor_label))


def _metered_subscription(session: Session, org_id: int) -> Subscription:
    """The current subscription, share-locked on PostgreSQL so the period-closing job (which locks it to move the
    period) waits for this batch, and this batch sees the period it moved to."""
    subscription = current_subscription(session, org_id)
    if subscription is None:
        raise DomainError("This organization has no current subscription, so usage cannot be metered.",
                          field="records")
    session.refresh(subscription, with_for_update={"read": True})
    return subscription


def _confirm_period_open(session: Session, subscription: Subscription) -> None:
    """SQLite has no row locks, but now holds the database's write lock: re-read the period, in case it was closed
    between the checks and the first write (on PostgreSQL the share lock kept it from moving)."""
    start = session.scalar(select(Subscription.current_period_start).where(Subscription.id == subscription.id))
    if start != subscription.current_period_start:
        raise DomainError("The billing period closed while this batch was being recorded; send it again.",
                          field="records")


def _known_keys(session: Session, org_id: int, records: list[UsageInput]) -> dict[str, str]:
    keys = {r.idempotency_key for r in records if isinstance(r.idempotency_key, str)}
    return _stored_ids(session, org_id, keys)


def _stored_ids(session: Session, org_id: int, keys) -> dict[str, str]:
    if not keys:
        return {}
    rows = session.execute(select(UsageRecord.idempotency_key, UsageRecord.public_id)
                           .where(UsageRecord.org_id == org_id, UsageRecord.idempotency_key.in_(keys)))
    return dict(rows.all())


def _refuse(index: int, name: str, why: str) -> DomainError:
    return DomainError(f"Record {index}: {why}", field=f"records[{index}].{name}")


def _checked_record(index: int, record: UsageInput, context: _Context) -> _NewRecord | None:
    """Record `index`, checked; None when its key is stored already (a resend is not re-checked
    against the clock or the period, so retrying an accepted batch always succeeds)."""
    key = _checked_key(index, record.idempotency_key)
    metric = record.metric
    if metric not in METRICS:
        raise _refuse(index, "metric", f"unknown metric {metric!r}; use {' or '.join(METRICS)}.")
    quantity = record.quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise _refuse(index, "quantity", "quantity must be a whole number (an integer, not a string or a decimal).")
    if not 0 <= quantity <= MAX_QUANTITY:
        raise _refuse(index, "quantity", f"quantity must be between 0 and {MAX_QUANTITY:,}; got {quantity:,}.")
    _check_subject(index, record, metric)
    if key in context.known:
        return None
    occurred = _checked_time(index, record.timestamp, context)
    instance_id = None
    if metric == "gpu_seconds":
        instance_id = context.instances.get(record.instance)
        if instance_id is None:
            raise _refuse(index, "instance", f"no instance {record.instance!r} in this organization.")
    period = period_containing(context.subscription.billing_anchor, occurred)
    return _NewRecord(index, new_public_id("mu"), key, metric, quantity, instance_id, record.model, occurred, period)


def _checked_key(index: int, key) -> str:
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise _refuse(index, "idempotency_key",
                      f"idempotency_key must be 1–{MAX_KEY_LENGTH} printable characters, unique per record.")
    return key


def _check_subject(index: int, record: UsageInput, metric: str) -> None:
    """gpu_seconds name an instance (and no model), api_requests a model (and no instance)."""
    if metric == "gpu_seconds":
        if not isinstance(record.instance, str) or not record.instance:
            raise _refuse(index, "instance", "gpu_seconds need the instance (ins_…) that used the GPU time.")
        if record.model is not None:
            raise _refuse(index, "model", "model applies to api_requests only.")
        return
    model = record.model
    if not isinstance(model, str) or not model.strip() or len(model) > MAX_MODEL_LENGTH or not model.isprintable():
        raise _refuse(index, "model", f"api_requests need the model they were for (1–{MAX_MODEL_LENGTH} "
                                      "printable characters).")
    if record.instance is not None:
        raise _refuse(index, "instance", "instance applies to gpu_seconds only.")


def _checked_time(index: int, timestamp, context: _Context) -> datetime:
    if timestamp is None:
        return context.now
    if not isinstance(timestamp, datetime) or timestamp.tzinfo is None:
        raise _refuse(index, "timestamp", "timestamp needs a time zone, e.g. 2026-11-14T10:00:00Z.")
    timestamp = timestamp.astimezone(timezone.utc)
    if timestamp > context.now + FUTURE_TOLERANCE:
        raise _refuse(index, "timestamp", f"{timestamp.isoformat()} is more than 5 minutes in the future.")
    start = context.subscription.current_period_start
    if timestamp < start:
        raise _refuse(index, "timestamp", f"{timestamp.isoformat()} falls in a billing period that is already "
                                          f"invoiced (the current one started {start:%Y-%m-%d %H:%M} UTC).")
    return timestamp


def _insert_records(session: Session, org_id: int, records: list[_NewRecord]) -> dict[str, str]:
    """Insert the new records; returns key → mu_… of each key as stored now (ours, or a racing request's).

    Rows go in key order, so two batches sharing keys wait for each other in the same order (no deadlock).
    """
    if not records:
        return {}
    table = UsageRecord.__table__
    values = [record.row(org_id) for record in sorted(records, key=lambda r: r.idempotency_key)]
    statement = (dialect_insert(session, table).on_conflict_do_nothing(index_elements=["org_id", "idempotency_key"])
                 .returning(table.c.idempotency_key, table.c.public_id))
    stored = dict(session.execute(statement, values).all())
    lost = {record.idempotency_key for record in records} - stored.keys()  # a concurrent request stored these first
    return {**stored, **_stored_ids(session, org_id, lost)}


def _add_to_totals(session: Session, org_id: int, subscription: Subscription, inserted: list[_NewRecord],
                   actor_label: str) -> list[ThresholdReached]:
    """Bump each (metric, period) total by what this batch added; alert on the thresholds it crossed."""
    added: dict[tuple[str, Period], int] = defaultdict(int)
    for record in inserted:
        added[record.metric, record.period] += record.quantity
    reached = []
    for (metric, period), quantity in sorted(added.items(), key=lambda item: (item[0][0], item[0][1].start)):
        if quantity == 0:
            continue
        total = _increment_total(session, org_id, metric, period, quantity)
        included = plans.included(subscription.plan, metric)
        for percent in crossed(included, total - quantity, total):
            crossing = ThresholdReached(metric, percent, total, included, period)
            if _alert_once(session, org_id, crossing, actor_label):
                reached.append(crossing)
    return reached


def _increment_total(session: Session, org_id: int, metric: str, period: Period, quantity: int) -> int:
    """One upsert: create the total or add to it, and return the new value. Racing batches queue on the row."""
    table = UsageTotal.__table__
    statement = dialect_insert(session, table).values(org_id=org_id, metric=metric, period_start=period.start,
                                               period_end=period.end, quantity=quantity)
    statement = statement.on_conflict_do_update(index_elements=["org_id", "metric", "period_start"],
                                                set_={"quantity": table.c.quantity + statement.excluded.quantity})
    return session.execute(statement.returning(table.c.quantity)).scalar_one()


def crossed(included: int, before: int, after: int) -> list[int]:
    """The thresholds (percent) that a total going from `before` to `after` reaches: before < limit ≤ after, with
    limit = included × percent / 100 compared exactly (in hundredths). Nothing is included: nothing to reach."""
    if included <= 0:
        return []
    return [percent for percent in THRESHOLDS if before * 100 < included * percent <= after * 100]


def _alert_once(session: Session, org_id: int, crossing: ThresholdReached, actor_label: str) -> bool:
    """Record the alert (UNIQUE per org, metric, period, threshold); emit and audit only if it is new."""
    table = UsageAlert.__table__
    statement = (dialect_insert(session, table)
                 .values(org_id=org_id, metric=crossing.metric, period_start=crossing.period.start,
                         threshold_percent=crossing.threshold_percent, used=crossing.used,
                         included=crossing.included, created_at=clock.utcnow())
                 .on_conflict_do_nothing(index_elements=["org_id", "metric", "period_start", "threshold_percent"])
                 .returning(table.c.id))
    if session.execute(statement).scalar_one_or_none() is None:
        return False
    payload = {"metric": crossing.metric, "threshold_percent": crossing.threshold_percent, "used": crossing.used,
               "included": crossing.included, "period_start": crossing.period.start,
               "period_end": crossing.period.end}
    events.emit(session, org_id, "usage.threshold_reached", payload)
    audit.record(session, "usage.threshold_reached", actor_label=actor_label, org_id=org_id, target=crossing.metric,
                 details={**payload, "period_start": crossing.period.start.isoformat(),
                          "period_end": crossing.period.end.isoformat()})
    return True
