"""Platform and gateway fees, in integer minor units with explicit rounding.

A fee is `amount × rate_bps / 10 000`, rounded half up to a whole minor unit,
plus a fixed part. The platform rate comes from the organization's override if
it has one, else from the fee tier mapped to its plan tier. The gateway fee
(Stripe's price, 2.9% + 30 by default) is tracked so the net amount is true.

Example (PRODUCT.md): 100.00 USD on Starter → platform 3.00, gateway 3.20,
net 93.80.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.audit.service import record
from app.errors import DomainError
from app.payments.models import FeeOverride, FeeTier

# code → (name, rate in basis points, fixed fee, the plan tier it applies to)
DEFAULT_TIERS: dict[str, tuple[str, int, int, str]] = {
    "starter": ("Starter", 300, 0, "free"),
    "professional": ("Professional", 150, 0, "pro"),
    "enterprise": ("Enterprise", 50, 0, "enterprise"),
}
BPS = Decimal(10_000)


@dataclass(frozen=True)
class FeeRate:
    """A percentage in basis points plus a fixed part in minor units."""

    rate_bps: int
    fixed_fee: int = 0

    def of(self, amount: int) -> int:
        """The fee on `amount` minor units: rounded half up, never more than the amount."""
        if amount <= 0:
            return 0
        percent_part = (Decimal(amount) * self.rate_bps / BPS).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return min(int(percent_part) + self.fixed_fee, amount)


@dataclass(frozen=True)
class FeeBreakdown:
    platform_fee: int
    gateway_fee: int
    net_amount: int
    platform_rate_bps: int


def breakdown(amount: int, platform: FeeRate, gateway: FeeRate) -> FeeBreakdown:
    """Fees on a captured amount; the net never goes below zero."""
    platform_fee = platform.of(amount)
    gateway_fee = min(gateway.of(amount), amount - platform_fee)
    return FeeBreakdown(platform_fee, gateway_fee, amount - platform_fee - gateway_fee, platform.rate_bps)


def ensure_default_tiers(session: Session) -> None:
    """Insert the three tiers of PRODUCT.md where missing (seed-demo and migrations)."""
    existing = set(session.scalars(select(FeeTier.code)))
    for code, (name, rate, fixed, customer_tier) in DEFAULT_TIERS.items():
        if code not in existing:
            session.add(FeeTier(code=code, name=name, rate_bps=rate, fixed_fee=fixed, customer_tier=customer_tier))


def platform_rate(session: Session, org) -> FeeRate:
    """The organization's platform fee: its override, else its plan tier's fee tier."""
    override = session.scalars(select(FeeOverride).where(FeeOverride.org_id == org.id)).first()
    if override is not None:
        return FeeRate(override.rate_bps, override.fixed_fee)
    tier = session.scalars(select(FeeTier).where(FeeTier.customer_tier == org.tier)).first()
    if tier is not None:
        return FeeRate(tier.rate_bps, tier.fixed_fee)
    default = next((spec for spec in DEFAULT_TIERS.values() if spec[3] == org.tier), DEFAULT_TIERS["starter"])
    return FeeRate(default[1], default[2])


def gateway_rate(config) -> FeeRate:
    return FeeRate(config["GATEWAY_FEE_BPS"], config["GATEWAY_FEE_FIXED"])


def parse_percent(text: str, field: str = "rate") -> int:
    """"1.5" (percent) → 150 basis points; refuses more than two decimals or outside 0–100."""
    try:
        value = Decimal(str(text).strip().rstrip("%"))
    except Exception:  # noqa: BLE001 — decimal raises several types
        raise DomainError("Enter the rate as a percentage, e.g. 1.5", field=field) from None
    if not value.is_finite() or value < 0 or value > 100:
        raise DomainError("The rate must be between 0 and 100 percent.", field=field)
    bps = value * 100
    if bps != bps.to_integral_value():
        raise DomainError("The rate can have at most two decimals (basis points).", field=field)
    return int(bps)


def _check_rate(rate_bps: int) -> int:
    if isinstance(rate_bps, bool) or not isinstance(rate_bps, int) or not 0 <= rate_bps <= 10_000:
        raise DomainError("The rate must be between 0 and 100 percent.", field="rate")
    return rate_bps


def _check_fixed(fixed_fee: int) -> int:
    if isinstance(fixed_fee, bool) or not isinstance(fixed_fee, int) or fixed_fee < 0:
        raise DomainError("The fixed fee is a whole number of minor units, 0 or more.", field="fixed_fee")
    return fixed_fee


def update_tier(session: Session, code: str, *, rate_bps: int, fixed_fee: int, actor_label: str,
                actor_user_id: int | None = None) -> FeeTier:
    """Change a tier's rate (audited with before and after)."""
    tier = session.scalars(select(FeeTier).where(FeeTier.code == code)).first()
    if tier is None:
        raise DomainError(f"No such fee tier: {code}", field="code")
    before = {"rate_bps": tier.rate_bps, "fixed_fee": tier.fixed_fee}
    tier.rate_bps, tier.fixed_fee = _check_rate(rate_bps), _check_fixed(fixed_fee)
    tier.updated_at = clock.utcnow()
    record(session, "fee_tier.updated", actor_label=actor_label, actor_user_id=actor_user_id, target=code,
           details={"before": before, "after": {"rate_bps": rate_bps, "fixed_fee": fixed_fee}})
    return tier


def set_override(session: Session, org, *, rate_bps: int, fixed_fee: int, note: str, actor_label: str,
                 actor_user_id: int | None = None) -> FeeOverride:
    """Give one organization its own platform fee (audited)."""
    override = session.scalars(select(FeeOverride).where(FeeOverride.org_id == org.id)).first()
    before = None if override is None else {"rate_bps": override.rate_bps, "fixed_fee": override.fixed_fee}
    if override is None:
        override = FeeOverride(org_id=org.id)
        session.add(override)
    override.rate_bps, override.fixed_fee = _check_rate(rate_bps), _check_fixed(fixed_fee)
    override.note, override.updated_at = (note or "").strip()[:300], clock.utcnow()
    record(session, "fee_override.saved", actor_label=actor_label, actor_user_id=actor_user_id, org_id=org.id,
           target=org.slug, details={"before": before, "after": {"rate_bps": rate_bps, "fixed_fee": fixed_fee}})
    return override


def remove_override(session: Session, org, *, actor_label: str, actor_user_id: int | None = None) -> None:
    override = session.scalars(select(FeeOverride).where(FeeOverride.org_id == org.id)).first()
    if override is None:
        raise DomainError(f"{org.name} has no fee override.")
    session.delete(override)
    record(session, "fee_override.removed", actor_label=actor_label, actor_user_id=actor_user_id, org_id=org.id,
           target=org.slug, details={"rate_bps": override.rate_bps, "fixed_fee": override.fixed_fee})
