"""When processing fails, the event says why and its partial writes are gone;
an admin re-runs it once the cause is fixed. Events a dead worker held, or
whose job Redis lost, are handed out again by the sweeper."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import select, text

from app import clock
from app.audit.models import AuditEvent
from app.payments import refunds, service
from app.payments.jobs import LOST_WORKER, retry_pending_refunds, sweep_stripe_events
from app.payments.models import Refund, StripeEvent
from app.schedule import PERIODIC_JOBS
from tests.payments import stripe_events
from tests.payments.inbound.support import deliver, fresh, make_payment, outbound_count, stored, work
from tests.support import org

REFUSAL = "outbox offline for maintenance"


@contextmanager
def outbox_refusing_inserts(app, db):
    """A real database failure: a trigger makes every insert into webhook_events fail until removed.

    The test's session ends its read transaction first: on PostgreSQL its
    share lock on webhook_events would make the DDL wait forever.
    """
    engine = app.extensions["db"].engine
    db.rollback()
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text(f"CREATE TRIGGER refuse_outbox BEFORE INSERT ON webhook_events "
                              f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"))
        else:
            conn.execute(text(f"CREATE FUNCTION refuse_outbox() RETURNS trigger AS $$ "
                              f"BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER refuse_outbox BEFORE INSERT ON webhook_events "
                              "FOR EACH ROW EXECUTE FUNCTION refuse_outbox()"))
    try:
        yield
    finally:
        db.rollback()
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.execute(text("DROP TRIGGER IF EXISTS refuse_outbox"))
            else:
                conn.execute(text("DROP TRIGGER IF EXISTS refuse_outbox ON webhook_events"))
                conn.execute(text("DROP FUNCTION IF EXISTS refuse_outbox()"))


def test_a_failed_event_keeps_its_error_and_is_processed_when_an_admin_reruns_it(app, hook, db, client):
    payment = make_payment(db)
    with outbox_refusing_inserts(app, db):
        _, document = deliver(hook, "payment_intent.succeeded",
                              stripe_events.payment_intent(payment.stripe_payment_intent_id, "succeeded", 5000))
        work(app)

        event = stored(db, document["id"])
        assert (event.status, event.attempts, event.outcome) == ("failed", 1, None)
        assert REFUSAL in event.last_error
        assert "INSERT" not in event.last_error  # the first line only: no SQL, no parameters
        # The handler had moved the payment before emit() failed: rolled back with it.
        payment = fresh(db, payment)
        assert (payment.status, payment.amount_captured) == ("processing", 0)
        assert outbound_count(db, "payment.succeeded") == 0

        client.login_admin()
        page = client.get(f"/admin/stripe-events/{document['id']}").get_data(as_text=True)
        assert REFUSAL in page and "Re-run processing" in page
    # The cause is fixed (the trigger is gone): re-run from the admin page, as htmx sends it.
    detail = f"/admin/stripe-events/{document['id']}"
    response = client.htmx("POST", f"{detail}/rerun", token_from=detail)

    assert response.status_code == 200
    assert 'data-testid="event-summary"' in response.get_data(as_text=True)
    assert ">pending<" in response.get_data(as_text=True)
    assert Queue("default", connection=app.extensions["redis"]).count == 1
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "stripe_event.rerun")).one()
    assert (audit.actor_label, audit.target) == ("admin@matrix.test", document["id"])
    assert audit.details == {"type": "payment_intent.succeeded", "previous_status": "failed"}

    work(app)
    event = stored(db, document["id"])
    assert (event.status, event.attempts, event.last_error) == ("processed", 2, None)
    assert event.outcome == f"payment {payment.public_id} → succeeded"
    assert fresh(db, payment).status == "succeeded"
    assert outbound_count(db, "payment.succeeded") == 1


def test_rerun_without_javascript_redirects_with_a_message(app, hook, db, client):
    _, document = deliver(hook, "payment_intent.succeeded", stripe_events.payment_intent("pi_x", "succeeded", 100))
    work(app)
    client.login_admin()
    detail = f"/admin/stripe-events/{document['id']}"
    response = client.post_form(f"{detail}/rerun", token_from=detail)
    assert response.status_code == 302 and response.headers["Location"].endswith(detail)
    page = client.get(detail).get_data(as_text=True)
    assert f"Processing of {document['id']} was queued again." in page


def test_rerunning_an_event_type_we_do_not_handle_ignores_it_again(app, hook, db, client):
    _, document = deliver(hook, "customer.created", {"id": "cus_1", "object": "customer"})
    client.login_admin()
    detail = f"/admin/stripe-events/{document['id']}"
    client.post_form(f"{detail}/rerun", token_from=detail)
    work(app)
    event = stored(db, document["id"])
    assert (event.status, event.outcome, event.attempts) == ("processed", "ignored: not handled", 1)


def add_event(db, *, status: str, received_ago: timedelta, claimed_ago: timedelta | None = None,
              payment=None) -> StripeEvent:
    now = clock.utcnow()
    intent = stripe_events.payment_intent(payment.stripe_payment_intent_id if payment else "pi_none", "succeeded", 5000)
    document = stripe_events.event("payment_intent.succeeded", intent)
    event = StripeEvent(stripe_event_id=document["id"], type=document["type"],
                        payload=stripe_events.encode(document).decode(), stripe_created_at=now - received_ago,
                        status=status, attempts=1 if claimed_ago else 0, received_at=now - received_ago,
                        processed_at=now - claimed_ago if claimed_ago else None)
    db.add(event)
    db.commit()
    return event


def test_the_sweeper_requeues_lost_jobs_and_events_a_dead_worker_held(app, db, demo):
    payment = make_payment(db)
    lost_job = add_event(db, status="pending", received_ago=timedelta(minutes=2), payment=payment)
    dead_worker = add_event(db, status="processing", received_ago=timedelta(minutes=8),
                            claimed_ago=timedelta(minutes=6))
    just_arrived = add_event(db, status="pending", received_ago=timedelta(seconds=10))
    being_worked = add_event(db, status="processing", received_ago=timedelta(minutes=1),
                             claimed_ago=timedelta(seconds=50))

    with app.app_context():
        assert sweep_stripe_events() == {"released": 1, "queued": 2}
    assert Queue("default", connection=app.extensions["redis"]).count == 2
    assert stored(db, dead_worker.stripe_event_id).last_error == LOST_WORKER  # what an admin sees meanwhile
    work(app)

    assert stored(db, lost_job.stripe_event_id).outcome == f"payment {payment.public_id} → succeeded"
    dead = stored(db, dead_worker.stripe_event_id)
    assert (dead.status, dead.attempts, dead.outcome, dead.last_error) == ("processed", 2, "no matching payment", None)
    assert stored(db, just_arrived.stripe_event_id).status == "pending"  # its own job is still on its way
    assert stored(db, being_worked.stripe_event_id).status == "processing"  # its worker is alive
    with app.app_context():
        assert sweep_stripe_events() == {"released": 0, "queued": 0}


def test_an_event_is_stored_and_acknowledged_while_redis_is_down_and_swept_later(
        database_url, redis_url, tmp_path, app, db, demo):
    from tests.conftest import free_port, make_test_app

    payment = make_payment(db)
    down = make_test_app(database_url, f"redis://127.0.0.1:{free_port()}/0", tmp_path, **{
        k: app.config[k] for k in ("STRIPE_API_BASE", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")})
    try:
        response = stripe_events.post_event(down.test_client(), stripe_events.event(
            "payment_intent.succeeded", stripe_events.payment_intent(payment.stripe_payment_intent_id, "succeeded",
                                                                     5000)))
    finally:
        down.extensions["db"].engine.dispose()
    assert response.status_code == 200 and response.get_json() == {"received": True}
    event = db.scalars(select(StripeEvent)).one()
    assert event.status == "pending"

    clock.advance(timedelta(seconds=61))
    with app.app_context():
        assert sweep_stripe_events() == {"released": 0, "queued": 1}
    work(app)
    assert fresh(db, payment).status == "succeeded"


def test_rerun_is_refused_while_a_worker_holds_the_event(app, db, demo, client):
    held = add_event(db, status="processing", received_ago=timedelta(seconds=5), claimed_ago=timedelta(seconds=2))
    client.login_admin()
    detail = f"/admin/stripe-events/{held.stripe_event_id}"
    assert "Re-run processing" not in client.get(detail).get_data(as_text=True)
    response = client.post_form(f"{detail}/rerun", token_from=detail)
    assert response.status_code == 400
    assert "processing this event right now" in response.get_data(as_text=True)
    assert stored(db, held.stripe_event_id).status == "processing"


def test_refunds_that_never_reached_stripe_are_sent_by_the_retry_job(app, db, demo):
    acme = org(db, "acme")
    payment = service.place(db, app.config, acme, order_id="ord-retry", amount=60000, currency="usd",
                            payment_method="pm_card_visa", capture=True, actor_label="test")
    lost = refunds.request(db, app.config, payment, refund_type="partial", reason="duplicate_charge", amount=2000,
                           actor_label="test")
    waiting = refunds.request(db, app.config, payment, refund_type="partial", reason="other", amount=55000,
                              actor_label="test")
    db.commit()  # reserved, never executed: the worker died before calling Stripe
    assert waiting.approval == "awaiting"
    clock.advance(timedelta(minutes=3))

    with app.app_context():
        assert retry_pending_refunds() == 1
        assert retry_pending_refunds() == 0  # sent: nothing left to retry

    lost, waiting = fresh(db, lost), fresh(db, waiting)
    assert lost.status == "succeeded" and lost.stripe_refund_id.startswith("re_")
    assert (waiting.status, waiting.stripe_refund_id) == ("pending", None)  # an admin decides first
    assert fresh(db, payment).amount_refunded == 2000


@pytest.mark.parametrize("name, queue", [("sweep-stripe-events", "high"), ("retry-pending-refunds", "default")])
def test_both_jobs_are_scheduled(name, queue):
    periodic = {job.name: job for job in PERIODIC_JOBS}[name]
    assert periodic.queue == queue and periodic.interval


def test_the_refund_retry_job_runs_on_a_worker(app, db, demo):
    from app.jobs import enqueue

    with app.app_context():
        enqueue(retry_pending_refunds, queue_name="default")
    work(app)
    assert db.scalars(select(Refund)).all() == []
