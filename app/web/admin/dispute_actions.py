"""What an admin does on a dispute's page: save the evidence draft, upload and
remove files, submit to Stripe, accept the loss, decide a customer's dispute.

Each action audits through its service. htmx gets the widget it swaps (the
page's #dispute-detail, or #evidence-files for files); a plain form post gets
a redirect with a flash, or the page with the error beside the field (400).
"""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from app.errors import DomainError
from app.payments import dispute_evidence, disputes
from app.payments.dispute_evidence import FILE_FIELDS, TEXT_FIELDS
from app.web.admin.dispute_views import files_context, load_dispute, render_detail
from app.web.portal import actor
from app.web.request_context import db_session, is_htmx_partial

# Fields a refusal may name that the page shows beside an input; others go above the evidence.
_DETAIL_FIELDS = {*TEXT_FIELDS, "understand", "outcome", "note"}


def _done(dispute, message: str):
    """Success: the refreshed widget for htmx, else back to the page with a flash."""
    if is_htmx_partial():
        return render_detail(dispute, notice=message)
    flash(message, "success")
    return redirect(url_for("admin.dispute_detail", dp_id=dispute.public_id))


def _refused(dispute, error: DomainError, **overrides):
    """The page (or widget) with the refusal beside its field; nothing of the action is kept."""
    db_session().rollback()
    if error.field in _DETAIL_FIELDS:
        return render_detail(dispute, 400, errors={error.field: error.message}, **overrides)
    return render_detail(dispute, 400, alert=error.message, **overrides)


def _posted_evidence() -> dict:
    """The evidence text fields present in the form (absent ones are left as saved)."""
    return {name: request.form[name] for name in TEXT_FIELDS if name in request.form}


def save_evidence(dp_id: str):
    db, dispute = db_session(), load_dispute(dp_id)
    posted = _posted_evidence()
    try:
        changed = dispute_evidence.save_evidence(db, dispute, posted, **actor())
    except DomainError as error:
        return _refused(dispute, error, values={**(dispute.evidence or {}), **posted})
    db.commit()
    return _done(dispute, "Evidence draft saved." if changed else "Nothing changed in the evidence.")


def submit(dp_id: str):
    """Save what the form carries, then submit, once confirmed.

    htmx confirms in the browser (hx-confirm) and sends `confirmed=1`; without
    JavaScript the first post shows a confirmation page that posts it.
    """
    db, dispute = db_session(), load_dispute(dp_id)
    posted = _posted_evidence()
    try:
        dispute_evidence.save_evidence(db, dispute, posted, **actor())
    except DomainError as error:
        return _refused(dispute, error, values={**(dispute.evidence or {}), **posted})
    db.commit()
    if request.form.get("confirmed") != "1":
        return render_template("admin/disputes/confirm_submit.html", dispute=dispute, text_fields=TEXT_FIELDS,
                               files=dispute_evidence.files_of(db, dispute), file_fields=FILE_FIELDS)
    try:
        dispute_evidence.submit_evidence(db, current_app.config, dispute, **actor())
    except DomainError as error:
        return _refused(dispute, error)
    where = "to Stripe" if dispute.stripe_dispute_id else "for review"
    return _done(dispute, f"Evidence submitted {where}; the dispute is {dispute.status.replace('_', ' ')}.")


def _files_done(dispute, message: str):
    if is_htmx_partial():
        return render_template("admin/disputes/_files.html", **files_context(dispute, files_notice=message))
    flash(message, "success")
    return redirect(url_for("admin.dispute_detail", dp_id=dispute.public_id) + "#evidence-files")


def _files_refused(dispute, error: DomainError, chosen_field: str | None = None):
    db_session().rollback()
    errors = {error.field if error.field in ("file", "evidence_field") else "file": error.message}
    if is_htmx_partial():
        return render_template("admin/disputes/_files.html",
                               **files_context(dispute, file_errors=errors, chosen_field=chosen_field)), 400
    return render_detail(dispute, 400, file_errors=errors, chosen_field=chosen_field)


def upload(dp_id: str):
    db, dispute = db_session(), load_dispute(dp_id)
    field = request.form.get("evidence_field", "")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _files_refused(dispute, DomainError("Choose a file to upload.", field="file"), field)
    # One byte over the limit is enough to refuse; never read a huge body into memory.
    data = upload.stream.read(current_app.config["DISPUTE_EVIDENCE_MAX_BYTES"] + 1)
    try:
        row = dispute_evidence.add_file(db, current_app.config, dispute, field, upload.filename, upload.mimetype,
                                        data, **actor())
    except DomainError as error:
        return _files_refused(dispute, error, field)
    db.commit()
    return _files_done(dispute, f"{row.filename} added as {FILE_FIELDS[field]}.")


def remove_file(dp_id: str, file_id: str):
    db, dispute = db_session(), load_dispute(dp_id)
    try:
        dispute_evidence.remove_file(db, dispute, file_id, **actor())
    except DomainError as error:
        return _files_refused(dispute, error)
    db.commit()
    return _files_done(dispute, "File removed.")


def accept_loss(dp_id: str):
    db, dispute = db_session(), load_dispute(dp_id)
    if request.form.get("understand") != "yes":
        return _refused(dispute, DomainError("Tick “I understand this cannot be undone” to accept the loss.",
                                             field="understand"))
    try:
        disputes.accept_loss(db, current_app.config, dispute, **actor())
    except DomainError as error:
        return _refused(dispute, error)
    return _done(dispute, f"Loss accepted: the dispute is {dispute.status.replace('_', ' ')}.")


def resolve(dp_id: str):
    db, dispute = db_session(), load_dispute(dp_id)
    outcome, note = request.form.get("outcome", ""), request.form.get("note", "")
    try:
        disputes.resolve(db, dispute, outcome, note, **actor())
    except DomainError as error:
        return _refused(dispute, error, resolve_note=note, resolve_outcome=outcome)
    db.commit()
    return _done(dispute, f"Dispute decided: {outcome}.")


ROUTES = [
    ("/disputes/<dp_id>/evidence", "dispute_save_evidence", save_evidence),
    ("/disputes/<dp_id>/submit", "dispute_submit", submit),
    ("/disputes/<dp_id>/files", "dispute_upload", upload),
    ("/disputes/<dp_id>/files/<file_id>/delete", "dispute_remove_file", remove_file),
    ("/disputes/<dp_id>/accept-loss", "dispute_accept_loss", accept_loss),
    ("/disputes/<dp_id>/resolve", "dispute_resolve", resolve),
]
