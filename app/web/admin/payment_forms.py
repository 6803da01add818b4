"""Forms of the admin fee and refund-approval pages.

Rates are typed as percentages and parsed by `fees.parse_percent`; fixed fees
are whole minor units. Both refusals name their field.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from app.errors import DomainError
from app.payments import fees


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def parse_fixed_fee(text: str) -> int:
    """"30" → 30 minor units; anything but a whole number of 0 or more is refused beside the field."""
    text = (text or "0").strip() or "0"
    if not text.isdigit() or len(text) > 12:
        raise DomainError("The fixed fee is a whole number of minor units, 0 or more (30 = 0.30 USD).",
                          field="fixed_fee")
    return int(text)


class RateForm(FlaskForm):
    """A platform rate (percent) and fixed fee; one per fee tier (prefixed by its code)."""

    rate = StringField("Rate (%)", filters=[_strip], validators=[InputRequired(message="Enter the rate, e.g. 1.5")])
    fixed_fee = StringField("Fixed fee (minor units)", filters=[_strip], default="0")

    def parsed(self) -> tuple[int, int]:
        """(basis points, fixed fee) or a DomainError naming the field."""
        return fees.parse_percent(self.rate.data, field="rate"), parse_fixed_fee(self.fixed_fee.data)


class OverrideForm(RateForm):
    organization = StringField("Organization (slug)", filters=[lambda v: v.strip().lower() if v else v],
                               validators=[InputRequired(message="Choose the organization.")],
                               render_kw={"list": "customer-slugs", "autocomplete": "off"})
    note = StringField("Why", filters=[_strip], validators=[Length(max=300, message="At most 300 characters.")])


class ReviewForm(FlaskForm):
    """An admin's approve/reject of one refund; the note is required to reject (the service says so)."""

    note = TextAreaField("Note", filters=[_strip], validators=[Length(max=500, message="At most 500 characters.")])
