"""Placing a payment from the portal form exactly once per rendered form.

Each rendered form carries a random one-time token. Its submit claims the
token as an idempotency key (`portal:<token>`, the same records and rules as
the API's `Idempotency-Key`), so a double click, a resubmitted POST or a
retried request finds the first submit's payment instead of charging again.
A refusal before any money moved is stored too, and replayed the same way.
Unlike the API's keys, a crashed first submit does not release its token: a
form can always be reloaded for a new one, and money must not move twice.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.errors import DomainError
from app.payments import idempotency, service
from app.payments.models import Payment
from app.tenancy import get_owned

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class Outcome:
    """The payment a submit led to, and whether it is the replay of an earlier submit."""

    payment: Payment
    replayed: bool


def _key(token: str) -> str:
    if not _TOKEN.match(token or ""):
        raise DomainError("This form is missing its one-time token. Reload the page and try again.")
    return "portal:" + token


def place_once(session: Session, config, org, *, token: str, order_id: str, amount: int, currency: str,
               payment_method: str, capture: bool, actor_label: str) -> Outcome:
    """Place the payment unless this form's token was already used; raises the (first) refusal.

    IdempotencyConflict means the first submit is still running (its token stays
    valid); any other DomainError spends the token.
    """
    fingerprint = idempotency.fingerprint("portal-payment", order_id, str(amount), currency, payment_method,
                                          "charge" if capture else "authorize")
    try:
        claimed = idempotency.claim(session, org.id, _key(token), fingerprint)
    except idempotency.IdempotencyMismatch:
        raise DomainError("This form was already submitted with other values. Check the list below before "
                          "paying again.") from None
    except idempotency.IdempotencyConflict:
        raise idempotency.IdempotencyConflict(
            "This payment is still being processed. Reload the page in a moment to see it.") from None
    if isinstance(claimed, idempotency.Replay):
        first = json.loads(claimed.body)
        if "payment" not in first:
            raise DomainError(first["message"], field=first.get("field"))
        return Outcome(get_owned(session, Payment, org.id, first["payment"]), replayed=True)
    try:
        payment = service.place(session, config, org, order_id=order_id, amount=amount, currency=currency,
                                payment_method=payment_method, capture=capture, actor_label=actor_label)
    except DomainError as error:
        session.rollback()
        idempotency.finish(session, claimed, error.status_code,
                           json.dumps({"message": error.message, "field": error.field}))
        raise
    except Exception:
        # The claim stays unfinished on purpose: the payment may already exist, so this
        # form's token keeps answering "still being processed" rather than charging again.
        session.rollback()
        raise
    idempotency.finish(session, claimed, 201, json.dumps({"payment": payment.public_id}))
    return Outcome(payment, replayed=False)
