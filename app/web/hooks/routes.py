"""Placeholder: being written."""
from app.web.hooks import bp  # noqa: F401
