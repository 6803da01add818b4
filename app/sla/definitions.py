"""SLA definitions: each tier's objectives and credit ladder, versioned by effective date.

A definition is never edited: an admin adds a new one from a date on (today or later), audited. Which one
applies: a month is judged by the definition in force when the month began (a month's promise never changes
under it), the rolling alert windows by the one in force now.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.audit.service import record
from app.errors import DomainError
from app.sla.defaults import DEFAULT_OBJECTIVES, SEEDED_FROM
from app.sla.models import TIERS, SlaCreditStep, SlaDefinition
from app.effective_dates import effective_start

MAX_STEPS = 5
MAX_LATENCY_MS = 60_000
MAX_THROUGHPUT_RPS = 10_000_000


@dataclass(frozen=True)
class DefinitionInput:
    """What an admin submits for a tier (checked by `add_definition`)."""

    tier: str
    effective_from: date | datetime | None
    uptime_percent: object
    latency_p95_ms: object
    throughput_rps: object
    error_rate_percent: object
    credit_steps: list[tuple[object, object]]  # (uptime below %, credit % of the plan fee)


def ensure_default_definitions(session: Session) -> int:
    """Seed PRODUCT.md's objectives for every tier that has no definition at all; returns how many. Idempotent,
    and never touches a tier an admin has defined."""
    present = set(session.scalars(select(SlaDefinition.tier)))
    added = 0
    for tier, objectives in DEFAULT_OBJECTIVES.items():
        if tier in present:
            continue
        session.add(SlaDefinition(
            tier=tier, effective_from=SEEDED_FROM, uptime_percent=objectives.uptime_percent,
            latency_p95_ms=objectives.latency_p95_ms, throughput_rps=objectives.throughput_rps,
            error_rate_percent=objectives.error_rate_percent, created_by="defaults",
            credit_steps=[SlaCreditStep(uptime_below=below, credit_percent=percent)
                          for below, percent in objectives.credit_steps]))
        added += 1
    session.flush()
    return added


def in_force(session: Session, tier: str, at: datetime) -> SlaDefinition:
    """The definition of `tier` in force at `at` (the latest that started at or before it)."""
    definition = session.scalars(select(SlaDefinition).where(SlaDefinition.tier == tier,
                                                             SlaDefinition.effective_from <= at)
                                 .order_by(SlaDefinition.effective_from.desc(), SlaDefinition.id.desc())).first()
    if definition is None:
        raise LookupError(f"no SLA definition for tier {tier!r} at {at.isoformat()} (run seed-demo or migrate)")
    return definition


def all_in_force(session: Session, at: datetime) -> dict[str, SlaDefinition]:
    """Every tier's definition in force at `at`."""
    return {tier: in_force(session, tier, at) for tier in TIERS}


def history(session: Session, tier: str) -> list[SlaDefinition]:
    """All definitions of `tier`, the newest start first (scheduled ones included)."""
    return list(session.scalars(select(SlaDefinition).where(SlaDefinition.tier == tier)
                                .order_by(SlaDefinition.effective_from.desc(), SlaDefinition.id.desc())))


def add_definition(session: Session, values: DefinitionInput, *, actor_label: str,
                   actor_user_id: int | None = None) -> SlaDefinition:
    """A new definition of a tier from `effective_from` on (today or later); audited as `sla.definition_added`.

    Every refusal is a DomainError naming its field (`credit_steps[1].uptime_below` for a rung), nothing written.
    """
    definition = checked_definition(session, values, actor_label=actor_label)
    try:
        with session.begin_nested():
            session.add(definition)
    except IntegrityError:  # another admin added the same start a moment ago
        raise _start_taken(values.tier) from None
    record(session, "sla.definition_added", actor_label=actor_label, actor_user_id=actor_user_id,
           target=definition.tier, details=describe(definition))
    return definition


def _start_taken(tier: str) -> DomainError:
    return DomainError(f"A {tier} definition already starts then; choose another date.", field="effective_from")


