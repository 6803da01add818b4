"""The availability probe against real HTTP receivers on 127.0.0.1: a 2xx is up, anything else (an error status,
a redirect, no answer in time, a refused URL) is down, one sample per instance and minute, and the minute's
rollup counts the checks."""
from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.sla.models import SlaMinute, SlaSample
from app.sla.probe import probe_instances
from app.sla.probe_job import probe_job
from app.webhooks.targets import AllowPrivate
from tests.sla.conftest import NOW
from tests.webhooks.receiver import Receiver, Reply, tls_context

LOCAL = AllowPrivate.parse("127.0.0.1")  # as the test apps' WEBHOOK_ALLOW_PRIVATE


def answering_get(receiver: Receiver) -> Receiver:
    """The webhook receiver answers POSTs; a health check is a GET, answered the same way."""
    handler = receiver.server.RequestHandlerClass
    handler.do_GET = handler.do_POST
    return receiver


@pytest.fixture
def health():
    with Receiver() as running:
        yield answering_get(running)


@pytest.fixture
def second():
    with Receiver() as running:
        yield answering_get(running)


def set_url(db, instance, url, status="running"):
    instance.health_url, instance.status = url, status
    db.commit()


def samples(db, instance) -> list[SlaSample]:
    db.expire_all()
    return list(db.scalars(select(SlaSample).where(SlaSample.instance_id == instance.id)))


def minute_row(db, org) -> SlaMinute | None:
    db.expire_all()
    return db.get(SlaMinute, (org.id, NOW))


def probe(db, now=NOW, allow=LOCAL, **kwargs):
    run = probe_instances(db, now, allow=allow, **kwargs)
    db.commit()
    return run


def test_a_200_is_an_available_sample_for_the_minute_and_a_500_a_failed_check(db, customers, health, second):
    second.default = Reply(status=500)
    set_url(db, customers.acme.instance, health.url + "?token=s3cret")
    set_url(db, customers.globex.instance, second.url)
    run = probe(db, NOW + timedelta(seconds=17))

    assert (run.probed, run.up, run.down, run.recorded) == (2, 1, 1, 2)
    [up] = samples(db, customers.acme.instance)
    assert (up.available, up.source, up.sampled_at, up.requests) == (True, "probe", NOW, 0)
    [down] = samples(db, customers.globex.instance)
    assert down.available is False
    assert [r.reason for r in run.results if not r.available] == ["HTTP 500"]
    [request] = health.requests
    assert request.path == "/hooks?token=s3cret" and request.headers["host"] == f"127.0.0.1:{health.port}"
    acme, globex = minute_row(db, customers.acme.org), minute_row(db, customers.globex.org)
    assert (acme.samples, acme.checks, acme.checks_failed) == (1, 1, 0)
    assert (globex.samples, globex.checks, globex.checks_failed) == (1, 1, 1)


def test_probing_twice_in_a_minute_requests_and_records_once(db, customers, health):
    set_url(db, customers.acme.instance, health.url)
    first = probe(db, NOW)
    again = probe(db, NOW + timedelta(seconds=40))
    assert (first.recorded, again.probed, again.already_probed, again.recorded) == (1, 0, 1, 0)
    assert len(health.requests) == 1 and len(samples(db, customers.acme.instance)) == 1
    row = minute_row(db, customers.acme.org)
    assert (row.samples, row.checks, row.checks_failed) == (1, 1, 0)

    next_minute = probe(db, NOW + timedelta(minutes=1))
    assert next_minute.recorded == 1 and len(samples(db, customers.acme.instance)) == 2


def test_a_receiver_that_does_not_answer_in_time_is_down_and_does_not_hold_the_run(db, customers, health, second):
    health.default = Reply(delay=5)
    set_url(db, customers.acme.instance, health.url)
    set_url(db, customers.globex.instance, second.url)
    started = time.monotonic()
    run = probe(db, timeout=0.5)
    assert time.monotonic() - started < 3
    slow = next(r for r in run.results if r.instance == customers.acme.instance.public_id)
    assert slow.available is False and "0.5 s" in slow.reason
    assert [s.available for s in samples(db, customers.acme.instance)] == [False]
    assert [s.available for s in samples(db, customers.globex.instance)] == [True]


def test_a_receiver_that_trickles_is_cut_at_the_deadline(db, customers, health):
    health.default = Reply(trickle=0.2, trickle_for=4)
    set_url(db, customers.acme.instance, health.url)
    started = time.monotonic()
    run = probe(db, timeout=1.0)
    assert time.monotonic() - started < 3
    assert (run.down, run.results[0].reason) == (1, "no answer within 1 s")


@pytest.mark.parametrize("template", ["https://127.0.0.1:{port}/hooks", "http://localhost:{port}/hooks",
                                      "http://127.0.0.1:{port}/hooks"])
def test_a_private_address_not_allowed_is_a_failed_check_without_a_request(db, customers, health, template):
    set_url(db, customers.acme.instance, template.format(port=health.port))
    run = probe(db, allow=AllowPrivate())  # production: WEBHOOK_ALLOW_PRIVATE empty
    [result] = run.results
    assert result.available is False and result.reason.startswith("refused: ")
    assert [s.available for s in samples(db, customers.acme.instance)] == [False]
    assert minute_row(db, customers.acme.org).checks_failed == 1
    time.sleep(0.2)
    assert health.requests == [] and health.connections == 0


def test_a_redirect_is_not_followed(db, customers, health, second):
    health.default = Reply(status=302, headers={"location": second.url})
    set_url(db, customers.acme.instance, health.url)
    [result] = probe(db).results
    assert (result.available, result.status_code) == (False, 302) and "not followed" in result.reason
    assert second.requests == []


def test_https_is_verified_for_the_name_in_the_url(db, customers, ca):
    allow = AllowPrivate.parse("localhost")
    with Receiver(tls=tls_context(ca, "localhost")) as receiver:
        answering_get(receiver)
        set_url(db, customers.acme.instance, receiver.url)
        trusted = probe(db, allow=allow, ca_bundle=ca.bundle_path)
        untrusted = probe(db, NOW + timedelta(minutes=1), allow=allow)  # the system CAs do not know ours
    assert trusted.results[0].available is True
    assert untrusted.results[0].available is False and untrusted.results[0].reason.startswith("TLS error")


def test_stopped_instances_and_instances_without_a_url_are_not_probed(db, customers, health):
    set_url(db, customers.acme.instance, health.url, status="stopped")
    run = probe(db)
    assert (run.probed, run.recorded) == (0, 0)
    assert health.requests == [] and samples(db, customers.acme.instance) == []
    assert db.scalar(select(func.count()).select_from(SlaSample)) == 0


def test_query_strings_stay_out_of_the_logs(db, customers, health, caplog):
    health.default = Reply(status=503)
    set_url(db, customers.acme.instance, health.url + "?token=s3cret")
    with caplog.at_level(logging.DEBUG, logger="app.sla.probe"):
        probe(db)
    assert "down: HTTP 503" in caplog.text and "/hooks?…" in caplog.text
    assert "s3cret" not in caplog.text


def test_the_job_probes_with_the_apps_policy_and_reports_a_summary(app, db, customers, health):
    set_url(db, customers.acme.instance, health.url)
    with app.app_context():
        summary = probe_job()
    assert summary == {"minute": NOW.isoformat(), "probed": 1, "up": 1, "down": 0, "already_probed": 0,
                       "recorded": 1, "duplicates": 0, "not_recorded": 0}
    assert [s.available for s in samples(db, customers.acme.instance)] == [True]
