"""Domain errors: a user-facing message and, where it applies, the field at fault.

Routes turn them into form errors; the API turns them into
`{"error": {"type", "message", "field"}}`.
"""
from __future__ import annotations


class DomainError(Exception):
    """A refusal the user can act on."""

    error_type = "invalid_request_error"
    status_code = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    error_type = "not_found"
    status_code = 404


class PermissionDenied(DomainError):
    error_type = "permission_error"
    status_code = 403
