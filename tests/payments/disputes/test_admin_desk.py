"""The admin dispute desk in the portal: the list by due date, the dispute page,
evidence drafts, uploads (and their refusals), submitting, conceding, deciding."""
from __future__ import annotations

import html
import io
import re
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.payments import dispute_evidence as evidence
from app.payments.disputes import apply_stripe_dispute
from app.payments.models import Dispute, DisputeEvidenceFile
from app.web.admin import dispute_views
from tests.payments.disputes.conftest import EXE, PDF, make_dispute, make_payment

ADMIN = "admin@matrix.test"


@pytest.fixture
def admin(client, demo):
    client.login_admin()
    return client


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def page_of(dispute) -> str:
    return f"/admin/disputes/{dispute.public_id}"


def row_ids(body: str) -> list[str]:
    return re.findall(r'<tr data-testid="dispute-row"[^>]*>\s*<td>.*?</td>\s*<td><a [^>]*>(dp_\w+)</a>', body, re.S)


def audit(db, dispute) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.target == dispute.public_id).order_by(AuditEvent.id)))


def fresh(db, dispute) -> Dispute:
    db.expire_all()
    return db.get(Dispute, dispute.id)


# --- the list --------------------------------------------------------------------------------------

def test_the_desk_lists_every_organizations_open_disputes_soonest_due_first(admin, demo):
    now = clock.utcnow()
    later = make_dispute(demo, make_payment(demo), due_by=now + timedelta(days=5))
    overdue = make_dispute(demo, make_payment(demo, "globex"), due_by=now - timedelta(hours=2))
    soon = make_dispute(demo, make_payment(demo), due_by=now + timedelta(days=1))
    closed = make_dispute(demo, make_payment(demo), "lost", due_by=now - timedelta(days=3))
    undated = make_dispute(demo, make_payment(demo), "warning_needs_response")

    body = text(admin.get("/admin/disputes"))

    assert row_ids(body) == [overdue.public_id, soon.public_id, later.public_id, undated.public_id]
    assert body.count('data-testid="overdue"') == 1 and "Globex" in body and "Acme" in body
    assert row_ids(text(admin.get("/admin/disputes?status=closed"))) == [closed.public_id]
    assert row_ids(text(admin.get("/admin/disputes?status=all")))[-1] == closed.public_id  # closed ones last
    assert row_ids(text(admin.get("/admin/disputes?status=warning_needs_response"))) == [undated.public_id]


def test_the_desk_pages_and_has_an_empty_state(admin, demo, monkeypatch):
    body = text(admin.get("/admin/disputes"))
    assert 'data-testid="empty"' in body and "No open disputes" in body

    monkeypatch.setattr(dispute_views, "PER_PAGE", 2)
    made = [make_dispute(demo, make_payment(demo), due_by=clock.utcnow() + timedelta(days=n)) for n in range(1, 4)]
    first, second = text(admin.get("/admin/disputes")), text(admin.get("/admin/disputes?page=2"))
    assert row_ids(first) == [d.public_id for d in made[:2]] and row_ids(second) == [made[2].public_id]
    assert "Page 1 of 2 · 3 disputes" in first and "page=2" in first
    assert admin.get("/admin/disputes?page=3").status_code == 404
    assert admin.get("/admin/disputes?status=bogus").status_code == 404


def test_the_filter_answers_htmx_with_the_table_alone(admin, demo):
    make_dispute(demo, make_payment(demo), "won")

    response = admin.get("/admin/disputes?status=closed", headers={"HX-Request": "true"})

    assert response.status_code == 200 and "<html" not in text(response) and 'id="disputes"' in text(response)
    assert "HX-Request" in response.headers["Vary"]


def test_customers_cannot_reach_the_desk(client, demo, payment):
    dispute = make_dispute(demo, payment)
    client.login("alice@acme.test")

    assert client.get("/admin/disputes").status_code == 403
    assert client.get(page_of(dispute)).status_code == 403


# --- the dispute page ---------------------------------------------------------------------------------

