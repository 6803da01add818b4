"""The daily cost-advice job on a real RQ worker, with the real rules: an idle instance gets one recommendation
however often the job (or `flask recompute-advice`) runs, and it closes itself when the evidence is gone."""
from __future__ import annotations

from sqlalchemy import delete, select

from app.advice.jobs import recompute_advice
from app.advice.models import Recommendation
from app.jobs import enqueue, run_worker
from app.sla.models import InstanceHour
from tests.advice.conftest import BUSY, window_hours, write_hours


def recommendations(db) -> list[tuple[str, str, str]]:
    db.expire_all()
    return [(r.kind, r.subject, r.status) for r in db.scalars(select(Recommendation).order_by(Recommendation.id))]


def on_a_worker(app) -> None:
    with app.app_context():
        enqueue(recompute_advice)
    run_worker(app, burst=True)


def test_the_job_twice_and_the_cli_make_one_recommendation_that_closes_with_its_evidence(app, db, customers):
    acme = customers.acme
    write_hours(db, acme.l4, window_hours(), gpu=300)  # 3%: idle every day
    on_a_worker(app)
    on_a_worker(app)  # the scheduler runs it again
    idle = ("idle_instance", acme.l4.public_id, "open")
    assert idle in recommendations(db) and recommendations(db).count(idle) == 1

    again = app.test_cli_runner().invoke(args=["recompute-advice"])
    assert again.exit_code == 0, again.output
    assert "0 opened" in again.output and recommendations(db).count(idle) == 1

    db.execute(delete(InstanceHour).where(InstanceHour.instance_id == acme.l4.id))
    db.commit()
    write_hours(db, acme.l4, window_hours(), gpu=BUSY, memory_max=9000)  # busy now: the evidence is gone
    on_a_worker(app)
    assert ("idle_instance", acme.l4.public_id, "closed") in recommendations(db)
    assert idle not in recommendations(db)
    # Busy around the clock, it is now a commitment candidate instead: a new finding, a new recommendation.
    assert ("commitment", acme.l4.public_id, "open") in recommendations(db)
