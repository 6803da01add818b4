"""The billing cycle on a real RQ worker and Redis: close, finalize, collect; twice is the same as once."""
from __future__ import annotations

from sqlalchemy import select

from app import clock
from app.billing.jobs import run_billing_cycle
from app.billing.models import Invoice
from app.jobs import enqueue, run_worker
from app.schedule import PERIODIC_JOBS
from tests.billing.support import AFTER_NOVEMBER, customer
from tests.payments.core_support import events


def _cycle(app):
    with app.app_context():
        enqueue(run_billing_cycle)
    run_worker(app, burst=True)  # runs the cycle, then the collection jobs it queued


def _invoices(db) -> dict[str, tuple[str, str]]:
    db.expire_all()
    return {i.organization.slug: (i.number, i.status) for i in db.scalars(select(Invoice).order_by(Invoice.id))}


def test_the_cycle_invoices_ended_periods_and_collects_them(app, billing):
    db = billing
    customer(db, "paying")
    customer(db, "declining", payment_method="pm_card_visa_chargeDeclined")
    clock.freeze(AFTER_NOVEMBER)

    _cycle(app)

    assert _invoices(db) == {"paying": ("MTX-2026-000001", "paid"), "declining": ("MTX-2026-000002", "failed")}
    assert len(events(db, "invoice.created")) == 2
    assert len(events(db, "invoice.paid")) == 1 and len(events(db, "invoice.failed")) == 1

    _cycle(app)  # the scheduler runs it again: nothing is invoiced or charged twice

    assert len(_invoices(db)) == 2
    assert len(events(db, "invoice.paid")) == 1 and len(events(db, "invoice.failed")) == 1


def test_a_draft_left_by_a_crash_is_finalized_by_the_next_cycle(app, billing):
    from app.billing import invoices

    db = billing
    subscription = customer(db, "paying")
    clock.freeze(AFTER_NOVEMBER)
    invoices.close_period(db, subscription.id)
    db.commit()  # the worker died here, before finalizing

    _cycle(app)

    assert _invoices(db) == {"paying": ("MTX-2026-000001", "paid")}


def test_the_cycle_is_scheduled_every_five_minutes():
    [job] = [job for job in PERIODIC_JOBS if job.name == "billing-cycle"]
    assert job.func is run_billing_cycle and job.interval == 300
