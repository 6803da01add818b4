"""Demo traffic for `flask simulate-metrics`: a month of believable samples, with one outage, so the SLA pages show
something true (an alert, a breach, a credit) without real instances.

Every sample goes through `record_samples`, as a reporter's would, so the rollups, the evaluation and the alerts
see exactly what they would see in production. Traffic follows the day (a peak in the afternoon UTC, a quiet
night, quieter weekends) and is sized to the tier's throughput objective, shared by the organization's running
instances; errors stay at a tenth of the tier's error-rate objective (never above half of it in any minute),
latency is log-normal with its p95 near 60% of the objective. During the outage the instance fails its checks,
most requests fail and answers take over two seconds. Every sample carries GPU utilization too, in a pattern per
demo instance (`app/sla/simulate_gpu.py`) that gives each kind of cost advice something to find.

Deterministic: a minute's numbers come from a `random.Random` seeded with the instance and the day, so running it
again writes the same samples for the same minutes, and they are duplicates.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import Organization
from app.errors import DomainError
from app.rental.models import Instance
from app.sla.definitions import ensure_default_definitions, in_force
from app.sla.alerts import evaluate_alerts
from app.sla.histogram import HISTOGRAM_KEYS
from app.sla.ingestion import UTILIZATION_MAX_AGE, SampleInput, record_samples
from app.sla.models import LATENCY_BOUNDS_MS, SlaAlert, SlaDefinition
from app.sla.simulate_gpu import GpuUsage
from app.sla.months import earliest_open_minute, whole_minute

BATCH = 1000
BACKFILL_STEP = timedelta(minutes=10)
MAX_DAYS = 400
MINUTE = timedelta(minutes=1)
ERROR_SHARE = 0.1  # of the tier's error-rate objective, on average
ERROR_CAP = 0.5  # no minute above half the objective: a healthy minute is never a down minute
LATENCY_MEDIAN_SHARE = 0.3  # of the p95 objective; with SIGMA the p95 lands near 60% of it
SIGMA = 0.4
OUTAGE_MEDIAN_MS = 2600
REPLAY_STEP = timedelta(minutes=5)  # how often the sla-evaluate job runs (app/schedule.py)


@dataclass(frozen=True)
class Options:
    days: int = 30
    org_slugs: tuple[str, ...] = ()  # empty: every customer organization
    outage_minutes: int = 45
    outage_ago: int = 90  # minutes between the outage's end and now
    outage_org: str | None = None  # default: the first organization simulated


@dataclass(frozen=True)
class Outage:
    slug: str
    start: datetime
    end: datetime  # exclusive

    @property
    def minutes(self) -> int:
        return int((self.end - self.start) / MINUTE)


@dataclass
class AlertReplay:
    evaluations: int = 0
    opened: list[str] = field(default_factory=list)  # sla_… ids
    resolved: list[str] = field(default_factory=list)
    still_open: int = 0  # after the last evaluation (now)


@dataclass
class SimulationResult:
    start: datetime
    end: datetime  # exclusive: the current minute, still running, is left out
    asked_start: datetime  # now − days; later than `start` only when the SLA month would refuse it
    instances: dict[str, int] = field(default_factory=dict)  # org slug → running instances simulated
    org_ids: list[int] = field(default_factory=list)
    recorded: int = 0
    duplicates: int = 0
    backfilled: int = 0  # utilization-only samples written before `start` (cost advice looks back a fortnight)
    outage: Outage | None = None
    alerts: AlertReplay | None = None

    @property
    def clamped(self) -> bool:
        return self.start > self.asked_start

    @property
    def samples(self) -> int:
        return self.recorded + self.duplicates


def simulate_metrics(session: Session, now: datetime, options: Options = Options()) -> SimulationResult:
    """Write the demo samples (the caller commits), then evaluate the alerts so the outage shows at once."""
    if options.days < 1 or options.days > MAX_DAYS:
        raise DomainError(f"--days must be between 1 and {MAX_DAYS}; got {options.days}.", field="days")
    if options.outage_minutes < 0 or options.outage_ago < 0:
        raise DomainError("--outage-minutes and --outage-ago cannot be negative.", field="outage_minutes")
    orgs = _organizations(session, options.org_slugs)
    end = whole_minute(now)
    asked = end - timedelta(days=options.days)
    result = SimulationResult(max(asked, earliest_open_minute(now)), end, asked)
    result.outage = _outage(orgs, options, end)
    ensure_default_definitions(session)
    for org in orgs:
        instances = list(session.scalars(select(Instance).where(Instance.org_id == org.id,
                                                                Instance.status == "running").order_by(Instance.id)))
        result.instances[org.slug] = len(instances)
        result.org_ids.append(org.id)
        if instances and result.start < result.end:
            outage = result.outage if result.outage and result.outage.slug == org.slug else None
            traffic = [_Traffic(instance, in_force(session, org.tier, now), len(instances)) for instance in instances]
            _backfill_utilization(session, org.id, traffic, max(asked, end - UTILIZATION_MAX_AGE + BACKFILL_STEP),
                                  result)
            _write_org(session, org.id, traffic, result, outage)
    result.alerts = _evaluate_alerts(session, now, result)
    return result


def _organizations(session: Session, slugs: tuple[str, ...]) -> list[Organization]:
    """The customer organizations asked for, in the order given; by default all of them by slug (acme first)."""
    statement = select(Organization).where(Organization.kind == "customer").order_by(Organization.slug)
    if not slugs:
        orgs = list(session.scalars(statement))
        if not orgs:
            raise DomainError("There are no customer organizations; run `flask seed-demo` first.", field="org")
        return orgs
    wanted = list(dict.fromkeys(slugs))
    found = {org.slug: org for org in session.scalars(statement.where(Organization.slug.in_(wanted)))}
    unknown = [slug for slug in wanted if slug not in found]
    if unknown:
        raise DomainError(f"No customer organization with slug {unknown[0]!r}.", field="org")
    return [found[slug] for slug in wanted]


def _outage(orgs: list[Organization], options: Options, end: datetime) -> Outage | None:
    if options.outage_minutes == 0:
        return None
    slug = options.outage_org or orgs[0].slug
    if slug not in {org.slug for org in orgs}:
        raise DomainError(f"--outage-org {slug!r} is not one of the organizations simulated.", field="outage_org")
    outage_end = end - timedelta(minutes=options.outage_ago)
    return Outage(slug, outage_end - timedelta(minutes=options.outage_minutes), outage_end)


def _backfill_utilization(session: Session, org_id: int, traffic: list[_Traffic], start: datetime,
                          result: SimulationResult) -> None:
    """Before the open SLA month, only GPU utilization (every BACKFILL_STEP): ingestion takes utilization-only
    samples up to 35 days old, since they change no SLA figure, so the demo's cost advice has its fortnight even
    on the 1st of a month."""
    batch: list[SampleInput] = []
    minute = start
    while minute < result.start:
        for source in traffic:
            gpu, memory = source.gpu.reading(minute, False)
            batch.append(SampleInput(source.public_id, minute, gpu_utilization=gpu, gpu_memory_utilization=memory))
        minute += BACKFILL_STEP
    for offset in range(0, len(batch), BATCH):
        result.backfilled += record_samples(session, org_id, batch[offset:offset + BATCH], source="api").recorded


def _write_org(session: Session, org_id: int, traffic: list[_Traffic], result: SimulationResult,
               outage: Outage | None) -> None:
    """Minute by minute, every instance's sample, in batches of BATCH."""
    batch: list[SampleInput] = []
    minute = result.start
    while minute < result.end:
        down = outage is not None and outage.start <= minute < outage.end
        batch.extend(source.sample(minute, down) for source in traffic)
        if len(batch) >= BATCH:
            _send(session, org_id, batch[:BATCH], result)
            batch = batch[BATCH:]
        minute += MINUTE
    if batch:
        _send(session, org_id, batch, result)


