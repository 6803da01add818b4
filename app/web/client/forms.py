from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.rental.service import INSTANCE_NAME_MAX


class RenameInstanceForm(FlaskForm):
    name = StringField("Name", validators=[
        DataRequired(message="Name cannot be empty."),
        Length(max=INSTANCE_NAME_MAX, message=f"Name must be at most {INSTANCE_NAME_MAX} characters."),
    ])
