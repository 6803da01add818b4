"""Monthly figures from the per-minute rollups: uptime from down minutes (216 of November's 43,200 is exactly
99.5%), what makes a minute down, partial and missing data, p95 latency from the summed histogram."""
from __future__ import annotations

from decimal import Decimal

from app.sla.compliance import BREACHED, MET, NO_DATA, judge
from app.sla.definitions import in_force
from app.sla.evaluation import evaluate, evaluate_org
from tests.sla.conftest import DECEMBER, NOVEMBER, NOW, write_minutes

NOVEMBER_MINUTES = 30 * 24 * 60  # 43,200


def november(db, customer):
    definition = in_force(db, customer.org.tier, NOVEMBER)
    figures = evaluate_org(db, customer.org.id, NOVEMBER, DECEMBER, definition, now=DECEMBER)
    return figures, {result.metric: result for result in judge(figures, definition)}


def test_216_down_minutes_in_a_30_day_month_is_99_5_percent_and_no_breach_for_pro(db, customers):
    write_minutes(db, customers.acme.org.id, NOVEMBER, NOVEMBER_MINUTES, down=set(range(1000, 1216)))
    figures, results = november(db, customers.acme)
    assert (figures.minutes_expected, figures.minutes_observed, figures.down_minutes) == (43_200, 43_200, 216)
    assert figures.uptime == Decimal("99.5") and not figures.partial
    assert results["uptime"].status == MET


def test_217_down_minutes_is_a_breach_for_pro_shown_below_the_objective(db, customers):
    write_minutes(db, customers.acme.org.id, NOVEMBER, NOVEMBER_MINUTES, down=set(range(217)))
    figures, results = november(db, customers.acme)
    assert figures.uptime == Decimal("99.497")  # 99.49768…, rounded down: never shown as meeting 99.5
    assert results["uptime"].status == BREACHED and results["uptime"].objective == Decimal("99.5")


def test_the_same_month_judged_for_enterprise_is_a_breach(db, customers):
    write_minutes(db, customers.globex.org.id, NOVEMBER, NOVEMBER_MINUTES, down=set(range(44)))
    _, results = november(db, customers.globex)
    assert results["uptime"].status == BREACHED  # 99.898% < 99.9%
    assert results["uptime"].measured == Decimal("99.898")


def test_a_month_with_missing_minutes_is_partial_and_judged_on_what_was_measured(db, customers):
    write_minutes(db, customers.acme.org.id, NOVEMBER, NOVEMBER_MINUTES, skip=set(range(10_000, 40_000)))
    figures, results = november(db, customers.acme)
    assert figures.partial and figures.minutes_observed == 13_200
    assert figures.coverage == Decimal("30.5")  # 13,200 of 43,200
    assert figures.uptime == Decimal("100")  # of the minutes measured, and flagged partial, not a plain 100%


def test_a_month_without_data_reports_no_data_not_100_percent(db, customers):
    figures, results = november(db, customers.acme)
    assert figures.minutes_observed == 0 and figures.partial
    assert figures.uptime is None
    assert {metric: result.status for metric, result in results.items()} == {
        "uptime": NO_DATA, "latency_p95": NO_DATA, "error_rate": NO_DATA, "throughput": NO_DATA}


def test_the_current_month_counts_only_the_minutes_elapsed(db, customers):
    elapsed = int((NOW - NOVEMBER).total_seconds() // 60)
    write_minutes(db, customers.acme.org.id, NOVEMBER, elapsed)
    definition = in_force(db, "pro", NOVEMBER)
    figures = evaluate_org(db, customers.acme.org.id, NOVEMBER, DECEMBER, definition, now=NOW)
    assert figures.minutes_expected == elapsed == figures.minutes_observed and not figures.partial


def test_a_minute_above_the_error_rate_objective_is_down_at_it_is_not(db, customers):
    org_id = customers.acme.org.id
    write_minutes(db, org_id, NOVEMBER, 1, errors=10)  # exactly Pro's 1% of 1,000: up
    write_minutes(db, org_id, NOVEMBER.replace(minute=1), 1, errors=11)  # 1.1%: down
    figures, results = november(db, customers.acme)
    assert (figures.minutes_observed, figures.down_minutes) == (2, 1)
    assert figures.error_rate == Decimal("1.05") and results["error_rate"].status == BREACHED


def test_the_error_rate_objective_follows_the_tier(db, customers):
    write_minutes(db, customers.globex.org.id, NOVEMBER, 1, errors=2)  # 0.2% > Enterprise's 0.1%
    write_minutes(db, customers.acme.org.id, NOVEMBER, 1, errors=2)  # within Pro's 1%
    definitions = {tier: in_force(db, tier, NOVEMBER) for tier in ("free", "pro", "enterprise")}
    figures = evaluate(db, NOVEMBER, DECEMBER, definitions, now=DECEMBER)
    assert figures[customers.globex.org.id].down_minutes == 1
    assert figures[customers.acme.org.id].down_minutes == 0


def test_p95_latency_comes_from_the_summed_histogram(db, customers):
    # 1,000 requests a minute: 940 within 200 ms, 60 in (200, 300] → the 950th request is in (200, 300]
    write_minutes(db, customers.globex.org.id, NOVEMBER, 10, buckets=(500, 300, 140, 60, 0, 0, 0, 0))
    figures, results = november(db, customers.globex)
    assert figures.latency_p95 == Decimal("216.7")  # 200 + 100 × (950 − 940) / 60, rounded up
    assert results["latency_p95"].status == BREACHED  # Enterprise: 200 ms


def test_p95_exactly_on_the_objective_is_met(db, customers):
    write_minutes(db, customers.globex.org.id, NOVEMBER, 10, buckets=(500, 300, 150, 50, 0, 0, 0, 0))
    figures, results = november(db, customers.globex)
    assert figures.latency_p95 == Decimal("200") and results["latency_p95"].status == MET


def test_throughput_is_reported_as_the_busiest_minute(db, customers):
    write_minutes(db, customers.acme.org.id, NOVEMBER, 3)
    write_minutes(db, customers.acme.org.id, NOVEMBER.replace(minute=3), 1, requests=6000,
                  buckets=(6000, 0, 0, 0, 0, 0, 0, 0))
    figures, results = november(db, customers.acme)
    assert figures.peak_rps == Decimal("100") and figures.mean_rps == Decimal("37.5")
    assert results["throughput"].objective == Decimal(100) and results["throughput"].status == MET


def test_one_organizations_minutes_never_count_for_another(db, customers):
    write_minutes(db, customers.globex.org.id, NOVEMBER, 100, down=set(range(100)))
    figures, _ = november(db, customers.acme)
    assert figures.minutes_observed == 0
