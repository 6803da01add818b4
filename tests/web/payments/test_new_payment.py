"""The client portal's payments page: charge or authorize from the form, a
decline's message, bad input beside its field, a form that cannot charge twice,
the list (filters, pages, empty state) and who may use it. Against localstripe,
on SQLite and PostgreSQL."""
from __future__ import annotations

import re

import pytest

from app.money import SUPPORTED_CURRENCIES
from app.payments import idempotency
from app.payments.models import IdempotencyRecord
from app.web.payments import client_views
from tests.conftest import free_port
from tests.support import org
from tests.web.payments.support import (PAYMENTS, count, field_errors, form_token, payment_form, payments_of, place,
                                        stripe_intents_of, submit, text)


@pytest.fixture
def alice(demo, client):
    client.login("alice@acme.test")
    return client


def test_charge_now_redirects_to_the_captured_payment(alice, demo):
    response = submit(alice, payment_form(alice, amount="1,234.50", order_id="INV-77"))

    [payment] = payments_of(demo, "acme")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{PAYMENTS}/{payment.public_id}")
    assert (payment.status, payment.amount, payment.amount_captured, payment.currency, payment.order_id) == \
        ("succeeded", 123450, 123450, "USD", "INV-77")
    assert payment.stripe_payment_intent_id.startswith("pi_")
    assert payment.created_by == "alice@acme.test"
    detail = text(alice.get(response.headers["Location"]))
    assert "Payment " + payment.public_id + " charged." in detail
    assert "$1,234.50" in detail and ">succeeded<" in detail and payment.stripe_payment_intent_id in detail


def test_authorize_only_with_htmx_answers_in_place_and_refreshes_the_list(alice, demo):
    response = submit(alice, payment_form(alice, capture="authorize", amount="80", currency="EUR"), htmx=True)

    [payment] = payments_of(demo, "acme")
    assert (payment.status, payment.amount, payment.amount_captured, payment.capture_method) == \
        ("requires_capture", 8000, 0, "manual")
    body = text(response)
    assert response.status_code == 200 and "<html" not in body
    assert response.headers["HX-Trigger-After-Settle"] == "payments:changed"
    assert payment.public_id in body and "€80.00" in body and ">authorized<" in body
    assert 'value="INV-1001"' not in body  # a blank form for the next payment
    listing = text(alice.get(PAYMENTS))
    assert f'id="row-{payment.public_id}"' in listing and ">authorized<" in listing


def test_a_decline_shows_stripes_message_and_the_failed_payment_is_listed(alice, demo):
    data = payment_form(alice, payment_method="pm_card_visa_chargeDeclined", order_id="INV-9")
    response = submit(alice, data)

    assert response.status_code == 400
    page = text(response)
    assert field_errors(page, "payment_method") == ["Your card was declined."]
    [payment] = payments_of(demo, "acme")
    assert (payment.status, payment.amount_captured, payment.failure_message) == \
        ("failed", 0, "Your card was declined.")
    assert f'id="row-{payment.public_id}"' in page and ">failed<" in page
    assert 'value="INV-9"' in page  # the rest of the form is kept to try another card
    assert form_token(page) != data["token"]  # trying again is a new payment

    retry = submit(alice, {**data, "token": form_token(page), "payment_method": "pm_card_visa"})
    assert retry.status_code == 302
    assert [p.status for p in payments_of(demo, "acme")] == ["failed", "succeeded"]


def test_a_decline_with_htmx_keeps_the_form_and_refreshes_the_list(alice, demo):
    response = submit(alice, payment_form(alice, payment_method="pm_card_visa_chargeDeclined"), htmx=True)

    assert response.status_code == 400
    assert field_errors(text(response), "payment_method") == ["Your card was declined."]
    assert response.headers["HX-Trigger-After-Settle"] == "payments:changed"
    assert [p.status for p in payments_of(demo, "acme")] == ["failed"]


BAD_INPUT = [  # (form fields, the field the error is beside, how the message starts)
    ({"amount": "12.345"}, "amount", "USD amounts have at most 2 decimals."),
    ({"amount": "1.5", "currency": "JPY"}, "amount", "JPY amounts have no decimals."),
    ({"amount": "0"}, "amount", "The amount must be greater than zero."),
    ({"amount": "-5"}, "amount", "The amount must be greater than zero."),
    ({"amount": "twelve"}, "amount", "Enter an amount such as 12.50."),
    ({"amount": ""}, "amount", "Enter the amount, e.g. 12.50."),
    ({"currency": "XYZ"}, "currency", "Unsupported currency 'XYZ'"),
    ({"order_id": "no spaces please"}, "order_id", "The order id is 1–100 letters"),
    ({"payment_method": "4242424242424242"}, "payment_method", "The payment method is a Stripe PaymentMethod id"),
]


def test_bad_input_is_refused_beside_its_field_and_nothing_is_charged(alice, demo, app):
    for fields, field, message in BAD_INPUT:
        response = submit(alice, payment_form(alice, **fields))

        assert response.status_code == 400, fields
        errors = field_errors(text(response), field)
        assert len(errors) == 1 and errors[0].startswith(message), (fields, errors)
    assert payments_of(demo, "acme") == []
    assert stripe_intents_of(app, demo, "acme") == []


def test_the_same_form_submitted_twice_charges_once(alice, demo, app):
    data = payment_form(alice, amount="49.00")

    first = submit(alice, data)
    second = submit(alice, data)  # a double click without JavaScript, or the browser resending the POST
    third = submit(alice, data, htmx=True)

    [payment] = payments_of(demo, "acme")
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert "already submitted" in text(alice.get(second.headers["Location"]))
    assert "This form was already submitted" in text(third) and payment.public_id in text(third)
    assert [i.id for i in stripe_intents_of(app, demo, "acme")] == [payment.stripe_payment_intent_id]

    submit(alice, payment_form(alice, amount="49.00"))  # a new form is a new payment
    assert len(payments_of(demo, "acme")) == 2 and len(stripe_intents_of(app, demo, "acme")) == 2


