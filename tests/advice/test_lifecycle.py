"""The recommendation lifecycle: the daily recompute keeps one row per finding (however often, however many runs
race), closes what is no longer found, respects dismissals and snoozes; dismiss, snooze and apply move a row once
and say why they refuse; apply really stops the instance or changes the plan; savings are exact in USD and EUR."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app import clock
from app.accounts.models import Organization
from app.advice import queries, service
from app.advice.models import Recommendation
from app.billing.models import PlanChange, Subscription
from app.currency.service import set_rate
from app.errors import DomainError, NotFound
from app.rental.models import Instance
from tests.advice.lifecycle_support import (DAY, NOW, SPEND, TODAY, audit_count, commitment, idle,
                                            recommendations, rightsize, run, tier_fit)
from tests.support import failures, race


def test_recompute_twice_keeps_one_open_recommendation_with_exact_usd_savings(db, shop):
    first = run(db, shop.acme, [idle(shop.acme.a100)])
    assert (first.opened, first.updated, first.closed) == (1, 0, 0)
    second = run(db, shop.acme, [idle(shop.acme.a100, title="Stop idle instance acme-train-1 (7 days)")],
                 at=NOW + DAY)
    assert (second.opened, second.updated, second.closed) == (0, 1, 0)

    [rec] = recommendations(db, shop.acme)
    assert rec.public_id.startswith("rec_") and rec.status == "open"
    assert (rec.kind, rec.subject, rec.instance_id, rec.action) == (
        "idle_instance", shop.acme.a100.public_id, shop.acme.a100.id, "stop_instance")
    assert (rec.savings_usd, rec.monthly_savings, rec.currency, rec.monthly_spend_usd) == (
        107_568, 107_568, "USD", SPEND)
    assert rec.title == "Stop idle instance acme-train-1 (7 days)"  # updated, not duplicated
    assert (rec.first_seen_at, rec.last_seen_at) == (NOW, NOW + DAY)
    assert rec.severity == "critical"  # 1,075.68 of 2,000.00: 53.8%
    assert rec.evidence["idle_days"] == 6 and rec.evidence["series"] == [{"label": "Nov 14", "value": 2.5}]
    assert audit_count(db, "advice.recommendation_opened", rec.public_id) == 1


def test_savings_are_converted_exactly_into_the_customers_currency(db, shop):
    set_rate(db, "EUR", Decimal("0.9234"), actor_label="test")
    shop.acme.org.preferred_currency = "EUR"
    db.commit()
    run(db, shop.acme, [idle(shop.acme.a100, savings_usd=12_500), tier_fit(savings_usd=4_900)])
    by_kind = {rec.kind: rec for rec in recommendations(db, shop.acme)}
    # 125.00 USD × 0.9234 = 115.425 EUR → 115.43 (half up; half-even would say 115.42)
    assert (by_kind["idle_instance"].monthly_savings, by_kind["idle_instance"].currency) == (11_543, "EUR")
    assert by_kind["idle_instance"].savings_usd == 12_500
    assert by_kind["tier_fit"].monthly_savings == 4_525  # 49.00 × 0.9234 = 45.2466 → 45.25

    set_rate(db, "EUR", Decimal("0.95"), actor_label="test", as_of=NOW + DAY)
    db.commit()
    run(db, shop.acme, [idle(shop.acme.a100, savings_usd=12_500)], at=NOW + DAY)  # the next day's rate
    [rec] = [r for r in recommendations(db, shop.acme) if r.kind == "idle_instance"]
    assert rec.monthly_savings == 11_875  # 125.00 × 0.95


def test_racing_recomputes_make_one_recommendation(app, db, shop):
    def recompute(session, _):
        org = session.get(Organization, shop.acme.org.id)
        return service.recompute(session, org, NOW, [idle(shop.acme.a100)], spend_usd=SPEND)

    errors = failures(race(app, recompute, [None] * 4))
    assert len(recommendations(db, shop.acme)) == 1
    assert audit_count(db, "advice.recommendation_opened") == 1
    assert not [e for e in errors if "locked" not in str(e)]  # SQLite may refuse a writer; none opens twice


def test_a_finding_no_longer_found_closes_once_and_a_new_one_opens_afresh(db, shop):
    run(db, shop.acme, [idle(shop.acme.a100), tier_fit()])
    result = run(db, shop.acme, [tier_fit()], at=NOW + DAY)
    assert (result.updated, result.closed) == (1, 1)
    closed, plan = recommendations(db, shop.acme)
    assert (closed.status, closed.closed_at, plan.status) == ("closed", NOW + DAY, "open")
    assert run(db, shop.acme, [tier_fit()], at=NOW + 2 * DAY).closed == 0  # closed once
    assert audit_count(db, "advice.recommendation_closed", closed.public_id) == 1

    run(db, shop.acme, [idle(shop.acme.a100), tier_fit()], at=NOW + 3 * DAY)  # idle again: a new recommendation
    rows = recommendations(db, shop.acme)
    assert [r.status for r in rows] == ["closed", "open", "open"]
    assert rows[2].subject == closed.subject and rows[2].first_seen_at == NOW + 3 * DAY


def test_recompute_touches_only_its_own_organization(db, shop):
    run(db, shop.globex, [idle(shop.globex.a100)])
    run(db, shop.acme, [])
    [theirs] = recommendations(db, shop.globex)
    assert theirs.status == "open" and recommendations(db, shop.acme) == []


def test_dismissed_stays_dismissed_on_recompute_with_fresh_figures(db, shop):
    run(db, shop.acme, [idle(shop.acme.a100)])
    [rec] = recommendations(db, shop.acme)
    service.dismiss(db, shop.acme.org.id, rec.public_id, "  Our nightly training box  ", actor_label="ann@acme.test")
    db.commit()
    run(db, shop.acme, [idle(shop.acme.a100, savings_usd=90_000)], at=NOW + DAY)
    run(db, shop.acme, [], at=NOW + 2 * DAY)  # a dismissal is the customer's word: gone evidence does not undo it
    [rec] = recommendations(db, shop.acme)
    assert (rec.status, rec.dismiss_reason, rec.savings_usd) == ("dismissed", "Our nightly training box", 90_000)
    assert audit_count(db, "advice.recommendation_dismissed", rec.public_id) == 1
    assert audit_count(db, "advice.recommendation_opened") == 1


@pytest.mark.parametrize("reason", ["", "   ", None, "x" * 501])
def test_dismiss_needs_a_reason_of_1_to_500_characters(db, shop, reason):
    run(db, shop.acme, [idle(shop.acme.a100)])
    [rec] = recommendations(db, shop.acme)
    with pytest.raises(DomainError) as refused:
        service.dismiss(db, shop.acme.org.id, rec.public_id, reason, actor_label="test")
    assert refused.value.field == "reason"
    db.rollback()
    assert service.dismiss(db, shop.acme.org.id, rec.public_id, "y" * 500, actor_label="test").status == "dismissed"


def test_dismissed_or_applied_ones_cannot_be_dismissed_or_snoozed_again(db, shop):
    run(db, shop.acme, [idle(shop.acme.a100)])
    [rec] = recommendations(db, shop.acme)
    service.dismiss(db, shop.acme.org.id, rec.public_id, "not now", actor_label="test")
    db.commit()
    for attempt in (lambda: service.dismiss(db, shop.acme.org.id, rec.public_id, "again", actor_label="test"),
                    lambda: service.snooze(db, shop.acme.org.id, rec.public_id, TODAY + DAY, actor_label="test"),
                    lambda: service.apply(db, shop.acme.org.id, rec.public_id, actor_label="test")):
        with pytest.raises(DomainError) as refused:
            attempt()
        assert refused.value.field == "status" and "dismissed" in refused.value.message
        db.rollback()
    assert audit_count(db, "advice.recommendation_dismissed") == 1


@pytest.mark.parametrize("days", [-1, 0, 366])
def test_snooze_is_refused_for_today_the_past_and_beyond_a_year(db, shop, days):
    run(db, shop.acme, [idle(shop.acme.a100)])
    [rec] = recommendations(db, shop.acme)
    with pytest.raises(DomainError) as refused:
        service.snooze(db, shop.acme.org.id, rec.public_id, TODAY + days * DAY, actor_label="test")
    assert refused.value.field == "until"
    db.rollback()
    assert recommendations(db, shop.acme)[0].status == "open"
    a_year = service.snooze(db, shop.acme.org.id, rec.public_id, TODAY + 365 * DAY, actor_label="test")
    assert a_year.snoozed_until.isoformat() == "2027-11-15"  # the last day allowed


def test_snooze_expires_into_open_in_the_list_at_once_and_on_the_next_recompute(db, shop):
    run(db, shop.acme, [idle(shop.acme.a100)])
    [rec] = recommendations(db, shop.acme)
    until = TODAY + 3 * DAY
    service.snooze(db, shop.acme.org.id, rec.public_id, until, actor_label="ann@acme.test")
    db.commit()
    assert queries.advice_list(db, shop.acme.org.id, NOW).rows == []
    assert [r.public_id for r in queries.advice_list(db, shop.acme.org.id, NOW, statuses=("snoozed",)).rows] == [
        rec.public_id]

    day_before = NOW + 2 * DAY
    assert run(db, shop.acme, [idle(shop.acme.a100)], at=day_before).reopened == 0
    assert recommendations(db, shop.acme)[0].status == "snoozed"

    on_the_day = NOW.replace(hour=0, minute=0) + 3 * DAY  # before the day's run
    listed = queries.advice_list(db, shop.acme.org.id, on_the_day)
    assert [r.public_id for r in listed.rows] == [rec.public_id] and listed.status_of(listed.rows[0]) == "open"
    assert listed.total_monthly_savings == 107_568
    assert queries.advice_list(db, shop.acme.org.id, on_the_day, statuses=("snoozed",)).rows == []

    assert run(db, shop.acme, [idle(shop.acme.a100)], at=NOW + 3 * DAY).reopened == 1
    [rec] = recommendations(db, shop.acme)
    assert (rec.status, rec.snoozed_until) == ("open", None)
    assert audit_count(db, "advice.recommendation_snoozed", rec.public_id) == 1
    assert audit_count(db, "advice.recommendation_opened", rec.public_id) == 2  # opened, then reopened


def test_a_snoozed_one_whose_finding_is_gone_closes(db, shop):
    run(db, shop.acme, [idle(shop.acme.a100)])
    [rec] = recommendations(db, shop.acme)
    service.snooze(db, shop.acme.org.id, rec.public_id, TODAY + 7 * DAY, actor_label="test")
    db.commit()
    assert run(db, shop.acme, [], at=NOW + DAY).closed == 1
    [rec] = recommendations(db, shop.acme)
    assert (rec.status, rec.snoozed_until, rec.closed_at) == ("closed", None, NOW + DAY)


def test_apply_stops_the_instance_once(db, shop):
    run(db, shop.acme, [idle(shop.acme.a100)])
    [rec] = recommendations(db, shop.acme)
    applied = service.apply(db, shop.acme.org.id, rec.public_id, actor_label="ann@acme.test")
    db.commit()
    assert (applied.status, applied.applied_at, applied.applied_by) == ("applied", NOW, "ann@acme.test")
    db.expire_all()
    assert db.get(Instance, shop.acme.a100.id).status == "stopped"
    assert db.get(Instance, shop.acme.l4.id).status == "running"
    assert audit_count(db, "instance.stopped", shop.acme.a100.public_id) == 1
    assert audit_count(db, "advice.recommendation_applied", rec.public_id) == 1

    with pytest.raises(DomainError) as refused:
        service.apply(db, shop.acme.org.id, rec.public_id, actor_label="ann@acme.test")
    assert refused.value.field == "status" and "applied" in refused.value.message
    db.rollback()
    assert audit_count(db, "instance.stopped") == 1 and audit_count(db, "advice.recommendation_applied") == 1
    assert run(db, shop.acme, [], at=NOW + DAY).closed == 0  # history is left alone
    assert recommendations(db, shop.acme)[0].status == "applied"


def test_a_second_submission_from_a_stale_page_is_refused(app, db, shop):
    run(db, shop.acme, [idle(shop.acme.a100)])
    [rec] = recommendations(db, shop.acme)
    other = app.extensions["db"].session()
    try:
        stale = other.scalars(select(Recommendation).where(Recommendation.id == rec.id)).one()
        assert stale.status == "open"  # this session read it before the first apply
        service.apply(db, shop.acme.org.id, rec.public_id, actor_label="ann@acme.test")
        db.commit()
        with pytest.raises(DomainError) as refused:
            service.apply(other, shop.acme.org.id, rec.public_id, actor_label="bob@acme.test")
        assert refused.value.field == "status"
        other.rollback()
    finally:
        other.close()
    assert audit_count(db, "instance.stopped") == 1 and audit_count(db, "advice.recommendation_applied") == 1


def test_racing_applies_stop_the_instance_once(app, db, shop):
    run(db, shop.acme, [idle(shop.acme.a100)])
    [rec] = recommendations(db, shop.acme)
    outcomes = ["applied" if not isinstance(outcome, BaseException) else outcome for outcome in race(
        app, lambda session, _: service.apply(session, shop.acme.org.id, rec.public_id, actor_label="test"),
        [None] * 3)]
    assert outcomes.count("applied") == 1, outcomes
    refusals = [o for o in outcomes if o != "applied"]
    assert all(isinstance(o, DomainError) and o.field == "status" or "locked" in str(o) for o in refusals), outcomes
    assert audit_count(db, "instance.stopped") == 1 and audit_count(db, "advice.recommendation_applied") == 1


def test_a_refused_action_leaves_the_recommendation_open(db, shop):
    run(db, shop.acme, [idle(shop.acme.a100)])
    [rec] = recommendations(db, shop.acme)
    shop.acme.a100.status = "stopped"  # stopped by hand meanwhile
    db.commit()
    with pytest.raises(DomainError) as refused:
        service.apply(db, shop.acme.org.id, rec.public_id, actor_label="test")
    assert refused.value.field == "instance" and "not running" in refused.value.message
    db.commit()  # even a caller that commits after the refusal keeps nothing of the claim
    [rec] = recommendations(db, shop.acme)
    assert (rec.status, rec.applied_at) == ("open", None)
    assert audit_count(db, "advice.recommendation_applied") == 0 and audit_count(db, "instance.stopped") == 0


def test_apply_change_plan_changes_the_plan_with_its_proration(db, shop):
    run(db, shop.acme, [tier_fit("free")])
    [rec] = recommendations(db, shop.acme)
    service.apply(db, shop.acme.org.id, rec.public_id, actor_label="ann@acme.test")
    db.commit()
    db.expire_all()
    subscription = db.get(Subscription, shop.acme.subscription.id)
    assert subscription.plan.code == "free" and db.get(Organization, shop.acme.org.id).tier == "free"
    [change] = db.scalars(select(PlanChange).where(PlanChange.subscription_id == subscription.id)).all()
    assert (change.from_plan.code, change.to_plan.code, change.actor_label) == ("pro", "free", "ann@acme.test")
    assert change.credit < 0 and change.charge == 0  # unused Pro time credited; Free costs nothing
    assert recommendations(db, shop.acme)[0].status == "applied"
    assert audit_count(db, "subscription.plan_changed") == 1


def test_apply_resize_moves_the_instance_to_the_smaller_type_at_its_list_price(db, shop):
    run(db, shop.acme, [rightsize(shop.acme.a100, "A100-40GB")])
    [rec] = recommendations(db, shop.acme)
    service.apply(db, shop.acme.org.id, rec.public_id, actor_label="test")
    db.commit()
    db.expire_all()
    instance = db.get(Instance, shop.acme.a100.id)
    assert (instance.gpu_type, instance.hourly_rate, instance.status) == ("A100-40GB", 1_49, "running")
    assert audit_count(db, "instance.resized", instance.public_id) == 1


def test_advice_only_recommendations_have_nothing_to_apply(db, shop):
    run(db, shop.acme, [commitment(shop.acme.a100)])
    [rec] = recommendations(db, shop.acme)
    with pytest.raises(DomainError) as refused:
        service.apply(db, shop.acme.org.id, rec.public_id, actor_label="test")
    assert refused.value.field == "action"
    db.rollback()
    assert recommendations(db, shop.acme)[0].status == "open"


def test_another_organizations_recommendation_is_not_found(db, shop):
    run(db, shop.globex, [idle(shop.globex.a100)])
    [theirs] = recommendations(db, shop.globex)
    for attempt in (lambda: queries.get_recommendation(db, shop.acme.org.id, theirs.public_id),
                    lambda: service.dismiss(db, shop.acme.org.id, theirs.public_id, "no", actor_label="test"),
                    lambda: service.snooze(db, shop.acme.org.id, theirs.public_id, TODAY + DAY, actor_label="test"),
                    lambda: service.apply(db, shop.acme.org.id, theirs.public_id, actor_label="test")):
        with pytest.raises(NotFound):
            attempt()
    db.rollback()
    assert recommendations(db, shop.globex)[0].status == "open"
    assert db.get(Instance, shop.globex.a100.id).status == "running"


@pytest.mark.parametrize("savings, expected", [
    (9_999, "low"), (10_000, "medium"),  # 5% of $2,000 is $100.00
    (29_999, "medium"), (30_000, "high"),  # 15%
    (59_999, "high"), (60_000, "critical"),  # 30%
])
def test_severity_is_the_savings_share_of_the_spend_at_exact_bounds(db, shop, savings, expected):
    run(db, shop.acme, [idle(shop.acme.a100, savings_usd=savings)])
    assert recommendations(db, shop.acme)[0].severity == expected


def test_severity_without_spend_is_critical():
    assert service.severity(1, 0) == "critical"


def test_the_list_is_sorted_by_savings_with_its_total(db, shop):
    run(db, shop.acme, [tier_fit(savings_usd=4_900), idle(shop.acme.a100), idle(shop.acme.l4, savings_usd=4_900),
                        commitment(shop.acme.a100, savings_usd=53_784)])
    run(db, shop.globex, [idle(shop.globex.a100, savings_usd=999_999)])
    rows = recommendations(db, shop.acme)
    listed = queries.advice_list(db, shop.acme.org.id, NOW)
    assert [(r.kind, r.monthly_savings) for r in listed.rows] == [
        ("idle_instance", 107_568), ("commitment", 53_784), ("tier_fit", 4_900), ("idle_instance", 4_900)]
    assert listed.rows[2].id < listed.rows[3].id == rows[2].id  # equal savings: oldest first
    assert (listed.total_monthly_savings, listed.currency) == (107_568 + 53_784 + 4_900 + 4_900, "USD")
    with pytest.raises(DomainError) as refused:
        queries.advice_list(db, shop.acme.org.id, NOW, statuses=("gone",))
    assert refused.value.field == "status"


def test_recompute_all_covers_every_customer_and_survives_one_failing(db, shop, monkeypatch):
    findings = {shop.acme.org.id: [idle(shop.acme.a100)], shop.globex.org.id: [idle(shop.globex.a100)]}
    real = service.recompute
    seen = []

    def recompute(session, org, now):
        seen.append(org.slug)
        if org.slug == "acme":
            real(session, org, now, findings[org.id], spend_usd=SPEND)  # written, then lost with the failure
            raise RuntimeError("the usage store went away")
        return real(session, org, now, findings[org.id], spend_usd=SPEND)

    monkeypatch.setattr(service, "recompute", recompute)
    result = service.recompute_all(db, NOW)
    assert seen == ["acme", "globex"]  # customers only: the partner is never advised
    assert (result.organizations, result.opened, result.failed) == (1, 1, ["acme"])
    assert recommendations(db, shop.acme) == [] and len(recommendations(db, shop.globex)) == 1


def test_the_daily_job_runs_the_rules_for_every_customer(app, db, shop):
    from app.advice.jobs import recompute_advice
    from app.schedule import PERIODIC_JOBS

    [periodic] = [job for job in PERIODIC_JOBS if job.name == "cost-advice"]
    assert (periodic.func, periodic.queue, periodic.cron, periodic.interval) == (
        recompute_advice, "low", "15 3 * * *", None)
    with app.app_context():
        summary = recompute_advice()
    assert summary["organizations"] == 2 and summary["failed"] == []
    with app.app_context():
        again = recompute_advice()
    assert again["opened"] == 0 and again["organizations"] == 2  # idempotent: nothing new the second time
    assert db.scalar(select(Recommendation.id).where(Recommendation.status == "closed")) is None


def test_the_admin_overview_adds_up_open_savings_across_customers(db, shop):
    set_rate(db, "EUR", Decimal("0.9234"), actor_label="test")
    shop.globex.org.preferred_currency = "EUR"
    db.commit()
    run(db, shop.acme, [idle(shop.acme.a100), idle(shop.acme.l4, savings_usd=4_900), tier_fit(savings_usd=4_900)])
    run(db, shop.globex, [idle(shop.globex.a100, savings_usd=12_500), commitment(shop.globex.l4)])
    [dismissed] = [r for r in recommendations(db, shop.globex) if r.kind == "commitment"]
    service.dismiss(db, shop.globex.org.id, dismissed.public_id, "we rent month to month", actor_label="test")
    db.commit()

    overview = queries.admin_overview(db, NOW)
    assert overview.total_usd == 107_568 + 4_900 + 4_900 + 12_500  # open ones only: the dismissal is left out
    assert overview.totals == {"USD": 117_368, "EUR": 11_543}
    assert [(o.slug, o.open_count, o.savings_usd, o.savings) for o in overview.organizations] == [
        ("acme", 3, 117_368, {"USD": 117_368}), ("globex", 1, 12_500, {"EUR": 11_543})]
    assert [(k.kind, k.count, k.organizations, k.savings_usd) for k in overview.kinds] == [
        ("idle_instance", 3, 2, 107_568 + 4_900 + 12_500), ("tier_fit", 1, 1, 4_900)]


def test_a_run_out_snooze_can_be_applied_before_the_next_recompute(db, shop):
    run(db, shop.acme, [idle(shop.acme.a100)])
    [rec] = recommendations(db, shop.acme)
    service.snooze(db, shop.acme.org.id, rec.public_id, TODAY + DAY, actor_label="test")
    db.commit()
    with pytest.raises(DomainError) as refused:  # still snoozed today
        service.apply(db, shop.acme.org.id, rec.public_id, actor_label="test")
    assert refused.value.field == "status"
    db.rollback()
    clock.freeze(NOW + DAY)  # the date has come; the daily run has not
    applied = service.apply(db, shop.acme.org.id, rec.public_id, actor_label="test")
    db.commit()
    assert (applied.status, applied.snoozed_until) == ("applied", None)
    assert db.get(Instance, shop.acme.a100.id).status == "stopped"


def test_history_in_two_currencies_is_totalled_in_usd(db, shop):
    run(db, shop.acme, [idle(shop.acme.a100, savings_usd=12_500)])
    set_rate(db, "EUR", Decimal("0.9234"), actor_label="test")
    shop.acme.org.preferred_currency = "EUR"
    db.commit()
    run(db, shop.acme, [idle(shop.acme.l4, savings_usd=4_900)], at=NOW + DAY)  # the A100 closes, in USD
    run(db, shop.acme, [], at=NOW + 2 * DAY)  # the L4 closes, in EUR
    closed = queries.advice_list(db, shop.acme.org.id, NOW + 2 * DAY, statuses=("closed",))
    assert sorted(r.currency for r in closed.rows) == ["EUR", "USD"]
    assert (closed.total_monthly_savings, closed.currency) == (12_500 + 4_900, "USD")
    assert queries.advice_list(db, shop.acme.org.id, NOW).currency == "EUR"  # nothing open: the customer's own
