"""Proration to the second, and the monthly periods it is computed over."""
from datetime import datetime, timedelta, timezone

import pytest

from app.billing.periods import Period, add_months, period_containing
from app.billing.proration import prorate_change, share

UTC = timezone.utc
NOV = Period(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))


def test_an_upgrade_halfway_through_a_10_to_20_month_costs_5_more():
    change = prorate_change(10_00, 20_00, NOV, datetime(2026, 11, 16, tzinfo=UTC))
    assert (change.credit, change.charge, change.net) == (-5_00, 10_00, 5_00)


def test_a_downgrade_halfway_credits_the_difference():
    change = prorate_change(20_00, 10_00, NOV, datetime(2026, 11, 16, tzinfo=UTC))
    assert (change.credit, change.charge, change.net) == (-10_00, 5_00, -5_00)


def test_proration_is_to_the_second():
    # 19 days 20:52:49 = 1,716,769 s left of 2,592,000
    moment = NOV.end - timedelta(days=19, hours=20, minutes=52, seconds=49)
    change = prorate_change(49_00, 1_999_00, NOV, moment)
    assert change.seconds_left == 1_716_769
    assert change.credit == -3245   # 4900 × 1716769 / 2592000 = 3245.435… → 32.45
    assert change.charge == 132401  # 199900 × 1716769 / 2592000 = 132400.510… → 1,324.01
    later = prorate_change(49_00, 1_999_00, NOV, moment + timedelta(seconds=1))
    assert later.seconds_left == 1_716_768 and later.charge < change.charge


def test_half_a_minor_unit_rounds_up_and_a_credit_rounds_away_from_zero():
    assert share(1, 1, 2) == 1          # 0.5 → 1
    assert share(3, 1, 2) == 2          # 1.5 → 2
    assert share(-3, 1, 2) == -2        # −1.5 → −2
    assert share(5, 1, 4) == 1          # 1.25 → 1


def test_a_change_at_the_very_start_prorates_the_whole_period_and_at_the_end_nothing():
    full = prorate_change(49_00, 1_999_00, NOV, NOV.start)
    assert (full.credit, full.charge) == (-49_00, 1_999_00)
    with pytest.raises(ValueError):
        prorate_change(49_00, 1_999_00, NOV, NOV.start - timedelta(seconds=1))


def test_months_from_the_anchor_keep_the_anchor_day():
    anchor = datetime(2027, 1, 31, 9, 30, tzinfo=UTC)
    assert [add_months(anchor, n).date().isoformat() for n in range(4)] == [
        "2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]
    assert add_months(datetime(2028, 1, 31, tzinfo=UTC), 1).day == 29  # leap year
    assert add_months(datetime(2026, 12, 15, tzinfo=UTC), 1) == datetime(2027, 1, 15, tzinfo=UTC)


def test_the_period_containing_a_moment():
    anchor = datetime(2027, 1, 31, 9, 30, tzinfo=UTC)
    period = period_containing(anchor, datetime(2027, 3, 1, tzinfo=UTC))
    assert (period.start, period.end) == (datetime(2027, 2, 28, 9, 30, tzinfo=UTC),
                                          datetime(2027, 3, 31, 9, 30, tzinfo=UTC))
    assert period_containing(anchor, period.end).start == period.end  # the end belongs to the next period
    with pytest.raises(ValueError):
        period_containing(anchor, anchor - timedelta(seconds=1))
