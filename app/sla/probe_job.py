"""The probe as an RQ job, run every minute by the scheduler (app/schedule.py).

It takes no arguments and is safe to run twice: a second run in the same minute requests nothing already probed
and records nothing twice (UNIQUE per instance, source and minute). The SSRF policy and the CA bundle are the
webhook delivery's (`WEBHOOK_ALLOW_PRIVATE`, `WEBHOOK_CA_BUNDLE`): health URLs are fetched from our servers just
as webhooks are sent from them.
"""
from __future__ import annotations

from flask import current_app

from app import clock
from app.jobs import job_session
from app.sla.probe import probe_instances
from app.webhooks import settings as webhook_settings

def probe_job() -> dict:
    """Periodic (every 60 s): check every running instance's health URL for the current minute."""
    settings = webhook_settings.current()
    timeout = current_app.config["SLA_PROBE_TIMEOUT"]
    with job_session() as session:
        run = probe_instances(session, clock.utcnow(), allow=settings.allow_private, timeout=timeout,
                              ca_bundle=settings.ca_bundle)
        session.commit()
    return run.as_dict()
