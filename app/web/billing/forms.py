"""Flask-WTF forms of the subscription and invoice pages (client and admin).

They carry the input only; the billing services check it and their
DomainError lands beside the field it names.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from app.billing.models import INVOICE_STATUSES
from app.web.payments.forms import REASON_LABELS


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class PlanForm(FlaskForm):
    """Subscribe to, or switch to, one plan (the plan rides in a hidden field)."""

    plan = HiddenField(validators=[InputRequired(message="Choose a plan.")], filters=[_strip])


class ConfirmForm(FlaskForm):
    """A button that changes something: the CSRF token is all it carries."""


class InvoiceFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    status = SelectField("Status", choices=[SelectChoice("", "Any status")]
                         + [SelectChoice(s, s.capitalize()) for s in INVOICE_STATUSES], validators=[Optional()])


class AdminInvoiceFilterForm(InvoiceFilterForm):
    organization = StringField("Organization (slug)", filters=[_strip], validators=[Optional(), Length(max=63)])


class VoidInvoiceForm(FlaskForm):
    reason = TextAreaField("Reason (the customer sees it)", filters=[_strip],
                           validators=[InputRequired(message="Say why the invoice is voided."), Length(max=300)])


class InvoiceRefundForm(FlaskForm):
    """Refund part of a paid invoice, typed in its own currency or in the base currency of its prices."""

    amount = StringField("Amount", filters=[_strip], validators=[InputRequired(message="Enter the amount to refund.")])
    currency = RadioField("Amount is in", choices=[], validators=[InputRequired()])
    reason = SelectField("Reason", choices=[SelectChoice(value, label) for value, label in REASON_LABELS.items()],
                         default="billing_error")
    note = StringField("Note", filters=[_strip], validators=[Optional(), Length(max=500)])