def test_the_page_shows_the_payment_the_limits_and_the_history(admin, demo, app):
    payment = make_payment(demo, amount=12_345)
    dispute = make_dispute(demo, payment, opened_by="customer")
    demo.add(AuditEvent(action="dispute.opened", actor_label="alice@acme.test", org_id=payment.org_id,
                        target=dispute.public_id, details={"reason": "fraudulent"}))
    demo.commit()

    body = text(admin.get(page_of(dispute)))

    assert f"Dispute {dispute.public_id}" in body and payment.public_id in body and payment.order_id in body
    assert "$123.45" in body and "Acme" in body
    assert "PDF, PNG or JPEG, at most 5 MiB each" in body
    assert "Opened by the customer (fraudulent)" in body
    assert admin.get("/admin/disputes/dp_nope").status_code == 404


def test_saving_a_draft_keeps_the_text_and_is_audited(admin, demo, payment):
    dispute = make_dispute(demo, payment)
    page = page_of(dispute)

    response = admin.post_form(f"{page}/evidence", {"product_description": "40 GPU hours",
                                                    "customer_name": "Alice"}, token_from=page)

    assert response.status_code == 302 and response.headers["Location"].endswith(page)
    assert fresh(demo, dispute).evidence == {"product_description": "40 GPU hours", "customer_name": "Alice"}
    after = text(admin.get(page))
    assert "Evidence draft saved." in after and "40 GPU hours" in after
    assert [(e.action, e.actor_label) for e in audit(demo, dispute)] == [("dispute.evidence_saved", ADMIN)]


def test_a_bad_field_is_shown_beside_it_and_the_typing_is_kept(admin, demo, payment):
    dispute = make_dispute(demo, payment)
    page = page_of(dispute)

    response = admin.post_form(f"{page}/evidence", {"customer_email_address": "nope",
                                                    "product_description": "kept"}, token_from=page)

    assert response.status_code == 400
    body = text(response)
    assert re.search(r'id="ev-customer_email_address-error">Customer email address is not an email address', body)
    assert ">kept</textarea>" in body
    assert fresh(demo, dispute).evidence == {} and audit(demo, dispute) == []


def test_a_draft_saved_with_htmx_returns_the_widget(admin, demo, payment):
    dispute = make_dispute(demo, payment)
    response = admin.htmx("POST", f"{page_of(dispute)}/evidence", token_from=page_of(dispute),
                          data={"service_date": "March 2025"})

    body = text(response)
    assert response.status_code == 200 and "<html" not in body and 'id="dispute-detail"' in body
    assert "Evidence draft saved." in body and 'value="March 2025"' in body


# --- files --------------------------------------------------------------------------------------------

def upload(admin, dispute, data: bytes, filename: str, *, field="receipt", content_type="application/pdf", **kw):
    page = page_of(dispute)
    return admin.post_form(f"{page}/files", {"evidence_field": field,
                                             "file": (io.BytesIO(data), filename, content_type)},
                           token_from=page, content_type="multipart/form-data", **kw)


def test_an_upload_is_listed_downloadable_and_audited(admin, demo, payment):
    dispute = make_dispute(demo, payment)

    response = upload(admin, dispute, PDF, "receipt.pdf")

    assert response.status_code == 302
    [row] = evidence.files_of(demo, dispute)
    body = text(admin.get(page_of(dispute)))
    assert "receipt.pdf added as Receipt." in body and 'data-testid="evidence-file"' in body
    download = admin.get(f"{page_of(dispute)}/files/{row.public_id}")
    assert download.data == PDF and download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"] == "attachment; filename=receipt.pdf"
    assert [e.action for e in audit(demo, dispute)] == ["dispute.file_added"]


@pytest.mark.parametrize(("data", "filename", "field", "message"), [
    (EXE, "invoice.pdf", "receipt", "The file for Receipt is not a PDF, PNG or JPEG file"),
    (b"GIF89a" + b"\x00" * 20, "chat.gif", "customer_communication",
     "The file for Customer communication is not a PDF, PNG or JPEG file"),
    (PDF + b"0" * 2048, "big.pdf", "refund_policy", "The file for Refund policy is larger than the 2 KiB limit."),
    (PDF, "r.pdf", "tax_form", "Choose what the file shows"),
])
def test_wrong_uploads_are_refused_with_a_message_and_not_kept(app, admin, demo, payment, data, filename, field,
                                                               message):
    app.config["DISPUTE_EVIDENCE_MAX_BYTES"] = 2048
    dispute = make_dispute(demo, payment)

    response = upload(admin, dispute, data, filename, field=field)

    assert response.status_code == 400 and message in text(response)
    assert "<html" in text(response)  # the page, with the message beside the upload field
    assert demo.scalars(select(DisputeEvidenceFile)).first() is None and audit(demo, dispute) == []


