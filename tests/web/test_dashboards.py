"""Dashboards show live figures from the database."""
import re

from sqlalchemy import select, update

from app.accounts.models import Organization
from app.billing.models import Subscription
from app.rental.models import Instance
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.events import emit
from tests.support import PortalClient
from tests.webhooks.fixtures import deliver_due, org_id
from tests.webhooks.receiver import Reply


def figure(body: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">([^<]+)<', body)
    assert match, testid
    return match.group(1).strip()


def test_client_dashboard_follows_the_database(demo, client, db):
    client.login("alice@acme.test")
    body = client.get("/client/").get_data(as_text=True)
    assert figure(body, "tier") == "Pro"
    assert figure(body, "running-instances") == "2"
    assert figure(body, "open-items") == "0"
    assert "Pro plan · $49.00/month" in body

    acme = db.scalars(select(Organization).where(Organization.slug == "acme")).one()
    db.execute(update(Instance).where(Instance.name == "notebook-t4").values(status="running"))
    db.execute(update(Instance).where(Instance.name == "inference-l4-1").values(status="suspended"))
    db.execute(update(Subscription).where(Subscription.org_id == acme.id).values(status="past_due"))
    db.commit()
    body = client.get("/client/").get_data(as_text=True)
    assert figure(body, "running-instances") == "2"
    assert figure(body, "open-items") == "2"
    assert "1 suspended instance" in body and "past due" in body


def test_partner_dashboard_lists_referred_customers(demo, client):
    client.login("pat@northwind.test")
    body = client.get("/partner/").get_data(as_text=True)
    assert figure(body, "referred-count") == "1"
    assert "Acme Corporation" in body and "Globex" not in body


def test_admin_dashboard_counts(demo, client, db):
    client.login_admin()
    body = client.get("/admin/").get_data(as_text=True)
    assert (figure(body, "customers"), figure(body, "partners"), figure(body, "users")) == ("2", "1", "5")
    assert figure(body, "running") == "5"
    db.add(Organization(slug="initech", name="Initech", kind="customer", tier="free", country="US"))
    db.commit()
    assert figure(client.get("/admin/").get_data(as_text=True), "customers") == "3"


def test_admin_organization_list_paginates(demo, client, db):
    for n in range(30):
        db.add(Organization(slug=f"org-{n:02d}", name=f"Org {n:02d}", kind="customer", tier="free", country="US"))
    db.commit()
    client.login_admin()
    first = client.get("/admin/organizations").get_data(as_text=True)
    assert "Page 1 of 2 · 33 organizations" in first and "Next →" in first
    second = client.get("/admin/organizations?page=2", headers={"HX-Request": "true"})
    body = second.get_data(as_text=True)
    assert "<html" not in body and "Page 2 of 2" in body and "← Previous" in body
    assert client.get("/admin/organizations?page=3").status_code == 404
    assert client.get("/admin/organizations?page=abc").status_code == 404


def test_dashboards_tell_the_owner_about_automatically_disabled_endpoints(demo, client, make_endpoint, receiver):
    gone, _ = make_endpoint(receiver.url + "/gone")
    make_endpoint(receiver.url + "/fine", event_types=["payment.failed"])  # gets nothing, stays enabled
    partner_endpoint, _ = make_endpoint(receiver.url + "/partner", slug="northwind")
    client.login("alice@acme.test")
    assert 'data-testid="dashboard-disabled-endpoints"' not in client.get("/client/").get_data(as_text=True)

    receiver.default = Reply(status=410)
    emit(demo, org_id(demo, "acme"), "invoice.paid", EVENT_TYPES["invoice.paid"].example)
    demo.commit()
    deliver_due(client.app)

    body = client.get("/client/").get_data(as_text=True)
    assert figure(body, "open-items") == "1"
    assert "1 webhook endpoint disabled automatically" in body and "/fine" not in body
    notice = body[body.index('data-testid="dashboard-disabled-endpoints"'):]
    assert f"/client/webhooks/{gone.public_id}" in notice and "410 Gone" in notice
    assert "/partner/" not in notice

    partner = PortalClient(client.app)
    partner.login("pat@northwind.test")
    assert 'data-testid="dashboard-disabled-endpoints"' not in partner.get("/partner/").get_data(as_text=True)
    assert partner_endpoint.enabled
