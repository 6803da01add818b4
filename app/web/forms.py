"""Helpers shared by portal forms."""
from __future__ import annotations

from flask_wtf import FlaskForm

from app.errors import DomainError


def apply_domain_error(form: FlaskForm, error: DomainError) -> None:
    """Show a service's refusal beside the field it names (or above the form)."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
