"""Cursor pagination: `limit` + `starting_after` (an object id), as Stripe does."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from app.errors import DomainError

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    has_more: bool


def paginate(session: Session, stmt: Select, model, limit: int, starting_after: str | None,
             newest_first: bool = False, cursor_column=None) -> Page:
    """Rows of `stmt` (already tenant-scoped) in id order, after the cursor.

    With `newest_first` (logs, events) the order is descending and "after"
    means older. The cursor is looked up through the same scoped statement, so
    another organization's id is refused like an unknown one. `cursor_column`
    is the id clients see, `model.public_id` unless the rows have another.
    """
    if starting_after:
        visible_id = model.public_id if cursor_column is None else cursor_column
        cursor_id = session.scalar(stmt.where(visible_id == starting_after).with_only_columns(model.id))
        if cursor_id is None:
            raise DomainError(f"No object {starting_after!r} to start after.", field="starting_after")
        stmt = stmt.where(model.id < cursor_id if newest_first else model.id > cursor_id)
    order = model.id.desc() if newest_first else model.id
    rows = list(session.scalars(stmt.order_by(order).limit(limit + 1)))
    return Page(rows=rows[:limit], has_more=len(rows) > limit)
