"""The three plans and the billing service's price logic: what usage costs on a plan.

Prices are in the base currency (USD) minor units. Usage beyond what a plan
includes is priced per unit (per GPU-second from an hourly price, per request
from a price per 1,000) and rounded once, half up, on the metric's total; so
the same usage always costs the same, whether it arrived in one record or in
a thousand. Cost advice (tier fit) asks `period_cost` the same question the
invoice does.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing.models import Plan
from app.errors import DomainError
from app.money import Money

BASE_CURRENCY = "USD"


@dataclass(frozen=True)
class PlanSpec:
    name: str
    monthly_price: int
    included_gpu_seconds: int
    gpu_hour_price: int
    included_api_requests: int
    api_1k_price: int


PLAN_CATALOG: dict[str, PlanSpec] = {  # the migration seeds a frozen copy of these
    "free": PlanSpec("Free", 0, 36_000, 3_00, 10_000, 50),
    "pro": PlanSpec("Pro", 49_00, 360_000, 2_50, 1_000_000, 20),
    "enterprise": PlanSpec("Enterprise", 1_999_00, 7_200_000, 2_00, 50_000_000, 10),
}
# Metric → (included column, price column, units the price is for).
METERING = {
    "gpu_seconds": ("included_gpu_seconds", "gpu_hour_price", 3600),
    "api_requests": ("included_api_requests", "api_1k_price", 1000),
}
METRIC_LABELS = {"gpu_seconds": "GPU time", "api_requests": "API requests"}


def ensure_plans(session: Session) -> dict[str, Plan]:
    """The three plans, created or brought back to the catalog (seed-demo)."""
    plans = {plan.code: plan for plan in session.scalars(select(Plan))}
    for code, spec in PLAN_CATALOG.items():
        plan = plans.get(code) or Plan(code=code)
        plan.name, plan.monthly_price, plan.currency = spec.name, spec.monthly_price, BASE_CURRENCY
        plan.included_gpu_seconds, plan.gpu_hour_price = spec.included_gpu_seconds, spec.gpu_hour_price
        plan.included_api_requests, plan.api_1k_price = spec.included_api_requests, spec.api_1k_price
        session.add(plan)
        plans[code] = plan
    session.flush()
    return plans


def plans_by_price(session: Session) -> list[Plan]:
    return list(session.scalars(select(Plan).order_by(Plan.monthly_price, Plan.id)))


def plan_by_code(session: Session, code: str, field: str = "plan") -> Plan:
    plan = session.scalars(select(Plan).where(Plan.code == (code or "").strip().lower())).first()
    if plan is None:
        raise DomainError(f"Unknown plan {code!r}; choose free, pro or enterprise.", field=field)
    return plan


def included(plan: Plan, metric: str) -> int:
    return getattr(plan, METERING[metric][0])


def overage_quantity(plan: Plan, metric: str, used: int) -> int:
    return max(0, used - included(plan, metric))


def overage_cost(plan: Plan, metric: str, used: int) -> Money:
    """What `used` units of `metric` cost beyond the plan's allowance, rounded half up once."""
    _, price_column, per_units = METERING[metric]
    excess = overage_quantity(plan, metric, used)
    minor = (Decimal(excess) * getattr(plan, price_column) / per_units).quantize(Decimal(1), ROUND_HALF_UP)
    return Money(int(minor), plan.currency)


def unit_price_label(plan: Plan, metric: str) -> str:
    """"$2.50 per GPU-hour" / "$0.20 per 1,000 requests", for pages and invoice lines."""
    _, price_column, _ = METERING[metric]
    price = Money(getattr(plan, price_column), plan.currency).format()
    return f"{price} per GPU-hour" if metric == "gpu_seconds" else f"{price} per 1,000 requests"


def period_cost(plan: Plan, usage: dict[str, int]) -> Money:
    """A whole period on `plan` with this usage ({metric: quantity}): fee + overage."""
    total = Money(plan.monthly_price, plan.currency)
    for metric in METERING:
        total = total + overage_cost(plan, metric, usage.get(metric, 0))
    return total