def _send(session: Session, org_id: int, batch: list[SampleInput], result: SimulationResult) -> None:
    written = record_samples(session, org_id, batch, source="api")
    result.recorded += written.recorded
    result.duplicates += written.duplicates


def _evaluate_alerts(session: Session, now: datetime, result: SimulationResult) -> AlertReplay:
    """Judge the windows the periodic evaluation would have judged since the outage began (every 5 minutes), then
    now: the outage's alerts open, and resolve once an hour without it has passed, as they would have."""
    moments, outage = [], result.outage
    if outage is not None and outage.start < result.end and outage.end > result.start:
        # Windows judged already (by an earlier run, or the job) are not judged again: a re-run opens nothing twice.
        judged = session.scalar(select(func.max(SlaAlert.last_window_end))
                                .where(SlaAlert.org_id.in_(result.org_ids)))
        at = max(outage.start, result.start) + REPLAY_STEP
        while judged is not None and at <= judged:
            at += REPLAY_STEP
        while at < now:
            moments.append(at)
            at += REPLAY_STEP
    replay = AlertReplay()
    for at in [*moments, now]:
        run = evaluate_alerts(session, at)
        replay.evaluations += 1
        replay.opened.extend(run.opened)
        replay.resolved.extend(run.resolved)
    replay.still_open = session.scalar(select(func.count()).select_from(SlaAlert).where(
        SlaAlert.resolved_at.is_(None), SlaAlert.org_id.in_(result.org_ids)))
    return replay


