"""Refunds above the approval threshold: the customer sees them waiting, an
admin approves (sent to Stripe at once) or rejects with a note (canceled, the
reserved amount released); both audited, both visible to the customer.
Against localstripe, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.payments import refunds
from app.payments.models import Refund
from tests.support import user
from tests.web.payments.support import PAYMENTS, audits, fresh, place, text

QUEUE = "/admin/refunds"


@pytest.fixture
def alice(demo, client):
    client.login("alice@acme.test")
    return client


@pytest.fixture
def admin(demo, make_client):
    staff = make_client()
    staff.login_admin()
    return staff


@pytest.fixture
def awaiting(alice, demo, app):
    """alice asked for a full refund of a 600.00 USD payment (threshold: 500.00 USD)."""
    payment = place(app, demo, amount=600_00, order_id="big-1")
    response = alice.post_form(f"{PAYMENTS}/{payment.public_id}/refunds",
                               {"type": "full", "reason": "billing_error", "note": "Charged twice for May"},
                               token_from=f"{PAYMENTS}/{payment.public_id}", headers={"HX-Request": "true"})
    assert response.status_code == 201
    assert "is waiting for approval" in text(response) and ">waiting for approval<" in text(response)
    demo.expire_all()
    return demo.scalars(select(Refund).where(Refund.payment_id == payment.id)).one()


def decide(admin, refund, action: str, note: str):
    return admin.htmx("POST", f"{QUEUE}/{refund.public_id}/{action}", token_from=QUEUE, data={"note": note})


def test_above_the_threshold_the_refund_waits_with_its_amount_reserved(awaiting, alice, demo, app):
    assert (awaiting.status, awaiting.approval, awaiting.amount, awaiting.stripe_refund_id) == \
        ("pending", "awaiting", 600_00, None)
    payment = fresh(demo, awaiting.payment)
    assert (payment.amount_refund_pending, payment.amount_refunded, payment.refundable) == (600_00, 0, 0)
    listing = text(alice.get("/client/refunds"))
    assert awaiting.public_id in listing and ">waiting for approval<" in listing and ">pending<" in listing
    assert "Billing error" in listing and "Charged twice for May" in listing


def test_the_queue_lists_waiting_refunds_oldest_first_across_organizations(awaiting, admin, demo, app):
    theirs = place(app, demo, "globex", amount=900_00, currency="EUR", order_id="g-7")
    later = refunds.request(demo, app.config, theirs, refund_type="partial", amount=800_00, reason="other",
                            note="", actor_label="gina@globex.test")
    demo.commit()

    page = text(admin.get(QUEUE))
    assert page.index(awaiting.public_id) < page.index(later.public_id)
    assert "Acme Corporation" in page and "Globex Industries" in page
    assert "$600.00" in page and "€800.00" in page and "Charged twice for May" in page
    assert "Nothing decided yet." in page


def test_an_admin_approves_and_the_refund_is_sent(awaiting, admin, alice, demo):
    response = decide(admin, awaiting, "approve", "Duplicate confirmed")

    assert response.status_code == 200
    body = text(response)
    assert "<html" not in body and f"Refund {awaiting.public_id} of $600.00 approved: succeeded." in body
    assert 'data-testid="queue-empty"' in body and f'id="decided-{awaiting.public_id}"' in body
    demo.expire_all()
    refund = demo.get(Refund, awaiting.id)
    assert (refund.status, refund.approval, refund.review_note, refund.reviewed_by) == \
        ("succeeded", "approved", "Duplicate confirmed", "admin@matrix.test")
    assert refund.stripe_refund_id.startswith("re_")
    payment = fresh(demo, refund.payment)
    assert (payment.amount_refunded, payment.amount_refund_pending) == (600_00, 0)
    [audit] = audits(demo, "refund.approved")
    assert (audit.target, audit.actor_label, audit.actor_user_id, audit.org_id) == \
        (refund.public_id, "admin@matrix.test", user(demo, "admin@matrix.test").id, refund.org_id)
    listing = text(alice.get("/client/refunds"))
    assert ">approved<" in listing and ">succeeded<" in listing and "Duplicate confirmed" in listing


def test_rejecting_needs_a_note(awaiting, admin, demo):
    response = decide(admin, awaiting, "reject", "  ")

    assert response.status_code == 400
    assert "Say why the refund is rejected; the customer sees this note." in text(response)
    assert f'id="error-{awaiting.public_id}"' in text(response)
    demo.expire_all()
    assert (demo.get(Refund, awaiting.id).approval, demo.get(Refund, awaiting.id).status) == ("awaiting", "pending")
    assert audits(demo, "refund.rejected") == []


def test_a_rejection_cancels_the_refund_and_releases_the_amount(awaiting, admin, alice, demo):
    response = decide(admin, awaiting, "reject", "Not a duplicate: two separate orders")

    assert response.status_code == 200
    assert "rejected; the amount is released" in text(response)
    demo.expire_all()
    refund = demo.get(Refund, awaiting.id)
    assert (refund.status, refund.approval, refund.stripe_refund_id) == ("canceled", "rejected", None)
    payment = fresh(demo, refund.payment)
    assert (payment.amount_refund_pending, payment.amount_refunded, payment.refundable) == (0, 0, 600_00)
    [audit] = audits(demo, "refund.rejected")
    assert (audit.target, audit.actor_label) == (refund.public_id, "admin@matrix.test")
    assert audit.details["note"] == "Not a duplicate: two separate orders"
    listing = text(alice.get("/client/refunds"))
    assert ">rejected<" in listing and ">canceled<" in listing and "Not a duplicate: two separate orders" in listing
    assert 'data-testid="refund-form"' in text(alice.get(f"{PAYMENTS}/{payment.public_id}"))  # can ask again


def test_a_decided_refund_cannot_be_decided_again(awaiting, admin, demo):
    decide(admin, awaiting, "reject", "No")
    response = admin.post_form(f"{QUEUE}/{awaiting.public_id}/approve", {"note": ""}, token_from=QUEUE)
    assert response.status_code == 400 and "This refund is not waiting for approval." in text(response)
    demo.expire_all()
    assert demo.get(Refund, awaiting.id).status == "canceled"


def test_without_javascript_a_decision_redirects_back_to_the_queue(awaiting, admin, demo):
    response = admin.post_form(f"{QUEUE}/{awaiting.public_id}/approve", {"note": ""}, token_from=QUEUE)
    assert response.status_code == 302 and response.headers["Location"].endswith(QUEUE)
    assert "approved: succeeded" in text(admin.get(QUEUE))


def test_customers_cannot_reach_the_queue(awaiting, alice):
    assert alice.get(QUEUE).status_code == 403
    assert alice.post_form(f"{QUEUE}/{awaiting.public_id}/approve", {"note": ""},
                           token_from=PAYMENTS).status_code == 403
