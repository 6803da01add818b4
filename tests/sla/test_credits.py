"""Service credits when a month closes: the ladder at each step (10% below the objective, 25% below 99.0%, 100%
below 95.0%, exact at the thresholds), once per month however often the job runs, on the next invoice once."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app import clock
from app.audit.models import AuditEvent
from app.billing.models import InvoiceItem
from app.jobs import enqueue, run_worker
from app.sla.credits import close_month, credit_percent
from app.sla.definitions import ensure_default_definitions, in_force
from app.sla.jobs import evaluate_sla
from app.sla.models import SlaMonthlyReport
from app.schedule import PERIODIC_JOBS
from tests.billing.support import (AFTER_NOVEMBER, DECEMBER, NOVEMBER, arrange_billing, close_and_finalize, customer,
                                   lines)
from tests.sla.conftest import write_minutes

NOVEMBER_MINUTES = 43_200
AFTER_GRACE = DECEMBER + timedelta(minutes=20)


def reports(db) -> list[SlaMonthlyReport]:
    db.expire_all()
    return list(db.scalars(select(SlaMonthlyReport).order_by(SlaMonthlyReport.id)))


def credit_items(db) -> list[InvoiceItem]:
    db.expire_all()
    return list(db.scalars(select(InvoiceItem).where(InvoiceItem.source_key.like("sla-credit:%"))))


@pytest.fixture
def billing(db):
    """Plans, tax rates, exchange rates (tests/billing/support.py), the clock at 1 November 2026."""
    arrange_billing(db)
    return db


@pytest.fixture
def pro(billing):
    """A Pro customer (49.00 USD a month) subscribed since 1 November, with the seeded SLA definitions."""
    ensure_default_definitions(billing)
    subscription = customer(billing, "acme", plan="pro")
    billing.commit()
    return subscription


@pytest.mark.parametrize("down, percent, amount", [
    (216, 0, 0),  # 99.5% exactly: the objective is met
    (217, 10, 490),  # below 99.5%
    (432, 10, 490),  # 99.0% exactly: not below 99.0%
    (433, 25, 1225),  # below 99.0%
    (2160, 25, 1225),  # 95.0% exactly
    (2161, 100, 4900),  # below 95.0%
])
def test_the_credit_ladder_at_each_step(db, pro, down, percent, amount):
    write_minutes(db, pro.org_id, NOVEMBER, NOVEMBER_MINUTES, down=set(range(down)))
    close_month(db, NOVEMBER, AFTER_GRACE)
    db.commit()
    [report] = reports(db)
    assert (report.down_minutes, report.credit_percent, report.credit_amount) == (down, percent, amount)
    assert report.plan_fee == 4900 and report.credit_currency == "USD"
    expected = [("credit", -amount, "USD")] if amount else []
    assert [(item.kind, item.amount, item.currency) for item in credit_items(db)] == expected


def test_an_enterprise_credit_is_a_share_of_its_fee(db, billing):
    ensure_default_definitions(db)
    subscription = customer(db, "globex", plan="enterprise")
    write_minutes(db, subscription.org_id, NOVEMBER, NOVEMBER_MINUTES, down=set(range(44)))  # 99.898%
    close_month(db, NOVEMBER, AFTER_GRACE)
    db.commit()
    [item] = credit_items(db)
    assert item.amount == -19_990  # 10% of 1,999.00 USD
    assert "99.898% below the 99.9% objective" in item.description


def test_the_lowest_rung_reached_wins_and_exact_thresholds_do_not_count(db, pro):
    steps = in_force(db, "pro", NOVEMBER).credit_steps
    assert [credit_percent(Decimal(u), steps) for u in ("100", "99.5", "99.4999", "99", "98.9", "95", "94.99", "0")] \
        == [0, 0, 10, 10, 25, 25, 100, 100]
    assert credit_percent(None, steps) == 0  # no data: nothing we can promise or pay


def test_closing_a_month_twice_reports_and_credits_it_once(db, pro):
    write_minutes(db, pro.org_id, NOVEMBER, NOVEMBER_MINUTES, down=set(range(300)))
    first = close_month(db, NOVEMBER, AFTER_GRACE)
    db.commit()
    second = close_month(db, NOVEMBER, AFTER_GRACE + timedelta(minutes=5))
    db.commit()
    assert len(first.credits) == 1 and second.reports == [] and second.credits == []
    assert len(reports(db)) == 1 and len(credit_items(db)) == 1
    audited = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "sla.credit_issued"))
    assert audited == 1


def test_a_month_without_data_is_reported_as_such_and_earns_nothing(db, pro):
    close_month(db, NOVEMBER, AFTER_GRACE)
    db.commit()
    [report] = reports(db)
    assert report.uptime_percent is None and report.minutes_observed == 0 and report.minutes_expected == 43_200
    assert report.credit_amount == 0 and credit_items(db) == []


def test_a_partial_month_is_judged_on_the_minutes_measured(db, pro):
    # Ten days measured, 217 of their 14,400 minutes down: 98.49% → 25%.
    write_minutes(db, pro.org_id, NOVEMBER, 14_400, down=set(range(217)))
    close_month(db, NOVEMBER, AFTER_GRACE)
    db.commit()
    [report] = reports(db)
    assert (report.minutes_observed, report.minutes_expected) == (14_400, 43_200)
    assert report.uptime_percent == Decimal("98.493") and report.credit_percent == 25


def test_customers_not_subscribed_during_the_month_get_no_report(db, billing):
    ensure_default_definitions(db)
    clock.freeze(DECEMBER + timedelta(minutes=1))
    customer(db, "latecomer")  # subscribed after November ended
    close_month(db, NOVEMBER, AFTER_GRACE)
    db.commit()
    assert reports(db) == []


def _evaluate_on_a_worker(app):
    with app.app_context():
        enqueue(evaluate_sla)
    run_worker(app, burst=True)


def test_the_credit_lands_on_the_next_invoice_once_even_if_the_job_runs_twice(app, db, pro):
    write_minutes(db, pro.org_id, NOVEMBER, NOVEMBER_MINUTES, down=set(range(217)))
    clock.freeze(AFTER_GRACE)
    _evaluate_on_a_worker(app)
    _evaluate_on_a_worker(app)  # the scheduler runs it again
    assert len(reports(db)) == 1 and len(credit_items(db)) == 1

    november = close_and_finalize(db, pro, at=AFTER_GRACE + timedelta(minutes=1))
    assert ("credit", -490, 0) in lines(november)  # US: no sales tax
    assert november.total == 4900 - 490
    [item] = credit_items(db)
    assert item.invoice_id == november.id

    december = close_and_finalize(db, pro, at=datetime_after_december())
    assert all(line.amount != -490 for line in december.lines)


def test_a_credit_made_after_the_period_was_invoiced_goes_on_the_following_invoice(app, db, pro):
    write_minutes(db, pro.org_id, NOVEMBER, NOVEMBER_MINUTES, down=set(range(500)))
    november = close_and_finalize(db, pro, at=AFTER_NOVEMBER)  # billing got there first
    clock.freeze(AFTER_GRACE)
    _evaluate_on_a_worker(app)
    assert all(line.kind != "credit" for line in november.lines)
    december = close_and_finalize(db, pro, at=datetime_after_december())
    assert ("credit", -1225, 0) in lines(december)


def datetime_after_december():
    return DECEMBER.replace(year=2027, month=1) + timedelta(minutes=1)


def test_the_evaluation_is_scheduled_every_five_minutes():
    [job] = [job for job in PERIODIC_JOBS if job.name == "sla-evaluate"]
    assert job.func is evaluate_sla and job.interval == 300
