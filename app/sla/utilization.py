"""GPU utilization on samples (for cost advice): checked and turned into basis points, and summed per instance and
UTC hour into `InstanceHour`, the table the advice rules read (a fortnight is 336 rows per instance, not 20,160
samples).

A sample carries both figures or neither: advice compares compute with memory (rightsizing needs both), so half a
reading is refused rather than stored as a guess. Percentages come with at most 2 decimals, which is exactly what a
basis point holds, so storing loses nothing; a finer figure is refused, not rounded, so the sum the rules read is
the sum the reporter sent.

Like `SlaMinute`, an hour only ever grows by the samples a batch inserted (duplicates never reach here), summed in
Python first and written by one upsert per (instance, hour) in key order, so racing batches queue on the row in
the same order and each adds exactly its own samples.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import case
from sqlalchemy.orm import Session

from app.db import dialect_insert
from app.errors import DomainError
from app.sla.models import InstanceHour

GPU, MEMORY = "gpu_utilization", "gpu_memory_utilization"
BP_PER_PERCENT = 100


@dataclass(frozen=True)
class Utilization:
    """One sample's reading, in basis points (10,000 = 100%)."""

    gpu_bp: int
    memory_bp: int


Reading = tuple[int, datetime, Utilization]  # (instance row id, sampled_at in UTC, what it reported)


def checked_utilization(index: int, gpu, memory) -> Utilization | None:
    """Sample `index`'s utilization (None when it sent neither figure); a DomainError naming the field otherwise."""
    if gpu is None and memory is None:
        return None
    for name, value, other in ((GPU, gpu, MEMORY), (MEMORY, memory, GPU)):
        if value is None:
            raise _refuse(index, name, f"{name} is missing: send it with {other}, or neither.")
    return Utilization(_basis_points(index, GPU, gpu), _basis_points(index, MEMORY, memory))


def _basis_points(index: int, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise _refuse(index, name, f"{name} must be a number of percent from 0 to 100, not a string or a boolean.")
    if isinstance(value, float) and not math.isfinite(value) or isinstance(value, Decimal) and not value.is_finite():
        raise _refuse(index, name, f"{name} must be a number of percent from 0 to 100; got {value}.")
    # A float's repr is the shortest decimal that reads back as it: 12.34 is "12.34", not 12.339999…
    percent = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not 0 <= percent <= 100:
        raise _refuse(index, name, f"{name} must be between 0 and 100 (percent); got {value}.")
    basis_points = percent * BP_PER_PERCENT
    if basis_points != basis_points.to_integral_value():
        raise _refuse(index, name, f"{name} takes at most 2 decimals; got {value}.")
    return int(basis_points.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _refuse(index: int, name: str, why: str) -> DomainError:
    return DomainError(f"Sample {index}: {why}", field=f"samples[{index}].{name}")


def sample_columns(utilization: Utilization | None) -> dict:
    """The `SlaSample` columns of a reading (NULLs: none reported)."""
    if utilization is None:
        return {"gpu_utilization_bp": None, "gpu_memory_utilization_bp": None}
    return {"gpu_utilization_bp": utilization.gpu_bp, "gpu_memory_utilization_bp": utilization.memory_bp}


def add_to_hours(session: Session, org_id: int, readings: list[Reading]) -> None:
    """Add the inserted samples' readings to their instances' hours: sums and maxima per (instance, hour)."""
    hours: dict[tuple[int, datetime], dict] = {}
    for instance_id, sampled_at, reading in readings:
        hour = sampled_at.replace(minute=0, second=0, microsecond=0)
        total = hours.setdefault((instance_id, hour), {"samples": 0, "gpu_sum_bp": 0, "gpu_max_bp": 0,
                                                       "memory_sum_bp": 0, "memory_max_bp": 0})
        total["samples"] += 1
        total["gpu_sum_bp"] += reading.gpu_bp
        total["memory_sum_bp"] += reading.memory_bp
        total["gpu_max_bp"] = max(total["gpu_max_bp"], reading.gpu_bp)
        total["memory_max_bp"] = max(total["memory_max_bp"], reading.memory_bp)
    if not hours:
        return
    rows = [{"instance_id": instance_id, "hour": hour, "org_id": org_id, **hours[instance_id, hour]}
            for instance_id, hour in sorted(hours)]
    table = InstanceHour.__table__
    statement = dialect_insert(session, table)
    new = statement.excluded
    # CASE rather than GREATEST (PostgreSQL) or two-argument MAX (SQLite): one statement for both databases.
    statement = statement.on_conflict_do_update(index_elements=["instance_id", "hour"], set_={
        **{name: table.c[name] + new[name] for name in ("samples", "gpu_sum_bp", "memory_sum_bp")},
        **{name: case((new[name] > table.c[name], new[name]), else_=table.c[name])
           for name in ("gpu_max_bp", "memory_max_bp")}})
    session.execute(statement, rows)
