"""Every periodic job, in one place. `flask scheduler` enqueues them on time."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from app.accounts.jobs import expire_sessions
from app.advice.jobs import recompute_advice
from app.billing.jobs import run_billing_cycle
from app.currency.jobs import refresh_exchange_rates
from app.payments.jobs import retry_pending_refunds, sweep_stripe_events
from app.sla.jobs import evaluate_sla
from app.sla.probe_job import probe_job
from app.webhooks.jobs import sweep as sweep_webhooks


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: Callable
    queue: str = "low"
    interval: int | None = None  # seconds
    cron: str | None = None  # crontab syntax, UTC


PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("expire-sessions", expire_sessions, interval=15 * 60),
    # The safety net under webhook delivery: re-enqueues due messages nobody
    # holds (after a Redis flush, a killed worker, a retry whose job was lost).
    PeriodicJob("sweep-webhooks", sweep_webhooks, queue="high", interval=30),
    # Inbound Stripe events whose job was lost, or whose worker died mid-way.
    PeriodicJob("sweep-stripe-events", sweep_stripe_events, queue="high", interval=60),
    # Refunds stuck before Stripe answered (the idempotency key makes resending safe).
    PeriodicJob("retry-pending-refunds", retry_pending_refunds, queue="default", interval=5 * 60),
    # Invoices every billing period that has ended, issues the drafts, queues their collection.
    PeriodicJob("billing-cycle", run_billing_cycle, queue="default", interval=5 * 60),
    # Availability checks of running instances' health URLs, one sample per instance and minute.
    PeriodicJob("sla-probe", probe_job, queue="default", interval=60),
    # SLA alerts over the last hour, and (once its grace has passed) the previous month's reports and credits.
    PeriodicJob("sla-evaluate", evaluate_sla, queue="default", interval=5 * 60),
    # Daily, after the reference rates of the day are published (ECB ~16:00 CET).
    PeriodicJob("refresh-exchange-rates", refresh_exchange_rates, queue="low", cron="30 16 * * *"),
    # Cost advice, daily at 03:15 UTC: yesterday's utilization is complete by then.
    PeriodicJob("cost-advice", recompute_advice, queue="low", cron="15 3 * * *"),
)