def test_a_replayed_decline_is_not_tried_again(alice, demo, app):
    data = payment_form(alice, payment_method="pm_card_visa_chargeDeclined")
    submit(alice, data)
    again = submit(alice, data)

    assert again.status_code == 400
    assert field_errors(text(again), "payment_method") == ["Your card was declined."]
    assert len(payments_of(demo, "acme")) == 1


def test_an_unreachable_gateway_leaves_a_processing_payment_that_the_form_does_not_repeat(alice, demo, app):
    data = payment_form(alice)
    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    first = submit(alice, data, htmx=True)
    again = submit(alice, data, htmx=True)

    [payment] = payments_of(demo, "acme")
    assert (payment.status, payment.failure_message) == ("processing", "The payment gateway could not be reached.")
    assert f"Payment {payment.public_id} is processing: The payment gateway could not be reached." in text(first)
    assert "This form was already submitted: payment " + payment.public_id in text(again)
    assert ">processing<" in text(alice.get(PAYMENTS))


def test_while_the_first_submit_runs_a_second_one_waits_for_it(alice, demo, app):
    data = payment_form(alice)
    fingerprint = idempotency.fingerprint("portal-payment", "INV-1001", "1250", "USD", "pm_card_visa", "charge")
    idempotency.claim(demo, org(demo, "acme").id, "portal:" + data["token"], fingerprint)  # the first, still running

    response = submit(alice, data)

    assert response.status_code == 400
    assert "This payment is still being processed. Reload the page in a moment to see it." in text(response)
    assert form_token(text(response)) == data["token"]  # the same form, so it shows the first result when done
    assert payments_of(demo, "acme") == [] and stripe_intents_of(app, demo, "acme") == []


def test_a_used_form_with_other_values_is_refused(alice, demo):
    data = payment_form(alice, amount="10.00")
    submit(alice, data)
    response = submit(alice, {**data, "amount": "20.00"})  # Back, edit, submit the same form again

    assert response.status_code == 400
    assert "This form was already submitted with other values" in text(response)
    assert [p.amount for p in payments_of(demo, "acme")] == [1000]


def test_the_form_carries_its_double_submit_guards(alice):
    page = text(alice.get(PAYMENTS))
    assert "hx-disabled-elt=\"find button[type='submit']\"" in page
    assert form_token(page) != form_token(text(alice.get(PAYMENTS)))  # one per rendered form
    assert 'list="test-payment-methods"' in page and '<option value="pm_card_visa_chargeDeclined">' in page
    assert "Stripe.js or Checkout" in page


def test_a_form_without_its_token_is_refused(alice, demo, app):
    response = submit(alice, payment_form(alice, token=""))

    assert response.status_code == 400
    assert "missing its one-time token" in text(response)
    assert payments_of(demo, "acme") == [] and count(demo, IdempotencyRecord) == 0


def test_currency_defaults_to_the_organizations_preferred_one(demo, client):
    client.login("gina@globex.test")
    page = text(client.get(PAYMENTS))
    select = re.search(r'<select id="currency" name="currency">(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'<option(?: selected)? value="([A-Z]+)"', select) == list(SUPPORTED_CURRENCIES)
    assert re.findall(r'<option selected value="([A-Z]+)"', select) == ["EUR"]


def test_a_member_may_pay_but_partners_and_admins_may_not(demo, make_client):
    bob = make_client()
    bob.login("bob@acme.test")
    assert submit(bob, payment_form(bob)).status_code == 302
    assert payments_of(demo, "acme")[0].created_by == "bob@acme.test"

    pat = make_client()
    pat.login("pat@northwind.test")
    assert pat.get(PAYMENTS).status_code == 403
    admin = make_client()
    admin.login_admin()
    assert admin.get(PAYMENTS).status_code == 403
    assert admin.post_form(PAYMENTS, {"amount": "1"}, token_from="/admin/").status_code == 403


def test_the_list_is_empty_at_first_then_newest_first_with_filters_and_pages(alice, demo, app, monkeypatch):
    empty = text(alice.get(PAYMENTS))
    assert 'data-testid="empty"' in empty and "No payments yet" in empty

    first = place(app, demo, order_id="A-1")
    declined = place(app, demo, order_id="B-2", payment_method="pm_card_visa_chargeDeclined")
    third = place(app, demo, order_id="A-1", capture=False)
    monkeypatch.setattr(client_views, "PER_PAGE", 2)

    page_one = text(alice.get(PAYMENTS))
    assert page_one.index(third.public_id) < page_one.index(declined.public_id)
    assert first.public_id not in page_one and f"starting_after={declined.public_id}" in page_one
    page_two = text(alice.get(f"{PAYMENTS}?starting_after={declined.public_id}"))
    assert first.public_id in page_two and third.public_id not in page_two and "← Newest" in page_two

    by_order = text(alice.get(f"{PAYMENTS}?order_id=A-1"))
    assert first.public_id in by_order and third.public_id in by_order and declined.public_id not in by_order
    failed = text(alice.get(f"{PAYMENTS}?status=failed", headers={"HX-Request": "true"}))
    assert "<html" not in failed and declined.public_id in failed and first.public_id not in failed
    assert "Your card was declined." in failed
    assert "No payments match these filters." in text(alice.get(f"{PAYMENTS}?status=canceled"))
    assert alice.get(f"{PAYMENTS}?starting_after=pay_nope").status_code == 404
