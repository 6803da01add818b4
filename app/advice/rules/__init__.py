"""The cost-advice rules: pure reads over one organization's usage, each returning `Finding`s (never writing).

`find_all` reads the running instances' utilization once (`load_usage`, one query) and asks each instance rule
about each instance, then the tier-fit rule about the plan. An instance gets one piece of advice, the one that
saves most: the rules' savings overlap (stopping an idle instance leaves nothing to resize or commit to; stopping
it at night contradicts committing to it around the clock), so adding them would promise money twice. The idle
rule goes first, so an instance it reports is not given a schedule for the same idle hours.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.orm import Session

from app.accounts.models import Organization
from app.advice.findings import Finding
from app.advice.instance_usage import load_usage
from app.advice.rules import commitment, idle, rightsize, schedule, tier_fit
from app.advice.thresholds import HOURS_PER_MONTH, THRESHOLDS, Thresholds
from app.rental.models import Instance
from app.rental.service import current_subscription
from app.tenancy import owned


def find_all(session: Session, org: Organization, now: datetime, thresholds: Thresholds = THRESHOLDS
             ) -> list[Finding]:
    """Every finding for `org` at `now`: per running instance the one of `each_rule` that saves most (ties: the
    earlier rule), then the plan's."""
    best: dict[str, Finding] = {}
    for finding in each_rule(session, org, now, thresholds):
        if finding.subject not in best or finding.savings_usd > best[finding.subject].savings_usd:
            best[finding.subject] = finding
    return list(best.values())


def each_rule(session: Session, org: Organization, now: datetime, thresholds: Thresholds = THRESHOLDS
              ) -> list[Finding]:
    """What every rule finds on its own: per running instance idle (else schedule), rightsizing, commitment;
    then the plan (several for one instance: `find_all` keeps one)."""
    findings: list[Finding] = []
    for usage in load_usage(session, org, now, thresholds.window_days):
        found = (idle.find(usage, thresholds) or schedule.find(usage, thresholds),
                 rightsize.find(usage, thresholds), commitment.find(usage, thresholds))
        findings.extend(finding for finding in found if finding is not None)
    plan_finding = tier_fit.find(session, org, now, thresholds)
    if plan_finding is not None:
        findings.append(plan_finding)
    return findings


def monthly_spend_usd(session: Session, org: Organization, now: datetime) -> int:
    """USD cents a month the organization spends at this moment: its plan's monthly fee (0 without a
    subscription) + Σ running instances' hourly_rate × 720 (a 30-day month). `now` is accepted for symmetry
    with `find_all`; the figure is what is running now."""
    subscription = current_subscription(session, org.id)
    fee = subscription.plan.monthly_price if subscription is not None else 0
    hourly = session.scalar(owned(Instance, org.id).where(Instance.status == "running")
                            .with_only_columns(func.coalesce(func.sum(Instance.hourly_rate), 0)))
    return fee + int(hourly) * HOURS_PER_MONTH
