"""The one way to query customer-owned rows: always filtered by organization.

Every model with an `org_id` is read through `owned()` or `get_owned()`, so a
row of another organization is indistinguishable from a missing one (404).
"""
from __future__ import annotations

import re
from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.errors import NotFound

T = TypeVar("T")


def owned(model: type[T], org_id: int) -> Select:
    """`SELECT model WHERE org_id = :org_id` to extend with more filters."""
    if org_id is None:
        raise ValueError("owned() needs an organization id")
    return select(model).where(model.org_id == org_id)


def _label(model) -> str:
    """`WebhookEndpoint` → "webhook endpoint", for messages people read."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", model.__name__).lower()


def get_owned(session: Session, model: type[T], org_id: int, public_id: str) -> T:
    """The row with `public_id` in the organization, or NotFound."""
    row = session.scalars(owned(model, org_id).where(model.public_id == public_id)).first()
    if row is None:
        raise NotFound(f"No such {_label(model)}: {public_id}")
    return row
