"""Which status moves are allowed, for payments, refunds and disputes.

One table per object, used by our own actions and by inbound Stripe events
alike: an event that arrives late (a `payment_intent.created` after the
`succeeded`) asks for a move that is not in the table and changes nothing, so
nothing ever moves backwards and terminal states stay put.
"""
from __future__ import annotations

PAYMENT_MOVES: dict[str, frozenset[str]] = {
    "processing": frozenset({"requires_capture", "succeeded", "failed", "canceled"}),
    "requires_capture": frozenset({"succeeded", "canceled"}),
    # Stripe may still confirm a payment we recorded as failed after a lost answer.
    "failed": frozenset({"requires_capture", "succeeded"}),
    "succeeded": frozenset(),
    "canceled": frozenset(),
}

REFUND_MOVES: dict[str, frozenset[str]] = {
    "pending": frozenset({"succeeded", "failed", "canceled"}),
    "succeeded": frozenset(),
    "failed": frozenset(),
    "canceled": frozenset(),
}

DISPUTE_MOVES: dict[str, frozenset[str]] = {
    "warning_needs_response": frozenset({"warning_under_review", "warning_closed", "needs_response"}),
    "warning_under_review": frozenset({"warning_closed", "needs_response"}),
    "needs_response": frozenset({"under_review", "won", "lost"}),
    "under_review": frozenset({"won", "lost"}),
    "warning_closed": frozenset(),
    "won": frozenset(),
    "lost": frozenset(),
}
DISPUTE_TERMINAL = frozenset(status for status, moves in DISPUTE_MOVES.items() if not moves)


def can_move(table: dict[str, frozenset[str]], current: str, new: str) -> bool:
    """True when `current → new` is a forward move (the same status is not a move)."""
    return new in table.get(current, frozenset())
