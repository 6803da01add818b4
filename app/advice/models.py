"""Cost advice: recommendations worked out from real usage, each with its evidence and the money it would save."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, created_at_column, one_of, public_id_column

KINDS = ("idle_instance", "rightsize", "tier_fit", "schedule", "commitment")
STATUSES = ("open", "dismissed", "snoozed", "applied", "closed")
ACTIVE = ("open", "dismissed", "snoozed")  # one per finding at most; applied and closed ones are history
SEVERITIES = ("low", "medium", "high", "critical")


class Recommendation(Base):
    """One finding about one thing (an instance, the plan) of one organization.

    The daily job keeps it current: the same finding found again updates this row (partial UNIQUE over the
    active ones, so a job run twice makes one), and a finding no longer found closes it (`closed`, evidence gone).
    Dismissed stays dismissed while the evidence lasts; snoozed comes back as open on `snoozed_until`.
    """

    __tablename__ = "recommendations"
    __table_args__ = (
        CheckConstraint(one_of("kind", KINDS), name="kind"),
        CheckConstraint(one_of("status", STATUSES), name="status"),
        CheckConstraint(one_of("severity", SEVERITIES), name="severity"),
        CheckConstraint("monthly_savings >= 0 AND savings_usd >= 0", name="savings_not_negative"),
        CheckConstraint("status != 'snoozed' OR snoozed_until IS NOT NULL", name="snooze_has_date"),
        CheckConstraint("status != 'dismissed' OR dismiss_reason IS NOT NULL", name="dismiss_has_reason"),
        Index("uq_recommendations_active", "org_id", "kind", "subject", unique=True,
              sqlite_where=text("status IN ('open', 'dismissed', 'snoozed')"),
              postgresql_where=text("status IN ('open', 'dismissed', 'snoozed')")),
        Index("ix_recommendations_org_status", "org_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("rec")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(40), comment="what it is about: an ins_… id, or 'plan'")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default="open")
    severity: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    action: Mapped[str | None] = mapped_column(
        String(40), comment="what Apply does: stop_instance, resize:<gpu type>, change_plan:<code>; NULL: nothing")
    monthly_savings: Mapped[int] = mapped_column(BigInteger, comment="estimated, minor units of `currency`")
    currency: Mapped[str] = mapped_column(String(4), comment="the customer's currency when last computed")
    savings_usd: Mapped[int] = mapped_column(BigInteger, comment="the same estimate in USD cents (admin totals)")
    monthly_spend_usd: Mapped[int] = mapped_column(BigInteger, comment="what the savings are a share of (severity)")
    evidence: Mapped[dict] = mapped_column(JSON, comment="the numbers the rule saw, and a small daily series")
    dismiss_reason: Mapped[str | None] = mapped_column(String(500))
    snoozed_until: Mapped[date | None] = mapped_column(Date)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    applied_by: Mapped[str | None] = mapped_column(String(254))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_seen_at: Mapped[datetime] = created_at_column()
    last_seen_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
