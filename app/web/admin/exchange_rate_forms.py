"""The admin's exchange-rate form: one per currency on the rates page (prefixed by its code).

The rate is typed as text and parsed exactly by the currency service, whose
refusals ("0", "-1", "abc", "1e400") name the field and are shown beside it.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired


class RateForm(FlaskForm):
    rate = StringField("Rate (per 1 USD)", filters=[lambda v: v.strip() if isinstance(v, str) else v],
                       validators=[InputRequired(message="Enter the rate, e.g. 0.92")])
