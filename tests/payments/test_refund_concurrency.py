"""The refund invariant under load: 20 refund requests on one payment at the same
instant, each in its own thread and database session, on PostgreSQL and on
SQLite, then sent to localstripe. The refunded total never exceeds what was
captured, every refusal is the user-facing "more than … left" (no database
error), and the CHECK constraint refuses a write that would break the invariant.
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.errors import DomainError
from app.payments import refunds
from app.payments.models import Payment, Refund
from tests.payments.core_support import ACTOR, events, place, stripe_refunds

THREADS = 20
CAPTURED = 10000


@dataclass
class Outcome:
    succeeded: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def refund_concurrently(app, payment_id: int, amounts: list[int | None], refund_type: str = "partial") -> Outcome:
    """One thread per amount, released together by a barrier; each requests, commits, executes."""
    outcome = Outcome()
    barrier = threading.Barrier(len(amounts))

    def one(amount: int) -> None:
        session = app.extensions["db"].session()
        try:
            barrier.wait(timeout=30)
            payment = session.get(Payment, payment_id)
            try:
                made = refunds.request(session, app.config, payment, refund_type=refund_type, reason="duplicate_charge",
                                       amount=amount, actor_label=ACTOR)
                session.commit()
            except DomainError as error:
                session.rollback()
                with outcome.lock:
                    outcome.refused.append((amount, f"{error.field}: {error.message}"))
                return
            made = refunds.execute(session, app.config, made)
            assert made.status == "succeeded", made.failure_message
            with outcome.lock:
                outcome.succeeded.append(made.amount)
        except BaseException as error:  # noqa: BLE001 — any other failure is the test's finding
            with outcome.lock:
                outcome.errors.append(error)
        finally:
            session.close()

    threads = [threading.Thread(target=one, args=(amount,)) for amount in amounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a refund thread hung"
    assert outcome.errors == [], [repr(e) for e in outcome.errors]
    return outcome


def check_books(app, db, payment: Payment, outcome: Outcome) -> Payment:
    """The invariant and the agreement between our rows, the events and localstripe."""
    db.expire_all()
    stored = db.get(Payment, payment.id)
    assert sum(outcome.succeeded) <= stored.amount_captured == CAPTURED
    assert stored.amount_refund_pending == 0
    assert stored.amount_refunded + stored.amount_refund_pending <= stored.amount_captured
    succeeded_rows = db.scalar(select(func.coalesce(func.sum(Refund.amount), 0))
                               .where(Refund.payment_id == payment.id, Refund.status == "succeeded"))
    assert succeeded_rows == stored.amount_refunded == sum(outcome.succeeded)
    assert db.scalar(select(func.count()).select_from(Refund)) == len(outcome.succeeded)  # refusals leave no row
    assert sorted(r.amount for r in stripe_refunds(app, stored)) == sorted(outcome.succeeded)
    assert len(events(db, "refund.created")) == len(events(db, "payment.refunded")) == len(outcome.succeeded)
    return stored


def assert_refused_for_lack_of_money(outcome: Outcome) -> None:
    for _amount, message in outcome.refused:
        assert message.startswith("amount: The amount is more than the ") and "left to refund" in message


def test_twenty_concurrent_refunds_of_1500_on_10000(app, demo):
    payment = place(app, demo, amount=CAPTURED)
    outcome = refund_concurrently(app, payment.id, [1500] * THREADS)

    assert len(outcome.succeeded) == CAPTURED // 1500 == 6
    assert len(outcome.refused) == THREADS - 6
    assert_refused_for_lack_of_money(outcome)
    stored = check_books(app, demo, payment, outcome)
    assert (stored.amount_refunded, stored.refundable) == (9000, 1000)


def test_twenty_concurrent_refunds_of_random_amounts(app, demo):
    payment = place(app, demo, amount=CAPTURED)
    amounts = [random.Random(seed).randint(1, 3000) for seed in range(THREADS)]
    outcome = refund_concurrently(app, payment.id, amounts)

    stored = check_books(app, demo, payment, outcome)
    assert_refused_for_lack_of_money(outcome)
    assert outcome.succeeded and len(outcome.succeeded) + len(outcome.refused) == THREADS
    # What is left only shrinks, so each refusal was right: it asked for more than is left even now.
    assert all(amount > stored.refundable for amount, _message in outcome.refused)


def test_twenty_concurrent_full_refunds_refund_once(app, demo):
    payment = place(app, demo, amount=CAPTURED)
    outcome = refund_concurrently(app, payment.id, [None] * THREADS, refund_type="full")

    assert outcome.succeeded == [CAPTURED]
    assert len(outcome.refused) == THREADS - 1
    # The loser read 10000 as refundable before the winner's reservation, or 0 after it.
    assert all(m.startswith("amount: ") for _a, m in outcome.refused)
    assert check_books(app, demo, payment, outcome).refundable == 0


@pytest.mark.parametrize("column", ["amount_refunded", "amount_refund_pending"])
def test_check_constraint_refuses_refunding_more_than_captured(app, demo, column):
    payment = place(app, demo, amount=CAPTURED)
    with pytest.raises(IntegrityError):
        demo.execute(update(Payment.__table__).where(Payment.__table__.c.id == payment.id)
                     .values({column: CAPTURED + 1}))
    demo.rollback()

    demo.execute(update(Payment.__table__).where(Payment.__table__.c.id == payment.id)
                 .values(amount_refunded=6000, amount_refund_pending=4000))  # exactly captured: allowed
    demo.commit()
    with pytest.raises(IntegrityError):
        demo.execute(update(Payment.__table__).where(Payment.__table__.c.id == payment.id)
                     .values({column: Payment.__table__.c[column] + 1}))
    demo.rollback()
