from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.rental.service import INSTANCE_NAME_MAX
from app.webhooks.targets import MAX_URL_LENGTH


class RenameInstanceForm(FlaskForm):
    name = StringField("Name", validators=[
        DataRequired(message="Name cannot be empty."),
        Length(max=INSTANCE_NAME_MAX, message=f"Name must be at most {INSTANCE_NAME_MAX} characters."),
    ])


class HealthUrlForm(FlaskForm):
    """Empty clears the URL; the service checks the rest (https, a public host)."""

    health_url = StringField("Health URL", validators=[
        Length(max=MAX_URL_LENGTH, message=f"The URL must be at most {MAX_URL_LENGTH} characters."),
    ])
