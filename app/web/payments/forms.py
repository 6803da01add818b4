"""Flask-WTF forms of the client payment and refund pages.

The forms only carry the input. Amounts arrive in major units as typed and are
turned into minor units by `amounts.from_major` (which knows each currency's
decimals); everything else is checked by the payments services, whose
DomainError lands beside the field it names.
"""
from __future__ import annotations

import secrets

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from app.money import SUPPORTED_CURRENCIES

# Stripe's test PaymentMethod ids that the test server (localstripe) knows too.
TEST_PAYMENT_METHODS = (
    ("pm_card_visa", "Visa, succeeds"),
    ("pm_card_visa_chargeDeclined", "Visa, declined (4000 0000 0000 0002)"),
    ("pm_card_chargeCustomerFail", "Visa, attaches but the charge fails"),
)
REASON_LABELS = {  # the model's REFUND_REASONS, as people read them
    "customer_request": "Customer request",
    "duplicate_charge": "Duplicate charge",
    "fraudulent": "Fraudulent",
    "service_issue": "Service issue",
    "billing_error": "Billing error",
    "other": "Other",
}
REFUND_TYPE_LABELS = {
    "full": "Full: everything left on the payment",
    "partial": "Partial: the amount below",
    "prorated": "Prorated: the unused share of the current subscription period",
}
PAYMENT_STATUS_CHOICES = [SelectChoice("", "Any status"), SelectChoice("requires_capture", "Authorized"),
                          SelectChoice("succeeded", "Succeeded"), SelectChoice("processing", "Processing"),
                          SelectChoice("failed", "Failed"), SelectChoice("canceled", "Canceled")]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def new_form_token() -> str:
    """A one-time key for a rendered payment form (the idempotency key of its submit)."""
    return secrets.token_urlsafe(18)


class NewPaymentForm(FlaskForm):
    """Authorize or charge a Stripe PaymentMethod for one of the customer's orders."""

    order_id = StringField("Order id", filters=[_strip],
                           validators=[InputRequired(message="Enter the order this payment is for.")])
    amount = StringField("Amount", filters=[_strip],
                         validators=[InputRequired(message="Enter the amount, e.g. 12.50.")])
    # Not enforced as a choice: an unknown code gets amounts.currency_code's message.
    currency = SelectField("Currency", choices=[SelectChoice(c) for c in SUPPORTED_CURRENCIES],
                           validate_choice=False)
    payment_method = StringField("Payment method", filters=[_strip],
                                 validators=[InputRequired(message="Enter a Stripe PaymentMethod id.")],
                                 render_kw={"list": "test-payment-methods", "autocomplete": "off"})
    capture = RadioField("When", default="charge", choices=[
        SelectChoice("charge", "Charge now"),
        SelectChoice("authorize", "Authorize only (capture later, within 7 days)")],
        validators=[InputRequired(message="Choose whether to charge now or authorize only.")])
    token = HiddenField()

    def fresh(self) -> "NewPaymentForm":
        """Give the form a new one-time token (after its old one was used)."""
        self.token.data = new_form_token()
        return self


class PaymentFilterForm(FlaskForm):
    """The list's filters: a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    order_id = StringField("Order id", filters=[_strip], validators=[Optional(), Length(max=100)])
    status = SelectField("Status", choices=PAYMENT_STATUS_CHOICES, validators=[Optional()])


class CaptureForm(FlaskForm):
    amount = StringField("Amount to capture", filters=[_strip])


class ConfirmForm(FlaskForm):
    """A bare POST with its CSRF token (cancel an authorization)."""


class RefundForm(FlaskForm):
    type = RadioField("Type", default="full",
                             choices=[SelectChoice(k, v) for k, v in REFUND_TYPE_LABELS.items()],
                             validators=[InputRequired(message="Choose the type of refund.")])
    amount = StringField("Amount (partial refunds only)", filters=[_strip])
    reason = SelectField("Reason", choices=[SelectChoice(k, v) for k, v in REASON_LABELS.items()],
                         validate_choice=False)
    note = TextAreaField("Note", filters=[_strip], render_kw={"rows": 2, "style": "width:100%"},
                         validators=[Length(max=500, message="Keep the note under 500 characters.")])
