"""Admin: the queue of refunds waiting for approval, across organizations.

Oldest first, since the customer has waited longest for those. Approve (note
optional) sends the refund to Stripe at once; reject (note required: the
customer reads it) cancels it and releases the reserved amount. Both are
audited by app.payments.refunds. With htmx the queue block (#refund-queue)
swaps itself, so a decided refund moves to "Recently decided".
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from app.accounts.models import Organization
from app.errors import DomainError, NotFound
from app.money import Money
from app.pagination import paginate
from app.payments import refunds
from app.payments.models import Refund
from app.web.admin.payment_forms import ReviewForm
from app.web.payments.forms import REASON_LABELS
from app.web.portal import actor
from app.web.request_context import db_session
from app.web.webhooks.common import render, wants_fragment

PER_PAGE = 25
RECENT = 10


def _awaiting():
    return select(Refund).where(Refund.approval == "awaiting", Refund.status == "pending")


def context(errors: dict | None = None, notes: dict | None = None, notice: str | None = None) -> dict:
    db = db_session()
    cursor = request.args.get("starting_after") or None
    try:
        page = paginate(db, _awaiting(), Refund, PER_PAGE, cursor)
    except DomainError:
        abort(404)
    decided = list(db.scalars(select(Refund).where(Refund.approval.in_(("approved", "rejected")))
                              .order_by(Refund.reviewed_at.desc(), Refund.id.desc()).limit(RECENT)))
    org_ids = {r.org_id for r in (*page.rows, *decided)}
    orgs = {o.id: o for o in db.scalars(select(Organization).where(Organization.id.in_(org_ids)))} if org_ids else {}
    return {"page": page, "decided": decided, "orgs": orgs, "errors": errors or {}, "notes": notes or {},
            "notice": notice, "reason_labels": REASON_LABELS,
            "next_url": url_for("admin.refund_approvals", starting_after=page.rows[-1].public_id)
            if page.has_more else None,
            "first_url": url_for("admin.refund_approvals") if cursor else None}


def index():
    return render("admin/payments/refunds.html", "admin/payments/_queue.html", **context())


def _load(refund_id: str) -> Refund:
    refund = db_session().scalars(select(Refund).where(Refund.public_id == refund_id)).first()
    if refund is None:
        raise NotFound(f"No such refund: {refund_id}")
    return refund


def _decide(refund_id: str, approve: bool):
    db = db_session()
    refund = _load(refund_id)
    form = ReviewForm()
    try:
        if not form.validate_on_submit():
            raise DomainError(" ".join(form.note.errors) or "The form could not be read.", field="note")
        if approve:
            refunds.approve(db, current_app.config, refund, note=form.note.data or "", **actor())
        else:
            refunds.reject(db, refund, note=form.note.data or "", **actor())
            db.commit()
    except DomainError as error:
        db.rollback()
        template = "admin/payments/_queue.html" if wants_fragment() else "admin/payments/refunds.html"
        return render_template(template, **context(errors={refund.public_id: error.message},
                                                    notes={refund.public_id: form.note.data})), 400
    amount = Money(refund.amount, refund.currency).format()
    notice = (f"Refund {refund.public_id} of {amount} approved: {refund.status}." if approve
              else f"Refund {refund.public_id} of {amount} rejected; the amount is released.")
    if wants_fragment():
        return render_template("admin/payments/_queue.html", **context(notice=notice))
    flash(notice, "success")
    return redirect(url_for("admin.refund_approvals"))


def approve(refund_id: str):
    return _decide(refund_id, approve=True)


def reject(refund_id: str):
    return _decide(refund_id, approve=False)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/refunds", endpoint="refund_approvals", view_func=index, methods=["GET"])
    bp.add_url_rule("/refunds/<refund_id>/approve", endpoint="refund_approve", view_func=approve, methods=["POST"])
    bp.add_url_rule("/refunds/<refund_id>/reject", endpoint="refund_reject", view_func=reject, methods=["POST"])
