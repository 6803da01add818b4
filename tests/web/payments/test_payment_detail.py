"""One payment's page in the client portal: amounts and fees, capture (partial
too), cancel, and refunds of each type from the refund form, with the
refusals that keep refunds within what was captured, and tenant isolation.
Against localstripe, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from app import clock
from app.payments.models import Refund
from app.billing.models import Subscription
from app.web.payments import refund_views
from tests.support import org
from tests.web.payments.support import PAYMENTS, audits, field_errors, fresh, place, text

PERIOD_START = datetime(2026, 11, 1, tzinfo=timezone.utc)
PERIOD_END = datetime(2026, 12, 1, tzinfo=timezone.utc)  # 30 days


@pytest.fixture
def alice(demo, client):
    client.login("alice@acme.test")
    return client


def page_of(payment) -> str:
    return f"{PAYMENTS}/{payment.public_id}"


def request_refund(client, payment, htmx=False, **fields):
    data = {"type": "partial", "reason": "customer_request", "note": "", **fields}
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post_form(f"{page_of(payment)}/refunds", data, token_from=page_of(payment), headers=headers)


def refunds_of(db, payment) -> list[Refund]:
    db.expire_all()
    return list(db.scalars(select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.id)))


def test_the_page_shows_amounts_fees_and_stripe_ids(alice, demo, app):
    payment = place(app, demo, amount=100_00)

    page = text(alice.get(page_of(payment)))
    assert "$100.00 for order ord-1" in page
    assert 'data-testid="amount-captured">$100.00<' in page and 'data-testid="amount-refundable">$100.00<' in page
    # acme is on Pro → Professional 1.5%; gateway 2.9% + 30
    assert "Platform fee (1.50%)" in page and 'data-testid="platform-fee">$1.50<' in page
    assert 'data-testid="gateway-fee">$3.20<' in page and 'data-testid="net-amount"><strong>$95.30<' in page
    assert payment.stripe_payment_intent_id in page and payment.stripe_charge_id in page
    assert 'data-testid="refund-form"' in page and "No refunds on this payment yet." in page
    assert "Refunds above $500.00 are reviewed by our staff" in page
    assert 'id="capture-title"' not in page  # nothing left to capture


def test_the_dispute_link_goes_to_the_dispute_form(alice, demo, app):
    payment = place(app, demo)
    page = text(alice.get(page_of(payment)))
    assert f'href="{page_of(payment)}/dispute">Dispute this payment</a>' in page


def test_capture_part_of_an_authorization(alice, demo, app):
    payment = place(app, demo, amount=100_00, capture=False)
    page = text(alice.get(page_of(payment)))
    assert ">authorized<" in page and "Fees are worked out on the captured amount" in page

    too_much = alice.post_form(f"{page_of(payment)}/capture", {"amount": "100.01"}, token_from=page_of(payment))
    assert too_much.status_code == 400
    assert field_errors(text(too_much), "amount") == ["You can capture at most $100.00 (the authorized amount)."]
    assert field_errors(text(alice.post_form(f"{page_of(payment)}/capture", {"amount": "1.001"},
                                             token_from=page_of(payment))), "amount") == \
        ["USD amounts have at most 2 decimals."]

    response = alice.post_form(f"{page_of(payment)}/capture", {"amount": "60.00"}, token_from=page_of(payment))
    assert response.status_code == 302
    stored = fresh(demo, payment)
    assert (stored.status, stored.amount, stored.amount_captured) == ("succeeded", 100_00, 60_00)
    # fees on what was captured: 1.5% of 60.00 = 0.90; 2.9% + 0.30 = 2.04
    assert (stored.platform_fee, stored.gateway_fee, stored.net_amount) == (90, 204, 57_06)
    page = text(alice.get(page_of(payment)))
    assert "Captured $60.00." in page and 'data-testid="amount-captured">$60.00<' in page
    assert 'data-testid="amount-refundable">$60.00<' in page
    assert [a.target for a in audits(demo, "payment.captured")] == [payment.public_id]


def test_capture_everything_when_no_amount_is_given(alice, demo, app):
    payment = place(app, demo, amount=25_00, capture=False)
    alice.post_form(f"{page_of(payment)}/capture", {"amount": ""}, token_from=page_of(payment))
    assert fresh(demo, payment).amount_captured == 25_00


def test_cancel_an_authorization_asks_first(alice, demo, app):
    payment = place(app, demo, capture=False)
    confirm = text(alice.get(f"{page_of(payment)}/cancel"))
    assert "Cancel the authorization of $100.00?" in confirm
    assert 'hx-confirm="Cancel this authorization?' in text(alice.get(page_of(payment)))

    response = alice.htmx("POST", f"{page_of(payment)}/cancel", token_from=page_of(payment))
    assert response.status_code == 204 and response.headers["HX-Redirect"] == page_of(payment)
    assert fresh(demo, payment).status == "canceled"
    page = text(alice.get(page_of(payment)))
    assert "nothing will be charged" in page and ">canceled<" in page and "Only a captured payment" in page

    again = alice.post_form(f"{page_of(payment)}/cancel", {}, token_from=page_of(payment), follow_redirects=True)
    assert "Only an authorized payment can be cancelled; this one is canceled." in text(again)


def test_partial_refund_with_htmx_updates_the_history_and_the_amounts(alice, demo, app):
    payment = place(app, demo, amount=100_00)

    response = request_refund(alice, payment, htmx=True, amount="30.00", reason="service_issue", note="GPU down 2h")

    assert response.status_code == 201
    body = text(response)
    [refund] = refunds_of(demo, payment)
    assert (refund.type, refund.amount, refund.reason, refund.status, refund.note) == \
        ("partial", 30_00, "service_issue", "succeeded", "GPU down 2h")
    assert "<html" not in body and f"Refund {refund.public_id} of $30.00 succeeded." in body
    assert f'id="refund-{refund.public_id}"' in body and "Service issue" in body and ">succeeded<" in body
    assert 'id="payment-amounts"' in body and 'hx-swap-oob="true"' in body
    assert 'data-testid="amount-refunded">$30.00<' in body and 'data-testid="amount-refundable">$70.00<' in body
    assert ">partially refunded<" in text(alice.get(PAYMENTS))


def test_full_refund_without_javascript(alice, demo, app):
    payment = place(app, demo, amount=40_00)

    response = request_refund(alice, payment, type="full", reason="duplicate_charge")

    assert response.status_code == 302
    [refund] = refunds_of(demo, payment)
    assert (refund.type, refund.amount, refund.status) == ("full", 40_00, "succeeded")
    stored = fresh(demo, payment)
    assert (stored.amount_refunded, stored.refundable) == (40_00, 0)
    page = text(alice.get(page_of(payment)))
    assert "of $40.00 succeeded" in page and "Everything captured has been refunded" in page
    assert ">refunded<" in page and 'data-testid="refund-form"' not in page


def test_prorated_refund_returns_the_unused_share_of_the_period(alice, demo, app):
    subscription = demo.scalars(select(Subscription).where(Subscription.org_id == org(demo, "acme").id)).one()
    subscription.current_period_start, subscription.current_period_end = PERIOD_START, PERIOD_END
    demo.commit()
    payment = place(app, demo, amount=100_00)
    clock.freeze(datetime(2026, 11, 11, tzinfo=timezone.utc))  # 10 of 30 days used

    response = request_refund(alice, payment, htmx=True, type="prorated", reason="customer_request")

    [refund] = refunds_of(demo, payment)
    assert (refund.type, refund.amount, refund.status) == ("prorated", 66_67, "succeeded")  # 6666.67 rounded half up
    assert "of $66.67 succeeded" in text(response)
    assert field_errors(text(request_refund(alice, payment, type="prorated", amount="5")), "amount") == \
        ["A prorated refund computes its own amount; leave the amount out."]


def test_a_refund_over_what_is_left_is_refused_with_the_amount_left(alice, demo, app):
    payment = place(app, demo, amount=100_00)
    request_refund(alice, payment, amount="60.00")

    response = request_refund(alice, payment, amount="40.01")

    assert response.status_code == 400
    assert field_errors(text(response), "amount") == \
        ["The amount is more than the $40.00 left to refund on this payment."]
    assert [r.amount for r in refunds_of(demo, payment)] == [60_00]
    stored = fresh(demo, payment)
    assert (stored.amount_refunded, stored.amount_refund_pending) == (60_00, 0)


BAD_REFUNDS = [  # (form fields, the field the error is beside, how the message starts)
    ({"amount": ""}, "amount", "A partial refund needs an amount."),
    ({"amount": "0.001"}, "amount", "USD amounts have at most 2 decimals."),
    ({"amount": "-1"}, "amount", "The amount must be greater than zero."),
    ({"type": "full", "amount": "10"}, "amount", "A full refund returns everything left"),
    ({"type": "store_credit"}, "type", "Not a valid choice"),
    ({"amount": "5", "reason": "changed_my_mind"}, "reason", "The reason is one of customer_request"),
]


def test_bad_refund_input_is_refused_beside_its_field(alice, demo, app):
    payment = place(app, demo)
    for fields, field, message in BAD_REFUNDS:
        response = request_refund(alice, payment, htmx=True, **fields)

        assert response.status_code == 400, fields
        errors = field_errors(text(response), field)
        assert len(errors) == 1 and errors[0].startswith(message), (fields, errors)
    assert refunds_of(demo, payment) == [] and fresh(demo, payment).amount_refund_pending == 0


def test_an_uncaptured_payment_cannot_be_refunded(alice, demo, app):
    payment = place(app, demo, capture=False)
    response = request_refund(alice, payment, amount="5")
    assert response.status_code == 400
    assert "Only a captured payment can be refunded; this one is requires_capture." in text(response)


def test_another_organizations_payment_is_not_found(demo, app, make_client):
    theirs = place(app, demo, "globex", currency="EUR")
    for email in ("alice@acme.test", "bob@acme.test"):
        client = make_client()
        client.login(email)
        assert client.get(page_of(theirs)).status_code == 404
        assert client.get(f"{page_of(theirs)}/cancel").status_code == 404
        for action in ("refunds", "capture", "cancel"):
            response = client.post_form(f"{page_of(theirs)}/{action}", {"amount": "1", "type": "partial",
                                                                        "reason": "other"}, token_from=PAYMENTS)
            assert response.status_code == 404, action
        assert theirs.public_id not in text(client.get(PAYMENTS))
        assert theirs.public_id not in text(client.get("/client/refunds"))
    assert refunds_of(demo, theirs) == [] and fresh(demo, theirs).amount_refunded == 0

    gina = make_client()
    gina.login("gina@globex.test")
    assert gina.get(page_of(theirs)).status_code == 200


def test_the_refunds_page_lists_every_refund_newest_first_in_pages(alice, demo, app, monkeypatch):
    empty = text(alice.get("/client/refunds"))
    assert 'data-testid="empty"' in empty and "No refunds yet" in empty

    payment = place(app, demo, amount=100_00, order_id="ord-77")
    request_refund(alice, payment, amount="10.00", reason="billing_error", note="Wrong VAT")
    request_refund(alice, payment, amount="20.00")
    older, newer = refunds_of(demo, payment)
    monkeypatch.setattr(refund_views, "PER_PAGE", 1)

    first = text(alice.get("/client/refunds"))
    assert newer.public_id in first and older.public_id not in first and "order ord-77" in first
    second = text(alice.get(f"/client/refunds?starting_after={newer.public_id}", headers={"HX-Request": "true"}))
    assert "<html" not in second and older.public_id in second and "Billing error" in second
    assert "Wrong VAT" in second and "← Newest" in second
    assert alice.get("/client/refunds?starting_after=re_unknown").status_code == 404
