"""After-commit wake-ups for the delivery workers.

`emit()` and friends only write rows; they note in the session which endpoints
(and replays) have new work. When, and only when, that transaction commits,
the registered waker enqueues RQ jobs. If Redis is down at that moment nothing
is lost: the rows are the record, and the sweeper enqueues them later.
"""
from __future__ import annotations

import logging
from typing import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

_ENDPOINTS = "webhooks.endpoints_to_wake"
_REPLAYS = "webhooks.replays_to_start"


def wake_endpoints_after_commit(session: Session, endpoint_ids) -> None:
    session.info.setdefault(_ENDPOINTS, set()).update(endpoint_ids)


def start_replay_after_commit(session: Session, replay_id: int) -> None:
    session.info.setdefault(_REPLAYS, set()).add(replay_id)


def install(factory: sessionmaker, wake_endpoint: Callable[[int], None],
            start_replay: Callable[[int], None]) -> None:
    """Call the wakers after each commit of sessions made by `factory`."""

    @event.listens_for(factory, "after_commit")
    def _after_commit(session: Session) -> None:
        endpoints = session.info.pop(_ENDPOINTS, ())
        replays = session.info.pop(_REPLAYS, ())
        try:
            for endpoint_id in sorted(endpoints):
                wake_endpoint(endpoint_id)
            for replay_id in sorted(replays):
                start_replay(replay_id)
        except Exception as exc:  # noqa: BLE001 — the committed rows are the record
            log.warning("Could not enqueue webhook work (%s); the sweeper will pick it up.", exc)

    @event.listens_for(factory, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop(_ENDPOINTS, None)
        session.info.pop(_REPLAYS, None)
