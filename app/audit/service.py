"""Write audit events. The caller's transaction commits them with the action."""
from __future__ import annotations

from sqlalchemy.orm import Session

from app.audit.context import current_origin
from app.audit.models import AuditEvent


def record(session: Session, action: str, *, actor_label: str, actor_user_id: int | None = None,
           org_id: int | None = None, target: str | None = None, ip_address: str | None = None,
           details: dict | None = None) -> AuditEvent:
    """Add an audit event to `session` (never logs secrets: callers pass ids, not values).

    The address and user agent default to the request being served (see
    `app.audit.context`).
    """
    origin = current_origin()
    event = AuditEvent(
        action=action, actor_label=actor_label, actor_user_id=actor_user_id, org_id=org_id,
        target=target, ip_address=ip_address or origin.ip_address, user_agent=origin.user_agent,
        details=details or {},
    )
    session.add(event)
    return event
