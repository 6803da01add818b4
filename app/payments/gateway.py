"""The one door to Stripe: a configured `stripe.StripeClient` and error translation.

`STRIPE_API_BASE` points the official SDK at a Stripe-compatible server
(localstripe in tests and `make run`); empty means api.stripe.com. Every call
that moves money carries an idempotency key derived from our own row's id, so
a retry after a lost answer never moves money twice.
"""
from __future__ import annotations

from dataclasses import dataclass

import stripe

from app.errors import DomainError


class PaymentsNotConfigured(DomainError):
    status_code = 503
    error_type = "api_error"


@dataclass(frozen=True)
class GatewayFailure(Exception):
    """Stripe refused or could not be reached.

    `declined` is a card refusal the customer can act on; `definite` says Stripe
    answered (so nothing happened there), as opposed to a lost connection where
    the outcome is unknown until Stripe's webhook tells.
    """

    code: str
    message: str
    declined: bool = False
    definite: bool = True


def client(config) -> stripe.StripeClient:
    """A StripeClient for the app's settings (cheap: no connection is opened)."""
    key = config.get("STRIPE_SECRET_KEY") or ""
    if not key:
        raise PaymentsNotConfigured("Payments are not configured: STRIPE_SECRET_KEY is not set.")
    base = config.get("STRIPE_API_BASE") or ""
    addresses = {"api": base, "files": base} if base else None
    return stripe.StripeClient(key, base_addresses=addresses, max_network_retries=0)


def translate(error: stripe.StripeError) -> GatewayFailure:
    """A Stripe SDK error as a failure we can record and show (never the secret key)."""
    if isinstance(error, stripe.CardError):
        return GatewayFailure(error.code or "card_declined", error.user_message or "The card was declined.",
                              declined=True)
    if isinstance(error, stripe.APIConnectionError):
        return GatewayFailure("gateway_unreachable", "The payment gateway could not be reached.", definite=False)
    message = getattr(error, "user_message", None) or "The payment gateway refused the request."
    code = getattr(error, "code", None) or type(error).__name__
    return GatewayFailure(str(code), str(message)[:300], definite=(error.http_status or 500) < 500)


def field(obj, name: str, default=None):
    """Read a field of a Stripe object or plain dict (webhook payloads are dicts)."""
    try:
        value = obj[name]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def object_id(value) -> str | None:
    """A Stripe reference that may be an id or an expanded object."""
    if value is None or isinstance(value, str):
        return value
    return field(value, "id")


# What a Stripe call can raise (the SDK's base error covers every API error).
stripe_errors = (stripe.StripeError,)
