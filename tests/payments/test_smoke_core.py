from app.accounts.models import Organization
from sqlalchemy import select
from app.payments import service, refunds


def test_core(app, demo):
    org = demo.scalars(select(Organization).where(Organization.slug == "acme")).one()
    p = service.place(demo, app.config, org, order_id="o1", amount=10000, currency="usd",
                      payment_method="pm_card_visa", capture=False, actor_label="t")
    assert p.status == "requires_capture", p.failure_message
    service.capture(demo, app.config, p, 6000, actor_label="t")
    assert (p.status, p.amount_captured, p.platform_fee, p.gateway_fee) == ("succeeded", 6000, 90, 204)
    r = refunds.request(demo, app.config, p, refund_type="partial", reason="other", amount=1000, actor_label="t")
    demo.commit()
    refunds.execute(demo, app.config, r)
    assert r.status == "succeeded" and p.amount_refunded == 1000
    d = service.place(demo, app.config, org, order_id="o2", amount=500, currency="usd",
                      payment_method="pm_card_visa_chargeDeclined", capture=True, actor_label="t")
    assert d.status == "failed" and "declined" in d.failure_message
