"""Flask-WTF forms of the cost-advice actions. They carry the input only: the advice service decides (a snooze
date after today, a reason that is not blank) and its DomainError lands beside the field it names."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from app.errors import DomainError

def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ApplyForm(FlaskForm):
    """The confirmed Apply: the CSRF token is all it carries."""


class DismissForm(FlaskForm):
    reason = TextAreaField("Why dismiss it?", filters=[_strip], render_kw={"rows": 2, "maxlength": 500},
                           validators=[DataRequired(message="Say why you dismiss it, e.g. “a reserved spare”."),
                                       Length(max=500, message="At most 500 characters.")])


class SnoozeForm(FlaskForm):
    until = DateField("Snooze until",
                      validators=[InputRequired(message="Pick the date it should come back, after today.")])


def place_on_field(form: FlaskForm, error: DomainError) -> bool:
    """Put the service's refusal beside the input it names; False when it names none of this form's (e.g. the
    recommendation's status), for the caller to show above the panel."""
    field = getattr(form, error.field, None) if error.field else None  # the service names them as the forms do
    if field is None or not hasattr(field, "errors"):
        return False
    field.errors = [*field.errors, error.message]
    return True
