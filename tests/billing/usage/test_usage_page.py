"""Client → Usage: the period's figures against the plan, the daily charts, per model and per instance."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from app.billing.models import Subscription
from app.billing.usage import record_batch
from app.rental.models import Instance
from tests.billing.usage.conftest import NOW, gpu, requests
from tests.support import org


def _report(db, slug: str, records) -> None:
    record_batch(db, org(db, slug), records, actor_label="test")
    db.commit()


def _instance(db, name: str) -> str:
    return db.scalar(select(Instance.public_id).where(Instance.name == name))


def _page(client, email: str, path: str = "/client/usage", **kwargs) -> str:
    client.login(email)
    response = client.get(path, **kwargs)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_before_any_usage_the_page_says_so(client, demo_november):
    page = _page(client, "alice@acme.test")

    assert 'data-testid="empty"' in page and "No usage reported yet this period" in page
    assert 'data-testid="chart"' not in page
    text = _text(page)
    assert "Billing period 2026-11-01 00:00 UTC – 2026-12-01 00:00 UTC · Pro plan" in text
    assert "0.00 GPU-hours of 100.00 GPU-hours included · 0.0%" in text
    assert "0 requests of 1,000,000 requests included · 0.0%" in text


def test_figures_charts_and_breakdowns(client, demo_november):
    db = demo_november
    trainer, inference = _instance(db, "training-a100-1"), _instance(db, "inference-l4-1")
    _report(db, "acme", [gpu("g1", 200_000, trainer, at=NOW - timedelta(days=3)), gpu("g2", 100_000, inference),
                         requests("r1", 900_000, model="llama-3-70b", at=NOW - timedelta(days=1)),
                         requests("r2", 300_000, model="mistral-7b")])

    page = _page(client, "bob@acme.test")  # a member sees what owners see
    text = _text(page)

    assert "83.33 GPU-hours of 100.00 GPU-hours included · 83.3%" in text
    assert "1,200,000 requests of 1,000,000 requests included · 120.0%" in text
    # 200,000 requests beyond Pro's million at $0.20 per 1,000 = $40.00; GPU time is within the allowance.
    assert "Excess so far: 200,000 requests → $40.00" in text
    assert "Excess so far: 0.00 GPU-hours → $0.00" in text
    assert "$2.50 per GPU-hour" in text and "$0.20 per 1,000 requests" in text
    assert "80% reached 2026-11-14" in text and "100% reached 2026-11-14" in text
    assert 'aria-valuenow="83.3"' in page and 'aria-valuenow="100"' in page
    assert page.count('data-testid="chart"') == 2 and "<title id=\"chart-gpu_seconds-title\">" in page
    assert 'data-testid="chart-reference"' in page and "Included: 100.00 GPU-hours" in page
    assert "Nov 11 55.56 GPU-hours (55.56 GPU-hours that day)" in text
    assert "Nov 14 83.33 GPU-hours (27.78 GPU-hours that day)" in text
    assert "llama-3-70b 900,000 requests mistral-7b 300,000 requests" in text
    assert "training-a100-1 55.56 GPU-hours inference-l4-1 27.78 GPU-hours" in text


def test_each_organization_sees_only_its_own_usage(client, demo_november):
    db = demo_november
    _report(db, "acme", [requests("r1", 1234, model="acme-secret-model")])

    page = _page(client, "gina@globex.test")

    assert "acme-secret-model" not in page and 'data-testid="empty"' in page
    assert "Enterprise plan" in page and "0 requests of 50,000,000 requests included" in _text(page)


def test_the_model_table_pages_by_itself_with_htmx(client, demo_november):
    db = demo_november
    _report(db, "acme", [requests(f"r{n}", 1000 + n, model=f"model-{n:02d}") for n in range(25)])

    page = _page(client, "alice@acme.test")
    assert page.count('data-testid="usage-models-row"') == 20 and "Page 1 of 2" in page
    assert 'href="/client/usage?models_page=2"' in page and 'hx-target="#usage-models"' in page

    fragment = client.get("/client/usage?models_page=2",
                          headers={"HX-Request": "true", "HX-Target": "usage-models"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="usage-models"') and "<html" not in fragment
    assert fragment.count('data-testid="usage-models-row"') == 5 and "model-00" in fragment  # the smallest come last
    assert "← Previous" in fragment and "Next →" not in fragment

    full = client.get("/client/usage?models_page=2").get_data(as_text=True)  # without JavaScript: the whole page
    assert "<html" in full and full.count('data-testid="usage-models-row"') == 5
    assert client.get("/client/usage?models_page=99").status_code == 200  # past the end: the last page
    assert client.get("/client/usage?models_page=abc&instances_page=%C2%B2").status_code == 200


def test_without_a_subscription_nothing_is_metered(client, demo_november):
    demo_november.execute(update(Subscription).values(status="cancelled"))
    demo_november.commit()

    page = _page(client, "alice@acme.test")
    assert 'data-testid="no-subscription"' in page and "No current subscription" in page


def test_signed_out_visitors_are_sent_to_log_in(client, demo_november):
    response = client.get("/client/usage")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
