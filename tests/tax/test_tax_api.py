"""The tax API: POST /api/v1/tax/calculate for the calling organization now, and its
exemption certificates (POST and GET /api/v1/tax_exemptions). Bad input names the
field, scopes are enforced, and each organization sees only its own.
On SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date

import pytest

from app.billing.profile import get_profile
from app.security import api_keys
from app.tax import exemptions
from app.tax.models import TaxExemption
from tests.support import org
from tests.tax.support import audits, count

CALCULATE, EXEMPTIONS = "/api/v1/tax/calculate", "/api/v1/tax_exemptions"


@pytest.fixture
def caller(app, demo_rates):
    """caller(slug, scopes) → call(method, path, json=...) with a new key of that organization."""
    def make(slug="globex", scopes=("read", "write")):
        created = api_keys.create(demo_rates, org(demo_rates, slug).id, "tax test", scopes, actor_label="test")
        demo_rates.commit()
        http = app.test_client()
        return lambda method, path, **kwargs: http.open(
            path, method=method, headers={"Authorization": f"Bearer {created.secret}"}, **kwargs)
    return make


@pytest.fixture
def globex(caller, demo_rates):
    """globex (DE, business) without its VAT ID: it pays German VAT."""
    get_profile(demo_rates, org(demo_rates, "globex").id).tax_id = None
    demo_rates.commit()
    return caller("globex")


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()["error"]


def test_lines_are_taxed_and_rounded_one_by_one(globex):
    response = globex("POST", CALCULATE, json={"currency": "EUR", "lines": [
        {"amount": 250, "description": "GPU hours"}, {"amount": 250}, {"amount": -100, "description": "credit"}]})
    assert response.status_code == 200
    result = response.get_json()
    assert result["treatment"] == {"region": "EU", "country": "DE", "name": "VAT", "rate": "19",
                                   "reverse_charge": False, "exempt": False, "label": "VAT 19%", "note": None,
                                   "tax_id": None, "exemption": None}
    assert result["lines"] == [{"amount": 250, "tax": 48, "description": "GPU hours"},
                               {"amount": 250, "tax": 48, "description": ""},
                               {"amount": -100, "tax": -19, "description": "credit"}]
    assert (result["currency"], result["subtotal"], result["tax"], result["total"]) == ("eur", 400, 77, 477)
    assert result["object"] == "tax_calculation" and result["calculated_at"].startswith("2026-06-15T12:00:00")


def test_a_single_amount_under_reverse_charge_and_under_an_exemption(caller, demo_rates):
    call = caller("globex")  # the demo's globex: business with VAT ID DE123456789
    result = call("POST", CALCULATE, json={"currency": "eur", "amount": 4900}).get_json()
    assert (result["treatment"]["label"], result["treatment"]["reverse_charge"], result["tax"]) == \
        ("Reverse charge (VAT 0%)", True, 0)
    assert "Article 196" in result["treatment"]["note"] and result["treatment"]["tax_id"] == "DE123456789"

    made = exemptions.submit(demo_rates, org(demo_rates, "globex"), certificate_reference="BER-17",
                             expires_on=date(2027, 1, 31), actor_label="test")
    exemptions.approve(demo_rates, made, actor_label="admin@matrix.test")
    demo_rates.commit()
    treatment = call("POST", CALCULATE, json={"currency": "EUR", "amount": 4900}).get_json()["treatment"]
    assert (treatment["exempt"], treatment["exemption"], treatment["rate"], treatment["label"]) == \
        (True, "BER-17", "0", "Exempt (certificate BER-17)")


def test_each_organization_gets_its_own_treatment(caller, globex):
    acme = caller("acme", scopes=("read",))
    assert acme("POST", CALCULATE, json={"currency": "usd", "amount": 10000}).get_json()["treatment"]["label"] == \
        "Sales tax 0%"
    assert globex("POST", CALCULATE, json={"currency": "usd", "amount": 10000}).get_json()["tax"] == 1900


@pytest.mark.parametrize("payload, field", [
    ({"currency": "xyz", "amount": 100}, "currency"),
    ({"amount": 100}, "currency"),
    ({"currency": "eur", "amount": 10.5}, "amount"),
    ({"currency": "eur", "amount": "100"}, "amount"),
    ({"currency": "eur"}, "lines"),
    ({"currency": "eur", "lines": []}, "lines"),
    ({"currency": "eur", "lines": [{"amount": 1.5}]}, "lines.0.amount"),
    ({"currency": "eur", "lines": [{"amount": 1}], "amount": 1}, "amount"),
    ({"currency": "eur", "amount": 100, "rate": "0"}, "rate"),
])
def test_bad_calculations_name_the_field(globex, payload, field):
    assert error_of(globex("POST", CALCULATE, json=payload), 400)["field"] == field


def test_an_exemption_is_submitted_pending_and_listed(globex, demo_rates):
    response = globex("POST", EXEMPTIONS, json={"certificate_reference": "BER-17", "expires_on": "2027-12-31"})
    created = response.get_json()
    assert response.status_code == 201 and created["id"].startswith("tex_")
    assert (created["object"], created["status"], created["expires_on"], created["decision_note"]) == \
        ("tax_exemption", "pending", "2027-12-31", None)
    [audit] = audits(demo_rates, "tax_exemption.submitted")
    assert audit.actor_label.startswith("api:") and audit.target == created["id"]

    listed = globex("GET", EXEMPTIONS).get_json()
    assert [e["id"] for e in listed["data"]] == [created["id"]] and listed["has_more"] is False
    treatment = globex("POST", CALCULATE, json={"currency": "eur", "amount": 100}).get_json()["treatment"]
    assert treatment["exempt"] is False and treatment["label"] == "VAT 19%"  # pending changes nothing


@pytest.mark.parametrize("payload, field", [
    ({"certificate_reference": "", "expires_on": "2027-12-31"}, "certificate_reference"),
    ({"certificate_reference": "x" * 101, "expires_on": "2027-12-31"}, "certificate_reference"),
    ({"certificate_reference": "BER-17", "expires_on": "2026-06-15"}, "expires_on"),
    ({"certificate_reference": "BER-17", "expires_on": "31/12/2027"}, "expires_on"),
    ({"certificate_reference": "BER-17"}, "expires_on"),
])
def test_bad_exemptions_name_the_field_and_write_nothing(globex, demo_rates, payload, field):
    assert error_of(globex("POST", EXEMPTIONS, json=payload), 400)["field"] == field
    assert count(demo_rates, TaxExemption) == 0


def test_scopes_and_tenant_isolation(caller, demo_rates):
    reader, hooks, acme = caller("globex", ("read",)), caller("globex", ("webhooks",)), caller("acme")
    body = {"certificate_reference": "BER-17", "expires_on": "2027-12-31"}
    assert error_of(reader("POST", EXEMPTIONS, json=body), 403)["message"] == \
        "This API key lacks the 'write' scope."
    assert error_of(hooks("POST", CALCULATE, json={"currency": "eur", "amount": 1}), 403)["type"] == \
        "permission_error"
    assert error_of(hooks("GET", EXEMPTIONS), 403)["type"] == "permission_error"
    assert count(demo_rates, TaxExemption) == 0

    theirs = acme("POST", EXEMPTIONS, json=body).get_json()["id"]
    assert reader("GET", EXEMPTIONS).get_json()["data"] == []
    assert error_of(reader("GET", EXEMPTIONS, query_string={"starting_after": theirs}), 400)["field"] == \
        "starting_after"
