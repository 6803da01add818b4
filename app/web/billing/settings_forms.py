"""Forms of the client's billing settings page: the billing profile and exemption certificates.

They carry the input only. What makes a VAT ID, a currency or a payment
method acceptable is decided by app.billing.profile and app.tax.exemptions,
whose DomainError lands beside the field it names; so the choices below are
not validated here, and a tampered value gets the service's message.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from app.money import SUPPORTED_CURRENCIES

CUSTOMER_TYPE_LABELS = {"individual": "Individual (a person)", "business": "Business (a company or sole trader)"}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class BillingProfileForm(FlaskForm):
    legal_name = StringField("Legal name", filters=[_strip])
    address = TextAreaField("Billing address", filters=[_strip], render_kw={"rows": 3, "style": "width:100%"})
    customer_type = RadioField("You are", choices=[SelectChoice(k, v) for k, v in CUSTOMER_TYPE_LABELS.items()],
                               validate_choice=False)
    tax_id = StringField("VAT ID (EU) or tax ID", filters=[_strip], render_kw={"autocomplete": "off"})
    preferred_currency = SelectField("Preferred currency", choices=[SelectChoice(c) for c in SUPPORTED_CURRENCIES],
                                     validate_choice=False)
    payment_method = StringField("Payment method for invoices", filters=[_strip],
                                 render_kw={"list": "test-payment-methods", "autocomplete": "off"})

    @classmethod
    def of(cls, org, profile) -> "BillingProfileForm":
        """Filled from what is stored (a GET, or after a save)."""
        return cls(formdata=None, legal_name=profile.legal_name, address=profile.address,
                   customer_type=profile.customer_type, tax_id=profile.tax_id or "",
                   preferred_currency=org.preferred_currency, payment_method=profile.payment_method or "")


class ExemptionForm(FlaskForm):
    certificate_reference = StringField("Certificate reference", filters=[_strip],
                                        validators=[InputRequired(message="Enter the certificate's reference.")])
    expires_on = DateField("Valid until", validators=[InputRequired(message="Enter the date it expires.")])
