from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
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


class EmailChangeForm(FlaskForm):
    """The address is checked by the service (it names the field when refusing)."""

    email = EmailField("New email", validators=[
        DataRequired(message="Enter the new email address."),
        Length(max=254, message="Email addresses are at most 254 characters long."),
    ])


class SecondFactorForm(FlaskForm):
    """A TOTP code, or a recovery code instead. The service reads and checks them."""

    code = StringField("Authentication code", validators=[Length(max=20)])
    recovery_code = StringField("Recovery code", validators=[Length(max=40)])

    def submitted_codes(self) -> dict:
        """`code=` or `recovery_code=` for the service: a recovery code wins when given."""
        if (self.recovery_code.data or "").strip():
            return {"recovery_code": self.recovery_code.data}
        return {"code": self.code.data or ""}


class SudoForm(SecondFactorForm):
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password."),
                                                     Length(max=MAX_LENGTH)])
