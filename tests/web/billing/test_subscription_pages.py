"""Client → Subscription: the plan, the comparison, a plan change shown before it is made, cancel and resume."""
from __future__ import annotations

from sqlalchemy import select

from app.billing.models import InvoiceItem
from app.rental.service import current_subscription
from tests.support import org
from tests.web.payments.support import text

PAGE = "/client/subscription"


def _subscription(db):
    db.expire_all()
    return current_subscription(db, org(db, "acme").id)


def test_the_page_shows_the_plan_the_comparison_and_the_upcoming_invoice(alice):
    page = text(alice.get(PAGE))
    assert "Pro plan" in page and "$49.00 a month" in page
    assert 'data-testid="plan-comparison"' in page and "$1,999.00" in page and "2,000 GPU-hours" in page
    assert "$2.50 per GPU-hour" in page and "$0.20 per 1,000 requests" in page
    assert 'data-testid="upcoming-line" data-kind="plan"' in page and "Pro plan, 01 Nov 2026 – 01 Dec 2026" in page
    assert 'data-testid="switch-enterprise"' in page


def test_switching_shows_the_proration_first_and_changes_nothing(alice, acme):
    page = text(alice.get(f"{PAGE}/change?plan=enterprise"))
    assert 'data-testid="proration-credit">-$24.50<' in page
    assert 'data-testid="proration-charge">$999.50<' in page
    assert 'data-testid="proration-net"><strong>$975.00<' in page
    assert "1,296,000 of 2,592,000 seconds left" in page
    assert _subscription(acme).plan.code == "pro"
    fragment = text(alice.get(f"{PAGE}/change?plan=enterprise", headers={"HX-Request": "true"}))
    assert "<html" not in fragment
    assert 'data-testid="plan-change-panel"' in fragment


def test_confirming_changes_the_plan_and_the_upcoming_invoice_shows_the_prorated_lines(alice, acme):
    response = alice.post_form(f"{PAGE}/change", {"plan": "enterprise"}, token_from=f"{PAGE}/change?plan=enterprise")
    assert response.status_code == 302 and response.headers["Location"].endswith(PAGE)

    page = text(alice.get(PAGE))
    assert "You are now on the Enterprise plan. The change adds $975.00 to this period" in page
    assert "Unused time on Pro after 16 Nov 2026 00:00 UTC" in page
    assert "Remaining time on Enterprise after 16 Nov 2026 00:00 UTC" in page
    assert 'data-testid="upcoming-total"><strong>$1,024.00<' in page  # 49.00 − 24.50 + 999.50, no US tax
    assert _subscription(acme).plan.code == "enterprise" and org(acme, "acme").tier == "enterprise"


def test_a_refused_change_says_why(alice, acme):
    response = alice.get(f"{PAGE}/change?plan=pro")
    assert response.status_code == 400 and "already on the Pro plan" in text(response)
    response = alice.get(f"{PAGE}/change?plan=diamond", headers={"HX-Request": "true"})
    assert response.status_code == 400 and "Unknown plan" in text(response)
    response = alice.post_form(f"{PAGE}/change", {"plan": "pro"}, token_from=PAGE)
    assert response.status_code == 400 and "already on the Pro plan" in text(response)
    assert acme.scalars(select(InvoiceItem)).all() == []


def test_members_see_the_subscription_but_cannot_change_it(bob, acme):
    page = text(bob.get(PAGE))
    assert "Pro plan" in page and "Only the organization's owners can change the subscription." in page
    assert 'data-testid="switch-enterprise"' not in page
    response = bob.post_form(f"{PAGE}/change", {"plan": "enterprise"}, token_from=PAGE)
    assert response.status_code == 403
    assert bob.post_form(f"{PAGE}/cancel", {}, token_from=PAGE).status_code == 403
    assert _subscription(acme).plan.code == "pro"


def test_a_change_without_the_csrf_token_is_refused(alice, acme):
    response = alice.http.post(f"{PAGE}/change", data={"plan": "enterprise"})
    assert response.status_code == 400
    assert _subscription(acme).plan.code == "pro"


def test_cancel_at_period_end_then_resume(alice, acme):
    page = text(alice.get(PAGE))
    assert "hx-confirm=\"Cancel the Pro plan at the end of this period" in page
    assert "Cancel at period end" in text(alice.get(f"{PAGE}/cancel"))  # the no-JavaScript confirmation

    alice.post_form(f"{PAGE}/cancel", {}, token_from=PAGE)
    page = text(alice.get(PAGE))
    assert "The subscription ends on 01 Dec 2026" in page and "Resume subscription" in page
    assert _subscription(acme).cancel_at_period_end is True

    alice.post_form(f"{PAGE}/resume", {}, token_from=PAGE)
    assert "The subscription continues: it renews on 01 Dec 2026." in text(alice.get(PAGE))
    assert _subscription(acme).cancel_at_period_end is False
