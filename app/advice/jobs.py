"""RQ job of cost advice. It takes no arguments, reads usage afresh and is safe to run twice: a finding found again
updates its row, a new one is inserted once (the partial UNIQUE), a gone one closes once (guarded UPDATE)."""
from __future__ import annotations

from app import clock
from app.advice.service import recompute_all
from app.jobs import job_session


def recompute_advice() -> dict:
    """Daily: recompute every customer's recommendations, committing organization by organization."""
    with job_session() as session:
        result = recompute_all(session, clock.utcnow())
    return {"organizations": result.organizations, "opened": result.opened, "updated": result.updated,
            "reopened": result.reopened, "closed": result.closed, "failed": result.failed}
