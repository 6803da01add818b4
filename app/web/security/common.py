"""What the security settings views share: the owner check."""
from __future__ import annotations

from functools import wraps

from flask_login import current_user

from app.errors import PermissionDenied


def is_owner() -> bool:
    return current_user.is_authenticated and current_user.role == "owner"


def require_owner(what: str):
    """Decorator: only owners change the organization's security settings.

    Members may look at them. Checked before sudo, since confirming a password
    would not help a member. `what` completes "Only owners can change …".
    """
    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not is_owner():
                raise PermissionDenied(f"Only the organization's owners can change {what}. "
                                       "Ask an owner if something needs changing.")
            return view(*args, **kwargs)
        return wrapped
    return decorate