class _Traffic:
    """One instance's share of its organization's traffic, minute by minute."""

    def __init__(self, instance: Instance, definition: SlaDefinition, instance_count: int):
        self.public_id = public_id = instance.public_id
        self.gpu = GpuUsage(public_id, instance.name)
        self.peak_per_minute = definition.throughput_rps * 60 * 0.95 / instance_count
        objective = float(definition.error_rate_percent) / 100
        self.error_rate, self.error_cap = objective * ERROR_SHARE, objective * ERROR_CAP
        self.median_ms = definition.latency_p95_ms * LATENCY_MEDIAN_SHARE
        self._day: date | None = None
        self._draws: list[tuple[float, float, float, float]] = []

    def _noise(self, minute: datetime) -> tuple[float, float, float, float]:
        """Four uniform draws for the minute, the same whichever minute a run starts at."""
        if minute.date() != self._day:
            self._day = minute.date()
            rng = random.Random(f"{self.public_id}:{self._day.isoformat()}")
            self._draws = [(rng.random(), rng.random(), rng.random(), rng.random()) for _ in range(1440)]
        return self._draws[minute.hour * 60 + minute.minute]

    def sample(self, minute: datetime, down: bool) -> SampleInput:
        volume, error_draw, rounding, latency_draw = self._noise(minute)
        requests = max(1, int(self.peak_per_minute * load(minute) * (0.92 + 0.1 * volume)))
        gpu, memory = self.gpu.reading(minute, down)
        if down:
            errors = int(requests * (0.85 + 0.12 * error_draw))
            return SampleInput(self.public_id, minute, requests, errors, available=False,
                               latency_histogram=histogram(requests, OUTAGE_MEDIAN_MS * (0.9 + 0.2 * latency_draw),
                                                           0.3), gpu_utilization=gpu, gpu_memory_utilization=memory)
        errors = min(int(requests * self.error_rate * 2 * error_draw + rounding),
                     int(requests * self.error_cap))
        median = self.median_ms * (0.9 + 0.2 * latency_draw) * (0.95 + 0.1 * load(minute))
        return SampleInput(self.public_id, minute, requests, errors, available=True,
                           latency_histogram=histogram(requests, median, SIGMA), gpu_utilization=gpu,
                           gpu_memory_utilization=memory)


def load(minute: datetime) -> float:
    """Share of the peak at this minute: 1.0 at 15:00 UTC on a weekday, 0.2 at 03:00, weekends at 70%."""
    hour = minute.hour + minute.minute / 60
    daylight = (1 + math.cos(2 * math.pi * (hour - 15) / 24)) / 2
    share = 0.2 + 0.8 * daylight ** 1.5
    return share * (0.7 if minute.weekday() >= 5 else 1.0)


def histogram(requests: int, median_ms: float, sigma: float) -> dict[str, int]:
    """`requests` spread over the latency buckets by a log-normal distribution; the counts sum to `requests`."""
    counts, below = {}, 0
    for key, bound in zip(HISTOGRAM_KEYS, LATENCY_BOUNDS_MS):
        share = 0.5 * (1 + math.erf((math.log(bound) - math.log(median_ms)) / (sigma * math.sqrt(2))))
        cumulative = round(requests * share)
        counts[key], below = cumulative - below, cumulative
    counts[HISTOGRAM_KEYS[-1]] = requests - below
    return counts


def summary_lines(result: SimulationResult) -> list[str]:
    """What the CLI prints: the range, what was written, the outage, the alerts."""
    stamp = "%Y-%m-%d %H:%M"
    organizations = ", ".join(f"{slug} ({count} running instance{'s' if count != 1 else ''})"
                              for slug, count in result.instances.items())
    lines = [f"Samples from {result.start:{stamp}} to {result.end:{stamp}} UTC for {organizations}."]
    if result.clamped:
        lines.append(f"Started at {result.start:{stamp}} UTC, not {result.asked_start:{stamp}}: samples before the "
                     "SLA month still open are refused; before it, only GPU utilization was written "
                     f"({result.backfilled:,} samples, one every {BACKFILL_STEP.seconds // 60} minutes).")
    lines.append(f"{result.recorded:,} samples written, {result.duplicates:,} duplicates (already there).")
    outage = result.outage
    if outage is None:
        lines.append("No outage simulated.")
    else:
        lines.append(f"Outage: {outage.slug}, {outage.start:{stamp}} to {outage.end:{stamp}} UTC "
                     f"({outage.minutes} minutes): checks failing, most requests failing, latency over 2 s.")
        if outage.end <= result.start or outage.start >= result.end:
            lines.append("(The outage falls outside the simulated range, so no sample shows it.)")
    alerts = result.alerts
    if alerts is not None:
        opened = f" ({', '.join(alerts.opened)})" if alerts.opened else ""
        lines.append(f"Alerts ({alerts.evaluations} evaluation{'s' if alerts.evaluations != 1 else ''} of the "
                     f"last hour, as the periodic job would have run them): {len(alerts.opened)} opened{opened}, "
                     f"{len(alerts.resolved)} resolved, {alerts.still_open} open now.")
    return lines
