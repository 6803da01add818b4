from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from app.accounts.passwords import MAX_LENGTH, MIN_LENGTH


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter your email."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password."),
                                                     Length(max=MAX_LENGTH)])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(message="Enter your current password.")])
    new_password = PasswordField("New password", validators=[
        DataRequired(message="Enter a new password."),
        Length(min=MIN_LENGTH, max=MAX_LENGTH,
               message=f"Use between {MIN_LENGTH} and {MAX_LENGTH} characters."),
    ])
    confirm_password = PasswordField("Repeat new password", validators=[
        DataRequired(message="Repeat the new password."),
        EqualTo("new_password", message="The two new passwords do not match."),
    ])