def checked_definition(session: Session, values: DefinitionInput, *, actor_label: str) -> SlaDefinition:
    """The definition `values` describe, checked as `add_definition` checks it but not added to the session:
    what a confirmation page shows before anything is written."""
    if values.tier not in TIERS:
        raise DomainError(f"Unknown tier {values.tier!r}; choose free, pro or enterprise.", field="tier")
    uptime = _percent(values.uptime_percent, "uptime_percent", low_exclusive=True)
    start = effective_start(values.effective_from, clock.utcnow(), what="definition",
                            why="months already judged must stay explainable")
    definition = SlaDefinition(
        tier=values.tier, effective_from=start, uptime_percent=uptime,
        latency_p95_ms=_whole(values.latency_p95_ms, "latency_p95_ms", MAX_LATENCY_MS),
        throughput_rps=_whole(values.throughput_rps, "throughput_rps", MAX_THROUGHPUT_RPS),
        error_rate_percent=_percent(values.error_rate_percent, "error_rate_percent"), created_by=actor_label,
        credit_steps=[SlaCreditStep(uptime_below=below, credit_percent=percent)
                      for below, percent in _ladder(values.credit_steps, uptime)])
    if session.scalar(select(SlaDefinition.id).where(SlaDefinition.tier == definition.tier,
                                                     SlaDefinition.effective_from == definition.effective_from)):
        raise _start_taken(values.tier)
    return definition


def describe(definition: SlaDefinition) -> dict:
    """The definition as plain JSON values (audit details, API)."""
    return {"tier": definition.tier, "effective_from": definition.effective_from.isoformat(),
            "uptime_percent": str(definition.uptime_percent), "latency_p95_ms": definition.latency_p95_ms,
            "throughput_rps": definition.throughput_rps, "error_rate_percent": str(definition.error_rate_percent),
            "credit_steps": [{"uptime_below": str(step.uptime_below), "credit_percent": step.credit_percent}
                             for step in definition.credit_steps]}


def _percent(value, field: str, *, low_exclusive: bool = False) -> Decimal:
    """A percentage (0–100, at most three decimals) or an error naming `field`."""
    try:
        if isinstance(value, (bool, float)):
            raise ValueError
        percent = Decimal(value.strip().rstrip("%").strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError, TypeError):
        raise DomainError("Enter a percentage, e.g. 99.5.", field=field) from None
    too_low = percent <= 0 if low_exclusive else percent < 0
    if not percent.is_finite() or too_low or percent > 100:
        bound = "above 0" if low_exclusive else "at least 0"
        raise DomainError(f"The percentage must be {bound} and at most 100.", field=field)
    if percent != percent.quantize(Decimal("0.001")):
        raise DomainError("At most three decimals, e.g. 99.95.", field=field)
    return percent


def _whole(value, field: str, maximum: int) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise DomainError(f"Enter a whole number from 1 to {maximum:,}.", field=field)
    return value


def _ladder(steps: list[tuple[object, object]], objective: Decimal) -> list[tuple[Decimal, int]]:
    """Checked rungs, highest threshold first: each at or below the objective (a month that met the objective
    earns nothing), thresholds distinct, and a lower uptime never earning a smaller credit."""
    if len(steps) > MAX_STEPS:
        raise DomainError(f"At most {MAX_STEPS} credit steps.", field="credit_steps")
    rungs = []
    for index, (below, percent) in enumerate(steps):
        threshold = _percent(below, f"credit_steps[{index}].uptime_below", low_exclusive=True)
        if threshold > objective:
            raise DomainError(f"A step above the uptime objective ({objective}%) would credit a month that met it.",
                              field=f"credit_steps[{index}].uptime_below")
        rungs.append((threshold, _whole(percent, f"credit_steps[{index}].credit_percent", 100), index))
    rungs.sort(key=lambda rung: rung[0], reverse=True)
    for higher, lower in zip(rungs, rungs[1:]):
        if higher[0] == lower[0]:
            raise DomainError("Two steps have the same threshold.", field=f"credit_steps[{lower[2]}].uptime_below")
        if lower[1] < higher[1]:
            raise DomainError(f"Below {lower[0]}% the credit cannot be smaller than below {higher[0]}% "
                              f"({higher[1]}%).", field=f"credit_steps[{lower[2]}].credit_percent")
    return [(threshold, percent) for threshold, percent, _ in rungs]

