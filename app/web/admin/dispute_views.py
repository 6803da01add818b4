"""The admin dispute desk: every organization's disputes by evidence due date,
and a dispute's page with its payment, history, evidence and decisions.

The page is one htmx widget (#dispute-detail) that actions swap whole, except
the file list (#evidence-files), which uploads and removals swap alone so text
typed in the evidence form is not lost. Without JavaScript every action is a
form post answered with a redirect (or the page with the errors).
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, request
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from app import clock
from app.accounts.models import Organization
from app.errors import NotFound
from app.payments import dispute_queries
from app.payments.dispute_evidence import ACCEPTED_TYPES, FILE_FIELDS, TEXT_FIELDS, files_of, human_size
from app.payments.disputes import AWAITING_RESPONSE, is_open
from app.payments.models import Dispute, DisputeEvidenceFile
from app.web.errors import error_page, htmx_error
from app.web.portal import render
from app.web.request_context import db_session, is_htmx_partial

PER_PAGE = 25
FILTER_LABELS = {"open": "Open", "closed": "Closed", "all": "All"}


def load_dispute(dp_id: str) -> Dispute:
    """Any organization's dispute (admins see all), or 404."""
    dispute = db_session().scalars(select(Dispute).where(Dispute.public_id == dp_id)).first()
    if dispute is None:
        raise NotFound(f"No such dispute: {dp_id}")
    return dispute


def desk():
    status_filter = request.args.get("status") or "open"
    page = request.args.get("page", "1")
    if status_filter not in dispute_queries.DESK_FILTERS or not page.isdigit() or int(page) < 1:
        abort(404)
    listing = dispute_queries.desk_page(db_session(), status_filter, int(page), PER_PAGE)
    if int(page) > 1 and not listing.rows:
        abort(404)
    return render("admin/disputes/index.html", "admin/disputes/_table.html", listing=listing,
                  status_filter=status_filter, filters=dispute_queries.DESK_FILTERS, filter_labels=FILTER_LABELS,
                  now=clock.utcnow(), awaiting=AWAITING_RESPONSE)


def limits() -> dict:
    return {"max_size": human_size(current_app.config["DISPUTE_EVIDENCE_MAX_BYTES"]), "accepted": ACCEPTED_TYPES}


def files_context(dispute: Dispute, **overrides) -> dict:
    context = {"dispute": dispute, "files": files_of(db_session(), dispute), "file_fields": FILE_FIELDS,
               "editable": dispute.status in AWAITING_RESPONSE, "file_errors": {}, "chosen_field": None,
               "files_notice": None, **limits()}
    context.update(overrides)
    return context


def detail_context(dispute: Dispute, **overrides) -> dict:
    """Everything the dispute page shows; `overrides` carry form values, errors and notices."""
    db = db_session()
    context = {"payment": dispute.payment, "organization": db.get(Organization, dispute.org_id),
               "history": dispute_queries.history(db, dispute), "text_fields": list(TEXT_FIELDS.values()),
               "labels": {**{name: spec.label for name, spec in TEXT_FIELDS.items()}, **FILE_FIELDS},
               "values": dict(dispute.evidence or {}), "errors": {}, "alert": None, "notice": None,
               "is_open": is_open(dispute), "now": clock.utcnow(),
               "can_accept": is_open(dispute) and (dispute.status in AWAITING_RESPONSE
                                                   or not dispute.stripe_dispute_id),
               "can_resolve": is_open(dispute) and dispute.opened_by == "customer",
               "resolve_outcome": None, "resolve_note": ""}
    context.update(files_context(dispute))
    context.update(overrides)
    return context


def render_detail(dispute: Dispute, status: int = 200, **overrides):
    return render("admin/disputes/detail.html", "admin/disputes/_detail.html",
                  **detail_context(dispute, **overrides)), status


def detail(dp_id: str):
    return render_detail(load_dispute(dp_id))


def download_file(dp_id: str, file_id: str):
    """An evidence file as uploaded, for the admin to check (always as a download)."""
    dispute = load_dispute(dp_id)
    row = db_session().scalars(select(DisputeEvidenceFile).where(
        DisputeEvidenceFile.dispute_id == dispute.id, DisputeEvidenceFile.public_id == file_id)).first()
    if row is None:
        raise NotFound(f"No such file: {file_id}")
    response = current_app.response_class(row.data, mimetype=row.content_type)
    response.headers.set("Content-Disposition", "attachment", filename=row.filename)
    return response


def too_large(error: RequestEntityTooLarge):
    """A body over MAX_CONTENT_LENGTH: say so beside the upload field, not a bare error."""
    if request.endpoint != "admin.dispute_upload":
        return error_page(413, "The request is larger than this page accepts.")
    message = f"The file is larger than the {limits()['max_size']} limit for one evidence file."
    if is_htmx_partial():
        return htmx_error(413, message)
    dispute = load_dispute(request.view_args["dp_id"])
    return render_detail(dispute, 413, file_errors={"file": message})[0], 413


def register(bp: Blueprint) -> None:
    from app.web.admin import dispute_actions

    bp.add_url_rule("/disputes", endpoint="disputes", view_func=desk, methods=["GET"])
    bp.add_url_rule("/disputes/<dp_id>", endpoint="dispute_detail", view_func=detail, methods=["GET"])
    bp.add_url_rule("/disputes/<dp_id>/files/<file_id>", endpoint="dispute_file", view_func=download_file,
                    methods=["GET"])
    for rule, endpoint, view in dispute_actions.ROUTES:
        bp.add_url_rule(rule, endpoint=endpoint, view_func=view, methods=["POST"])
    bp.register_error_handler(RequestEntityTooLarge, too_large)
