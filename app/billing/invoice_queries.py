"""Reading invoices for the portals and the API: lists with filters, one invoice."""
from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.accounts.models import Organization
from app.billing.models import Invoice
from app.errors import DomainError, NotFound
from app.tenancy import get_owned, owned


def customer_invoices(org_id: int, status: str | None = None) -> Select:
    """An organization's issued invoices (drafts are still being assembled: not shown)."""
    stmt = owned(Invoice, org_id).where(Invoice.status != "draft")
    return stmt.where(Invoice.status == status) if status else stmt


def customer_invoice(session: Session, org_id: int, public_id: str) -> Invoice:
    invoice = get_owned(session, Invoice, org_id, public_id)
    if invoice.status == "draft":
        raise NotFound(f"No such invoice: {public_id}")
    return invoice


def all_invoices(session: Session, status: str | None = None, org_slug: str | None = None) -> Select:
    """Every organization's invoices, for staff; an unknown slug is refused, not silently empty."""
    stmt = select(Invoice)
    if status:
        stmt = stmt.where(Invoice.status == status)
    if org_slug:
        org_id = session.scalar(select(Organization.id).where(Organization.slug == org_slug))
        if org_id is None:
            raise DomainError(f"No organization has the slug “{org_slug}”.", field="organization")
        stmt = stmt.where(Invoice.org_id == org_id)
    return stmt
