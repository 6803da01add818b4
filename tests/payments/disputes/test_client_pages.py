"""Customers open a dispute on one of their payments and follow their disputes; never another organization's."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from tests.payments.disputes.conftest import disputes_of, events_of, make_dispute, make_payment


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def form_url(payment) -> str:
    return f"/client/payments/{payment.public_id}/dispute"


@pytest.fixture
def alice(client, demo):
    client.login("alice@acme.test")
    return client


def test_a_customer_opens_a_dispute_and_sees_it_listed(alice, demo, payment):
    form = text(alice.get(form_url(payment)))
    assert "Dispute payment " + payment.public_id in form and "I was charged more than once" in form

    response = alice.post_form(form_url(payment), {"reason": "duplicate", "description": "Charged twice on 3 March."})

    assert response.status_code == 302 and response.headers["Location"].endswith("/client/disputes")
    [dispute] = disputes_of(demo, payment)
    assert (dispute.status, dispute.opened_by, dispute.reason) == ("needs_response", "customer", "duplicate")
    listing = text(alice.get("/client/disputes"))
    assert f"Dispute {dispute.public_id} opened on payment {payment.public_id}" in listing
    assert dispute.public_id in listing and "$100.00" in listing and "needs response" in listing
    assert f'href="/client/payments/{payment.public_id}"' in listing
    audit = demo.scalars(select(AuditEvent).where(AuditEvent.target == dispute.public_id)).one()
    assert (audit.action, audit.actor_label) == ("dispute.opened", "alice@acme.test")
    assert events_of(demo, "dispute.created") == 1


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"reason": "", "description": "Wrong."}, "reason", "The reason is one of"),
    ({"reason": "because", "description": "Wrong."}, "reason", "The reason is one of"),
    ({"reason": "duplicate", "description": "  "}, "description", "Describe what went wrong with this payment."),
])
def test_bad_input_is_shown_beside_the_field(alice, demo, payment, data, field, message):
    response = alice.post_form(form_url(payment), data)

    assert response.status_code == 400
    assert re.search(rf'id="{field}-error">{re.escape(message)}', text(response)), text(response)
    assert disputes_of(demo, payment) == []


def test_htmx_swaps_the_form_and_redirects_when_done(alice, demo, payment):
    bad = alice.htmx("POST", form_url(payment), token_from=form_url(payment), data={"reason": "x", "description": ""})
    good = alice.htmx("POST", form_url(payment), token_from=form_url(payment),
                      data={"reason": "unrecognized", "description": "No idea what this is."})

    assert bad.status_code == 400 and "<html" not in text(bad) and 'id="open-dispute"' in text(bad)
    assert good.headers["HX-Redirect"] == "/client/disputes"


def test_a_payment_that_did_not_succeed_cannot_be_disputed(alice, demo):
    payment = make_payment(demo, status="canceled")

    assert "Only a completed payment can be disputed; this one is canceled." in text(alice.get(form_url(payment)))
    refused = alice.post_form(form_url(payment), {"reason": "duplicate", "description": "x"},
                              token_from="/client/disputes")
    assert refused.status_code == 400 and disputes_of(demo, payment) == []


def test_an_open_dispute_is_shown_instead_of_the_form(alice, demo, payment):
    existing = make_dispute(demo, payment, "under_review")

    body = text(alice.get(form_url(payment)))

    assert f"This payment already has an open dispute, <code>{existing.public_id}</code> (under review)" in body
    assert "Open dispute</button>" not in body


def test_another_organizations_payment_and_disputes_stay_hidden(client, demo):
    theirs = make_payment(demo, "globex")
    their_dispute = make_dispute(demo, theirs)
    mine = make_dispute(demo, make_payment(demo))
    client.login("alice@acme.test")

    assert client.get(form_url(theirs)).status_code == 404
    assert client.post_form(form_url(theirs), {"reason": "duplicate", "description": "x"},
                            token_from="/client/disputes").status_code == 404
    listing = text(client.get("/client/disputes"))
    assert mine.public_id in listing and their_dispute.public_id not in listing
    assert len(disputes_of(demo, theirs)) == 1


def test_the_list_has_an_empty_state_and_pages(alice, demo, monkeypatch):
    from app.web.payments import dispute_views

    assert 'data-testid="empty"' in text(alice.get("/client/disputes"))

    monkeypatch.setattr(dispute_views, "PER_PAGE", 2)
    made = [make_dispute(demo, make_payment(demo)) for _ in range(3)]
    first = text(alice.get("/client/disputes"))
    assert made[2].public_id in first and made[1].public_id in first and made[0].public_id not in first
    older = re.search(r'href="([^"]*starting_after=[^"]+)"', first).group(1)
    assert made[0].public_id in text(alice.get(older))
