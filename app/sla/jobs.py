"""RQ jobs of SLA monitoring. The evaluation takes no arguments, reads the rollups afresh and is safe to run twice
(alerts open once per the partial UNIQUE, months close once per the report's UNIQUE)."""
from __future__ import annotations

from app import clock
from app.jobs import job_session
from app.sla.alerts import evaluate_alerts
from app.sla.credits import close_month
from app.sla.months import month_due_for_closing


def evaluate_sla() -> dict:
    """Periodic: judge the last hour (open and resolve alerts), then close the previous month once its grace
    has passed (reports and service credits). Each step commits on its own: an alert is not held back by a
    month close that fails."""
    now = clock.utcnow()
    with job_session() as session:
        run = evaluate_alerts(session, now)
        session.commit()
        closed = None
        month = month_due_for_closing(now)
        if month is not None:
            closed = close_month(session, month, now)
            session.commit()
    return {"alerts_opened": len(run.opened), "alerts_resolved": len(run.resolved),
            "months_reported": len(closed.reports) if closed else 0,
            "credits_issued": len(closed.credits) if closed else 0}
