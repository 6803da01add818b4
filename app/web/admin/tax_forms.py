"""Forms of the admin tax pages: a new tax rate, and the decision on an exemption.

Only the shape of the input is checked here; app.tax.service and
app.tax.exemptions decide what is acceptable and name the field at fault.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from app.tax.models import TAX_REGIONS
from app.tax.regions import REGION_NAMES


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class TaxRateForm(FlaskForm):
    region = SelectField("Region", choices=[SelectChoice(code, f"{code} · {REGION_NAMES[code]}")
                                            for code in TAX_REGIONS], validate_choice=False)
    country = StringField("Country (ISO code)", filters=[lambda v: v.strip().upper() if v else ""],
                          render_kw={"list": "eu-countries", "autocomplete": "off", "maxlength": 2})
    name = StringField("Tax name", filters=[_strip], validators=[InputRequired(message="Name the tax, e.g. VAT.")])
    rate = StringField("Rate (%)", filters=[_strip], render_kw={"inputmode": "decimal"},
                       validators=[InputRequired(message="Enter the rate, e.g. 19 or 8.875.")])
    effective_from = DateField("Takes effect on", validators=[InputRequired(message="Enter the date it starts.")])


class DecisionForm(FlaskForm):
    """Approve (note optional) or reject (note required: the service says so) one exemption."""

    note = TextAreaField("Note", filters=[_strip], validators=[Length(max=300, message="At most 300 characters.")])
