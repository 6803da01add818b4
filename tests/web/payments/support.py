"""Steps shared by the payment pages' tests: fill the new-payment form as a
browser would (its CSRF token and one-time token read from the page), arrange
payments through the real service (against localstripe), read rows back."""
from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.payments import gateway, service
from app.payments.models import Payment, StripeCustomer
from tests.support import csrf_token_from, org

PAYMENTS = "/client/payments"


def text(response) -> str:
    return response.get_data(as_text=True)


def form_token(page: str) -> str:
    """The new-payment form's one-time token."""
    match = re.search(r'<input[^>]*name="token"[^>]*>', page)
    assert match, "no one-time token in the form"
    return re.search(r'value="([^"]+)"', match.group(0)).group(1)


def payment_form(client, **fields) -> dict:
    """The fields a browser would post from a freshly loaded payments page (overridable)."""
    page = text(client.get(PAYMENTS))
    data = {"csrf_token": csrf_token_from(page), "token": form_token(page), "order_id": "INV-1001",
            "amount": "12.50", "currency": "USD", "payment_method": "pm_card_visa", "capture": "charge"}
    data.update(fields)
    return data


def submit(client, data: dict, htmx: bool = False):
    headers = {"HX-Request": "true", "HX-Current-URL": "http://localhost" + PAYMENTS} if htmx else {}
    return client.http.post(PAYMENTS, data=data, headers=headers)


def field_errors(page: str, field: str) -> list[str]:
    """The error messages rendered beside a form field (`<p class="error" id="<field>-error">`)."""
    return [html.unescape(m) for m in re.findall(rf'<p class="error" id="{re.escape(field)}-error">([^<]*)</p>', page)]


def payments_of(db, slug: str) -> list[Payment]:
    db.expire_all()
    return list(db.scalars(select(Payment).where(Payment.org_id == org(db, slug).id).order_by(Payment.id)))


def place(app, db, slug: str = "acme", *, amount: int = 100_00, capture: bool = True, currency: str = "USD",
          order_id: str = "ord-1", payment_method: str = "pm_card_visa") -> Payment:
    """Arrange a payment through the service the portal uses."""
    return service.place(db, app.config, org(db, slug), order_id=order_id, amount=amount, currency=currency,
                         payment_method=payment_method, capture=capture, actor_label="arranged@test")


def fresh(db, payment: Payment) -> Payment:
    db.expire_all()
    return db.get(Payment, payment.id)


def stripe_intents_of(app, db, slug: str) -> list:
    """The PaymentIntents localstripe holds for the organization's Stripe customer."""
    customer = db.get(StripeCustomer, org(db, slug).id)
    if customer is None:
        return []
    listed = gateway.client(app.config).v1.payment_intents.list(params={"limit": 100})
    return [intent for intent in listed.auto_paging_iter() if intent.customer == customer.stripe_customer_id]


def audits(db, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))
