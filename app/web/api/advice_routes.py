"""API v1: cost advice — the recommendations with their savings, and dismiss, snooze, apply.

Thin: the same queries and services as the client "Cost advice" page. The list is sorted by savings, not by id, so
its cursor (`starting_after`, a rec_… id of the same status) continues that order.
"""
from __future__ import annotations

from app import clock
from app.advice import queries, service
from app.advice.models import Recommendation
from app.errors import DomainError
from app.web.api.advice_schemas import (CostAdviceList, CostAdviceQuery, DismissBody, RecommendationOut,
                                        SnoozeBody)
from app.web.api.auth import api_actor_label
from app.web.api.registry import api_route, respond
from app.web.portal import current_org_id
from app.web.request_context import db_session


def recommendation_out(row: Recommendation, status: str) -> RecommendationOut:
    return RecommendationOut(
        id=row.public_id, kind=row.kind, subject=row.subject, status=status, severity=row.severity,
        title=row.title, action=row.action, monthly_savings=row.monthly_savings, currency=row.currency.lower(),
        savings_usd=row.savings_usd, monthly_spend_usd=row.monthly_spend_usd, evidence=row.evidence or {},
        dismiss_reason=row.dismiss_reason, snoozed_until=row.snoozed_until, applied_at=row.applied_at,
        applied_by=row.applied_by, closed_at=row.closed_at, first_seen_at=row.first_seen_at,
        last_seen_at=row.last_seen_at)


def _one(row: Recommendation):
    return respond(recommendation_out(row, queries.effective_status(row, clock.utcnow().date())))


def _page(rows: list, limit: int, starting_after: str | None) -> tuple[list, bool]:
    """A page of the savings-sorted rows, after the cursor's position in that same order."""
    start = 0
    if starting_after:
        positions = {row.public_id: index for index, row in enumerate(rows)}
        if starting_after not in positions:
            raise DomainError(f"No recommendation {starting_after!r} with this status to start after.",
                              field="starting_after")
        start = positions[starting_after] + 1
    return rows[start:start + limit], len(rows) > start + limit


@api_route("/cost_advice", "GET", summary="The organization's cost-saving recommendations, biggest savings "
                                          "first, with what they save together", query=CostAdviceQuery,
           response=CostAdviceList)
def list_cost_advice(query: CostAdviceQuery):
    advice = queries.advice_list(db_session(), current_org_id(), clock.utcnow(), statuses=(query.status,))
    rows, has_more = _page(advice.rows, query.limit, query.starting_after)
    return respond(CostAdviceList(data=[recommendation_out(row, advice.status_of(row)) for row in rows],
                                  total_monthly_savings=advice.total_monthly_savings,
                                  currency=advice.currency.lower(), has_more=has_more))


@api_route("/cost_advice/<public_id>", "GET", summary="One recommendation with its evidence",
           response=RecommendationOut)
def get_cost_advice(public_id: str):
    return _one(queries.get_recommendation(db_session(), current_org_id(), public_id))


@api_route("/cost_advice/<public_id>/dismiss", "POST", summary="Dismiss an open or snoozed recommendation, "
                                                               "with a reason", scope="write", body=DismissBody,
           response=RecommendationOut)
def dismiss_cost_advice(public_id: str, body: DismissBody):
    db = db_session()
    row = service.dismiss(db, current_org_id(), public_id, body.reason, actor_label=api_actor_label())
    db.commit()
    return _one(row)


@api_route("/cost_advice/<public_id>/snooze", "POST", summary="Hide a recommendation until a date; it is open "
                                                              "again on that date", scope="write", body=SnoozeBody,
           response=RecommendationOut)
def snooze_cost_advice(public_id: str, body: SnoozeBody):
    db = db_session()
    row = service.snooze(db, current_org_id(), public_id, body.until, actor_label=api_actor_label())
    db.commit()
    return _one(row)


@api_route("/cost_advice/<public_id>/apply", "POST", summary="Do what an open recommendation says (stop the "
                                                             "instance, resize it, change the plan)", scope="write",
           response=RecommendationOut)
def apply_cost_advice(public_id: str):
    db = db_session()
    row = service.apply(db, current_org_id(), public_id, actor_label=api_actor_label())
    db.commit()
    return _one(row)
