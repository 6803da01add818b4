"""Periodic housekeeping for login sessions."""
from __future__ import annotations

from flask import current_app

from app.accounts import sessions
from app.jobs import job_session


def expire_sessions() -> dict:
    """Revoke expired sessions and delete old revoked ones; idempotent."""
    policy = sessions.SessionPolicy(current_app.config["SESSION_IDLE_TIMEOUT"],
                                    current_app.config["SESSION_ABSOLUTE_TIMEOUT"])
    with job_session() as session:
        expired, purged = sessions.expire_and_purge(session, policy)
        session.commit()
    return {"expired": expired, "purged": purged}
