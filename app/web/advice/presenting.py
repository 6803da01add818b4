"""How a recommendation reads on the page: its kind, severity and status, its savings (and the share of the
monthly spend severity is graded by), what Apply will do in the words the confirmation repeats, and when the daily
recompute runs. The evidence has a module of its own (`evidence.py`)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from app.advice.gpus import GPU_TYPES
from app.advice.models import Recommendation
from app.billing import subscriptions
from app.billing.plans import plan_by_code
from app.errors import DomainError
from app.money import Money
from app.rental.models import Instance
from app.web.advice.evidence import usd

KIND_LABELS = {"idle_instance": "Idle instance", "rightsize": "Rightsizing", "tier_fit": "Plan fit",
               "schedule": "Schedule", "commitment": "Commitment"}
SEVERITY_BADGES = {"low": "badge-disabled", "medium": "badge-pending", "high": "badge-failed",
                   "critical": "badge-failed"}
STATUS_LABELS = {"open": "Open", "dismissed": "Dismissed", "snoozed": "Snoozed", "applied": "Applied",
                 "closed": "Closed"}


@dataclass(frozen=True)
class ActionText:
    label: str  # the button: "Stop instance inference-l4-1"
    question: str  # the confirmation: "Stop instance inference-l4-1 now?"
    consequence: str  # what happens, in a sentence


def action_text(session, rec: Recommendation) -> ActionText | None:
    """What Apply does, in words; None when the recommendation is advice only (no action)."""
    if not rec.action:
        return None
    instance = session.get(Instance, rec.instance_id) if rec.instance_id else None
    name = instance.name if instance is not None else rec.subject
    verb, _, argument = rec.action.partition(":")
    if verb == "stop_instance":
        return ActionText(f"Stop instance {name}", f"Stop instance {name} now?",
                          f"{name} stops at once, and its hourly billing ends with it.")
    if verb == "resize":
        known = GPU_TYPES.get(argument)
        price = f" ({usd(known.hourly_price)}/h list price)" if known else ""
        return ActionText(f"Resize {name} to {argument}", f"Resize {name} to {argument} now?",
                          f"{name} moves to the {argument} GPU type, billed at its rate{price} from now on.")
    if verb == "change_plan":
        return _plan_change_text(session, rec, argument)
    return ActionText(f"Apply: {rec.action}", f"Apply “{rec.action}” now?", "")


def _plan_change_text(session, rec: Recommendation, code: str) -> ActionText:
    """Changing the plan also says what it does to this period's invoice (the billing service's own proration)."""
    try:
        plan_name = plan_by_code(session, code).name
    except DomainError:
        plan_name = code
    consequence = f"The subscription moves to the {plan_name} plan at once"
    try:
        preview = subscriptions.preview_change(session, subscriptions.require_current(session, rec.org_id), code)
    except DomainError as error:
        consequence += f". {error.message}"
    else:
        consequence += (f"; this period's invoice changes by {preview.money(preview.proration.net).format()} "
                        "(prorated to the second), and from the next period on the fee is "
                        f"{Money(preview.new_plan.monthly_price, preview.new_plan.currency).format()} a month.")
    return ActionText(f"Change plan to {plan_name} (prorated)", f"Change plan to {plan_name} now?", consequence)


def share_text(rec: Recommendation) -> str | None:
    """The savings as a share of the monthly spend, the figure severity is graded by: "12.5%"."""
    if not rec.monthly_spend_usd:
        return None
    share = (Decimal(rec.savings_usd) * 100 / rec.monthly_spend_usd).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{share:g}%"


def savings(rec: Recommendation) -> str:
    return Money(rec.monthly_savings, rec.currency).format()


HELPERS = {"kind_labels": KIND_LABELS, "severity_badges": SEVERITY_BADGES, "status_labels": STATUS_LABELS,
           "savings": savings, "usd": usd, "share_text": share_text}


def daily_job_time() -> str | None:
    """When the daily recompute runs ("04:00 UTC"), read from the schedule itself so the page cannot drift from
    it; None if the schedule has no cost-advice job with a daily time."""
    from app.schedule import PERIODIC_JOBS  # the job modules, imported only when a page asks

    for job in PERIODIC_JOBS:
        if getattr(job.func, "__module__", "").startswith("app.advice") and job.cron:
            minute, hour = job.cron.split()[:2]
            if minute.isdigit() and hour.isdigit():
                return f"{int(hour):02d}:{int(minute):02d} UTC"
    return None
