"""Disputes move only along Stripe's lifecycle: forward, and never out of a closed state."""
from __future__ import annotations

from app.payments import disputes
from app.payments.models import DISPUTE_STATUSES, Dispute
from app.payments.transitions import DISPUTE_MOVES, DISPUTE_TERMINAL
from tests.payments.disputes.conftest import events_of, make_dispute

VALID = sorted((current, new) for current, moves in DISPUTE_MOVES.items() for new in moves)
INVALID = sorted((current, new) for current in DISPUTE_STATUSES for new in DISPUTE_STATUSES
                 if new not in DISPUTE_MOVES[current])


def test_the_table_is_stripes_lifecycle():
    assert set(DISPUTE_MOVES) == set(DISPUTE_STATUSES)
    assert DISPUTE_TERMINAL == {"won", "lost", "warning_closed"}
    assert ("needs_response", "under_review") in VALID and ("warning_needs_response", "needs_response") in VALID
    assert ("under_review", "needs_response") in INVALID and ("lost", "won") in INVALID


def test_every_valid_move_happens_once_with_its_event(demo, payment):
    for current, new in VALID:
        dispute = make_dispute(demo, payment, current)
        before = events_of(demo, "dispute.closed"), events_of(demo, "dispute.updated")

        assert disputes.move(demo, dispute, new) is True, (current, new)
        demo.commit()

        assert demo.get(Dispute, dispute.id).status == new
        closed, updated = events_of(demo, "dispute.closed") - before[0], events_of(demo, "dispute.updated") - before[1]
        if new in DISPUTE_TERMINAL:
            assert (closed, updated) == (1, 0) and dispute.closed_at is not None, (current, new)
        else:
            assert (closed, updated) == (0, 1) and dispute.closed_at is None, (current, new)
        assert disputes.move(demo, dispute, new) is False  # the same status again is no move


def test_every_other_move_is_refused_and_changes_nothing(demo, payment):
    for current, new in INVALID:
        dispute = make_dispute(demo, payment, current)

        assert disputes.move(demo, dispute, new) is False, (current, new)
        demo.commit()

        assert demo.get(Dispute, dispute.id).status == current
    assert events_of(demo, "dispute.updated") == events_of(demo, "dispute.closed") == 0


def test_a_closed_dispute_never_changes(demo, payment):
    for terminal in sorted(DISPUTE_TERMINAL):
        dispute = make_dispute(demo, payment, terminal)

        assert not any(disputes.move(demo, dispute, status) for status in DISPUTE_STATUSES)
        assert dispute.status == terminal


def test_a_move_based_on_a_stale_read_is_refused(app, demo, payment):
    """Two workers read needs_response; one closes it as lost; the other's under_review must not win."""
    dispute = make_dispute(demo, payment, "needs_response")
    other = app.extensions["db"].session()
    try:
        stale = other.get(Dispute, dispute.id)
        assert disputes.move(demo, dispute, "lost")
        demo.commit()

        assert disputes.move(other, stale, "under_review") is False
        other.commit()
    finally:
        other.close()
    demo.expire_all()
    assert demo.get(Dispute, dispute.id).status == "lost"