def test_an_upload_without_a_file_says_so(admin, demo, payment):
    dispute = make_dispute(demo, payment)
    page = page_of(dispute)

    response = admin.post_form(f"{page}/files", {"evidence_field": "receipt"}, token_from=page)

    assert response.status_code == 400 and "Choose a file to upload." in text(response)


def test_an_htmx_upload_swaps_the_file_list_alone(admin, demo, payment):
    dispute = make_dispute(demo, payment)
    page = page_of(dispute)

    ok = admin.htmx("POST", f"{page}/files", token_from=page,
                    data={"evidence_field": "receipt", "file": (io.BytesIO(PDF), "r.pdf", "application/pdf")})
    refused = admin.htmx("POST", f"{page}/files", token_from=page,
                         data={"evidence_field": "uncategorized_file", "file": (io.BytesIO(EXE), "x.pdf", "")})

    assert ok.status_code == 200 and 'id="evidence-files"' in text(ok) and 'id="dispute-detail"' not in text(ok)
    assert "<html" not in text(ok) and "r.pdf added as Receipt." in text(ok)
    assert refused.status_code == 400 and "<html" not in text(refused)
    assert "The file for Other file is not a PDF, PNG or JPEG file" in text(refused)


def test_a_body_over_the_request_limit_gets_a_friendly_413(app, admin, demo, payment):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    dispute = make_dispute(demo, payment)

    response = upload(admin, dispute, PDF + b"0" * 8192, "huge.pdf")
    by_htmx = admin.htmx("POST", f"{page_of(dispute)}/files", token_from=page_of(dispute),
                         data={"evidence_field": "receipt", "file": (io.BytesIO(b"0" * 8192), "huge.pdf", "")})

    assert response.status_code == 413
    assert "The file is larger than the 5 MiB limit for one evidence file." in text(response)
    assert f"Dispute {dispute.public_id}" in text(response)
    assert by_htmx.status_code == 413 and "larger than the 5 MiB limit" in by_htmx.headers["HX-Trigger"]
    assert evidence.files_of(demo, dispute) == []


def test_removing_a_file(admin, demo, payment, app):
    dispute = make_dispute(demo, payment)
    row = evidence.add_file(demo, app.config, dispute, "receipt", "r.pdf", "application/pdf", PDF,
                            actor_label=ADMIN)
    demo.commit()
    page = page_of(dispute)

    response = admin.post_form(f"{page}/files/{row.public_id}/delete", token_from=page)

    assert response.status_code == 302 and evidence.files_of(demo, dispute) == []
    assert [e.action for e in audit(demo, dispute)][-1] == "dispute.file_removed"


# --- submit, concede, decide ------------------------------------------------------------------------

def test_submit_without_javascript_asks_first_then_submits(admin, demo, payment):
    dispute = make_dispute(demo, payment, opened_by="customer")
    page = page_of(dispute)

    asked = admin.post_form(f"{page}/submit", {"access_activity_log": "Ran 40 h"}, token_from=page)

    assert asked.status_code == 200 and "Submit this evidence?" in text(asked) and "Ran 40 h" in text(asked)
    assert fresh(demo, dispute).status == "needs_response"
    assert fresh(demo, dispute).evidence == {"access_activity_log": "Ran 40 h"}  # the draft is saved meanwhile

    done = admin.post_form(f"{page}/submit", {"confirmed": "1"}, token_from=page)

    assert done.status_code == 302 and fresh(demo, dispute).status == "under_review"
    body = text(admin.get(page))
    assert "Evidence submitted for review; the dispute is under review." in body
    assert 'data-testid="evidence-form"' not in body and 'data-testid="upload-form"' not in body
    assert [e.action for e in audit(demo, dispute)] == ["dispute.evidence_saved", "dispute.evidence_submitted"]


