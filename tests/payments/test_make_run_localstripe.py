"""`make run` without STRIPE_API_BASE: scripts/run.py starts localstripe, gives the
portal throwaway keys, and points localstripe's webhook sender at a URL with a
secret, so the events it sends are signed the way Stripe's SDK verifies. The
whole `make run` (gunicorn, worker, scheduler) is checked by hand, not here.
"""
from __future__ import annotations

import importlib.util
import json

import pytest
import stripe

from tests.conftest import ROOT
from tests.webhooks.receiver import Receiver


@pytest.fixture
def run_script(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("run_script", ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "LOCALSTRIPE_LOG", tmp_path / "localstripe.log")
    return module


def test_localstripe_started_by_make_run_signs_events_for_the_portal(run_script):
    processes = []
    try:
        base = run_script.start_localstripe(processes)
        settings = run_script.localstripe_settings(base)
        assert settings["STRIPE_API_BASE"] == base
        assert settings["STRIPE_SECRET_KEY"].startswith("sk_test_local_")
        assert settings["STRIPE_WEBHOOK_SECRET"].startswith("whsec_")
        assert settings != run_script.localstripe_settings(base)  # fresh secrets each run

        with Receiver() as receiver:
            run_script.register_stripe_webhook(base, receiver.url, settings["STRIPE_WEBHOOK_SECRET"])
            client = stripe.StripeClient(settings["STRIPE_SECRET_KEY"], base_addresses={"api": base},
                                         max_network_retries=0)
            intent = client.v1.payment_intents.create(params={"amount": 1234, "currency": "usd",
                                                              "payment_method": "pm_card_visa", "confirm": True})
            received = receiver.wait_for(1)

        for sent in received:
            event = stripe.Webhook.construct_event(sent.body.decode(), sent.headers["stripe-signature"],
                                                   settings["STRIPE_WEBHOOK_SECRET"])
            assert event.type.startswith("payment_intent.")
            assert json.loads(sent.body)["data"]["object"]["id"] == intent.id
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(sent.body.decode(), sent.headers["stripe-signature"], "whsec_other")
        assert "localstripe" in run_script.banner("5000", base) and base in run_script.banner("5000", base)
        assert "localstripe" not in run_script.banner("5000")
    finally:
        run_script.stop_all(processes)
    assert processes and all(proc.poll() is not None for proc in processes)
