"""Idempotency keys at the service level, on both databases: the first request
owns the key, retries get its stored answer, a retry while it runs is a
conflict, other parameters are a mismatch, a 5xx answer frees the key, and of
requests claiming one key at the same instant exactly one becomes the owner.
"""
from __future__ import annotations

import threading

import pytest

from app.errors import DomainError
from app.payments import idempotency
from app.payments.idempotency import IdempotencyConflict, IdempotencyMismatch, Replay, claim, finish
from app.payments.models import IdempotencyRecord
from tests.payments.core_support import count
from tests.support import org

BODY = '{"amount": 1000, "currency": "usd"}'
PRINT = idempotency.fingerprint("POST", "/api/v1/payments/charge", BODY)


def test_fingerprint_separates_its_parts():
    assert idempotency.fingerprint("ab", "c") != idempotency.fingerprint("a", "bc")
    assert idempotency.fingerprint("POST", b"x") == idempotency.fingerprint("POST", "x")


def test_claim_finish_then_replay(demo):
    acme = org(demo, "acme").id
    owner = claim(demo, acme, "key-1", PRINT)
    assert isinstance(owner, int)
    finish(demo, owner, 201, '{"id": "pay_1"}')
    assert claim(demo, acme, "key-1", PRINT) == Replay(201, '{"id": "pay_1"}')
    assert claim(demo, acme, " key-1 ", PRINT) == Replay(201, '{"id": "pay_1"}')  # surrounding spaces ignored
    assert count(demo, IdempotencyRecord) == 1


def test_a_client_error_is_replayed_too(demo):
    acme = org(demo, "acme").id
    finish(demo, claim(demo, acme, "key-400", PRINT), 402, '{"error": "card_declined"}')
    assert claim(demo, acme, "key-400", PRINT) == Replay(402, '{"error": "card_declined"}')


def test_retry_while_the_first_runs_is_a_conflict(demo):
    acme = org(demo, "acme").id
    claim(demo, acme, "key-2", PRINT)
    with pytest.raises(IdempotencyConflict) as error:
        claim(demo, acme, "key-2", PRINT)
    assert error.value.status_code == 409 and error.value.field == "Idempotency-Key"


def test_same_key_other_parameters_is_a_mismatch(demo):
    acme = org(demo, "acme").id
    finish(demo, claim(demo, acme, "key-3", PRINT), 201, "{}")
    other = idempotency.fingerprint("POST", "/api/v1/payments/charge", '{"amount": 2000, "currency": "usd"}')
    with pytest.raises(IdempotencyMismatch) as error:
        claim(demo, acme, "key-3", other)
    assert error.value.field == "Idempotency-Key" and error.value.status_code == 400


def test_a_server_error_frees_the_key_for_a_retry(demo):
    acme = org(demo, "acme").id
    finish(demo, claim(demo, acme, "key-4", PRINT), 503, '{"error": "unavailable"}')
    assert count(demo, IdempotencyRecord) == 0
    assert isinstance(claim(demo, acme, "key-4", PRINT), int)


def test_keys_belong_to_one_organization(demo):
    acme, globex = org(demo, "acme").id, org(demo, "globex").id
    finish(demo, claim(demo, acme, "shared-key", PRINT), 201, "{}")
    assert isinstance(claim(demo, globex, "shared-key", PRINT), int)


@pytest.mark.parametrize("key", ["", "   ", None, "k" * 256])
def test_bad_key_names_the_header(demo, key):
    with pytest.raises(DomainError) as error:
        claim(demo, org(demo, "acme").id, key, PRINT)
    assert error.value.field == "Idempotency-Key"
    demo.rollback()
    assert count(demo, IdempotencyRecord) == 0


def claim_together(app, org_id: int, key: str, threads: int) -> list:
    """`threads` requests with one key, released at the same instant; each returns what claim gave or raised."""
    barrier = threading.Barrier(threads)
    results: list = []
    lock = threading.Lock()

    def one() -> None:
        session = app.extensions["db"].session()
        try:
            barrier.wait(timeout=30)
            result = claim(session, org_id, key, PRINT)
        except BaseException as error:  # noqa: BLE001 — collected and asserted on
            result = error
        finally:
            session.close()
        with lock:
            results.append(result)

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert len(results) == threads, "a claiming thread hung"
    return results


def test_simultaneous_claims_make_exactly_one_owner(app, demo):
    acme = org(demo, "acme").id
    results = claim_together(app, acme, "race-key", threads=2)
    owners = [r for r in results if isinstance(r, int) and not isinstance(r, bool)]
    assert len(owners) == 1
    assert [type(r) for r in results if r not in owners] == [IdempotencyConflict]

    many = claim_together(app, acme, "race-key-10", threads=10)
    assert len([r for r in many if isinstance(r, int)]) == 1
    assert all(isinstance(r, IdempotencyConflict) for r in many if not isinstance(r, int))
    assert count(demo, IdempotencyRecord) == 2


def test_simultaneous_retries_after_the_answer_all_replay(app, demo):
    acme = org(demo, "acme").id
    finish(demo, claim(demo, acme, "done-key", PRINT), 201, '{"id": "pay_9"}')
    assert claim_together(app, acme, "done-key", threads=8) == [Replay(201, '{"id": "pay_9"}')] * 8