def test_submitting_nothing_is_refused_on_the_page(admin, demo, payment):
    dispute = make_dispute(demo, payment)
    page = page_of(dispute)

    response = admin.post_form(f"{page}/submit", {"confirmed": "1"}, token_from=page)

    assert response.status_code == 400 and "Add some evidence, text or a file, before submitting." in text(response)


def open_at_stripe(app, demo, stripe_server, stripe_payment) -> Dispute:
    answer = requests.post(f"{stripe_server.url}/_config/disputes",
                           json={"charge": stripe_payment.stripe_charge_id, "reason": "fraudulent"}, timeout=10)
    apply_stripe_dispute(demo, app.config, "charge.dispute.created", answer.json())
    demo.commit()
    return demo.scalars(select(Dispute).where(Dispute.stripe_dispute_id == answer.json()["id"])).one()


def test_a_stripe_dispute_submitted_from_the_page(app, admin, demo, stripe_server, stripe_payment):
    from app.payments import gateway

    dispute = open_at_stripe(app, demo, stripe_server, stripe_payment)
    assert upload(admin, dispute, PDF, "receipt.pdf").status_code == 302

    response = admin.htmx("POST", f"{page_of(dispute)}/submit", token_from=page_of(dispute),
                          data={"product_description": "GPU hours", "confirmed": "1"})

    assert response.status_code == 200
    assert "Evidence submitted to Stripe; the dispute is under review." in text(response)
    remote = gateway.client(app.config).v1.disputes.retrieve(dispute.stripe_dispute_id)
    assert remote.status == "under_review" and remote.evidence["product_description"] == "GPU hours"
    assert remote.evidence["receipt"] == evidence.files_of(demo, dispute)[0].stripe_file_id


def test_accepting_the_loss_needs_the_box_ticked(app, admin, demo, stripe_server, stripe_payment):
    from app.payments import gateway

    dispute = open_at_stripe(app, demo, stripe_server, stripe_payment)
    page = page_of(dispute)
    assert "I understand this cannot be undone" in text(admin.get(page))

    unticked = admin.post_form(f"{page}/accept-loss", {}, token_from=page)
    assert unticked.status_code == 400 and "Tick “I understand this cannot be undone”" in text(unticked)
    assert fresh(demo, dispute).status == "needs_response"

    ticked = admin.post_form(f"{page}/accept-loss", {"understand": "yes"}, token_from=page)

    assert ticked.status_code == 302 and fresh(demo, dispute).status == "lost"
    assert gateway.client(app.config).v1.disputes.retrieve(dispute.stripe_dispute_id).status == "lost"
    assert "Loss accepted: the dispute is lost." in text(admin.get(page))
    [conceded] = [e for e in audit(demo, dispute) if e.action == "dispute.loss_accepted"]
    assert conceded.actor_label == ADMIN and conceded.details == {"from": "needs_response", "status": "lost"}


def test_an_admin_decides_a_customers_dispute_with_a_note(admin, demo, payment):
    dispute = make_dispute(demo, payment, opened_by="customer")
    page = page_of(dispute)
    assert "Record decision" in text(admin.get(page))

    no_note = admin.post_form(f"{page}/resolve", {"outcome": "won", "note": " "}, token_from=page)
    assert no_note.status_code == 400 and "Say why; the note is kept" in text(no_note)

    decided = admin.post_form(f"{page}/resolve", {"outcome": "won", "note": "Logs show 40 h of use."}, token_from=page)

    assert decided.status_code == 302 and fresh(demo, dispute).status == "won"
    body = text(admin.get(page))
    assert "Dispute decided: won." in body and "Decided: won — “Logs show 40 h of use.”" in body


def test_a_stripe_dispute_has_no_decide_form(admin, demo, payment):
    dispute = make_dispute(demo, payment)
    page = page_of(dispute)

    assert "Record decision" not in text(admin.get(page))
    refused = admin.post_form(f"{page}/resolve", {"outcome": "won", "note": "x"}, token_from=page)
    assert refused.status_code == 400 and "The card issuer decides a Stripe dispute" in text(refused)
