"""The cost-advice pages. Client: the total and the open recommendations by savings, the empty state, the dismissed
and snoozed ones apart; the detail with its evidence, chart and estimate; Apply after a confirmation (stops the
instance), Dismiss with a reason and Snooze after today refused beside the field; members read-only, another
organization's recommendation a 404, CSRF required. Admin: the savings across customers and the most common
findings. Recommendations are arranged as rows (the rules have tests of their own)."""
from __future__ import annotations

import html as html_lib
import re
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from app import clock
from app.advice.models import Recommendation
from app.audit.models import AuditEvent
from app.rental.models import Instance
from tests.support import org

NOW = datetime(2026, 11, 14, 12, 0, tzinfo=timezone.utc)
PAGE = "/client/cost-advice"
ADMIN_PAGE = "/admin/cost-advice"
IDLE_SERIES = [{"label": f"Nov {day}", "value": value}
               for day, value in zip(range(1, 15), (3.2, 2.9, 41.5, 3.1, 2.5, 38.0, 3.0, 2.8, 3.3, 40.1, 2.7, 3.4,
                                                   35.2, 3.0))]
IDLE_EVIDENCE = {"window_days": 14, "idle_days": 10, "idle_days_min": 4, "idle_threshold_percent": 10.0,
                 "idle_hours": 240, "running_hours": 336, "hourly_rate_usd_cents": 59,
                 "idle_dates": ["2026-11-01", "2026-11-02"], "series_unit": "percent", "series": IDLE_SERIES}


@pytest.fixture
def acme(demo):
    """The demo organizations with the clock stopped on 14 November 2026 12:00 UTC (subscriptions from 1 Nov)."""
    return demo


@pytest.fixture(autouse=True)
def stopped_clock():
    clock.freeze(NOW)  # before seeding: the demo subscriptions start on the 1st of the clock's month


def text(response) -> str:
    """As a reader sees it: entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html_lib.unescape(response.get_data(as_text=True)))


def page(browser, path=PAGE, **kwargs) -> str:
    response = browser.get(path, **kwargs)
    assert response.status_code == 200, response.status_code
    return text(response)


def signed_in(make_client, email):
    browser = make_client()
    browser.login(email)
    return browser


@pytest.fixture
def alice(acme, make_client):
    return signed_in(make_client, "alice@acme.test")


@pytest.fixture
def bob(acme, make_client):
    return signed_in(make_client, "bob@acme.test")


def instance(db, name: str) -> Instance:
    db.expire_all()
    return db.scalars(select(Instance).where(Instance.name == name)).one()


def add(db, slug: str, kind: str, subject: str, savings: int, *, currency="USD", savings_usd=None, status="open",
        action=None, instance_id=None, title=None, evidence=None, severity="medium", spend=100_00, **fields):
    rec = Recommendation(org_id=org(db, slug).id, kind=kind, subject=subject, instance_id=instance_id, status=status,
                         severity=severity, title=title or f"{kind} {subject}", action=action,
                         monthly_savings=savings, currency=currency,
                         savings_usd=savings if savings_usd is None else savings_usd, monthly_spend_usd=spend,
                         evidence=evidence or {}, **fields)
    db.add(rec)
    db.commit()
    return rec


def idle_finding(db, name="inference-l4-1", savings=10_11, **fields):
    """acme's idle-instance recommendation for `name`, stop_instance, as the idle rule writes its evidence."""
    target = instance(db, name)
    return add(db, "acme", "idle_instance", target.public_id, savings, action="stop_instance",
               instance_id=target.id, title=f"Stop idle instance {name}", evidence=IDLE_EVIDENCE, spend=539_80,
               **fields)


def rows(html: str, testid="rec-row") -> list[str]:
    return re.findall(rf'<tr data-testid="{testid}".*?</tr>', html)


def status_of(db, rec) -> str:
    db.expire_all()
    return db.get(Recommendation, rec.id).status


def test_the_list_is_sorted_by_savings_with_the_total(alice, acme):
    training, notebook = instance(acme, "training-a100-1"), instance(acme, "notebook-t4")
    add(acme, "acme", "rightsize", training.public_id, 12_34, action="resize:A100-40GB", title="Move training")
    idle_finding(acme, savings=98_76, severity="high")
    add(acme, "acme", "tier_fit", "plan", 5_00, action="change_plan:free", title="Plan fits Free", severity="low")
    add(acme, "acme", "commitment", notebook.public_id, 50_00, status="dismissed", dismiss_reason="we stop it soon")
    add(acme, "globex", "tier_fit", "plan", 777_77, currency="EUR", savings_usd=800_00)  # another customer's

    html = page(alice)
    assert 'data-testid="total">$116.10<' in html  # 98.76 + 12.34 + 5.00; the dismissed 50.00 is not counted
    assert "from 3 open recommendations" in html
    listed = rows(html)
    assert [re.search(r'data-testid="rec-savings"><strong>([^<]*)<', row).group(1) for row in listed] == [
        "$98.76", "$12.34", "$5.00"]
    assert 'data-testid="rec-kind">Idle instance<' in listed[0] and 'data-severity="high">high<' in listed[0]
    assert "Stop idle instance inference-l4-1" in listed[0]
    assert 'data-testid="rec-kind">Rightsizing<' in listed[1] and 'data-testid="rec-kind">Plan fit<' in listed[2]
    others = rows(html, "other-row")
    assert len(others) == 1 and "Dismissed" in others[0] and "“we stop it soon”" in others[0]
    assert "777" not in html and "€" not in html
    assert '<a href="/client/cost-advice" aria-current="page">Cost advice</a>' in html


def test_a_snooze_shows_apart_until_its_date_and_a_non_usd_customer_sees_their_currency(acme, make_client):
    clock.freeze(datetime(2026, 11, 14, 23, 50, tzinfo=timezone.utc))  # signed in shortly before midnight
    gina = signed_in(make_client, "gina@globex.test")
    add(acme, "globex", "tier_fit", "plan", 45_67, currency="EUR", savings_usd=49_50)
    add(acme, "globex", "idle_instance", "ins_snoozed", 10_00, currency="EUR", status="snoozed",
        snoozed_until=date(2026, 11, 15))
    html = page(gina)
    assert 'data-testid="total">€45.67<' in html and len(rows(html)) == 1
    assert "in EUR" in html
    others = rows(html, "other-row")
    assert len(others) == 1 and "Snoozed" in others[0] and "until 2026-11-15" in others[0]

    clock.freeze(datetime(2026, 11, 15, 0, 5, tzinfo=timezone.utc))  # its date has come: open again, counted
    html = page(gina)
    assert 'data-testid="total">€55.67<' in html and len(rows(html)) == 2 and rows(html, "other-row") == []


def test_no_recommendations_is_an_empty_state_that_says_when_we_look_again(alice, acme):
    add(acme, "acme", "tier_fit", "plan", 5_00, status="closed", closed_at=NOW)  # history, not advice
    html = page(alice)
    assert 'data-testid="empty"' in html and "No recommendations: your usage looks efficient" in html
    assert "every day at 03:15 UTC" in html  # read from the schedule's cost-advice job
    assert 'data-testid="total">$0.00<' in html and rows(html) == [] and 'data-testid="advice-others"' not in html


def test_the_detail_shows_the_evidence_the_chart_and_how_the_savings_were_estimated(alice, acme):
    rec = idle_finding(acme, savings=1_011_40, severity="critical")
    html = page(alice, f"{PAGE}/{rec.public_id}")
    assert 'data-testid="rec-title">Stop idle instance inference-l4-1<' in html
    assert 'data-testid="savings">$1,011.40<' in html
    assert 'data-testid="evidence-idle_days">10<' in html
    assert 'data-testid="evidence-idle_threshold_percent">≤ 10% average GPU utilization<' in html
    assert 'data-testid="evidence-hourly_rate_usd_cents">$0.59/h<' in html
    assert 'data-testid="evidence-idle_hours">240 h<' in html and \
        'data-testid="evidence-window_days">the last 14 days<' in html
    assert "Idle days (UTC): 2026-11-01, 2026-11-02" in html
    assert ("The hourly rate ($0.59) × the 240 hours it ran on idle days in the last 14 days, scaled to a 30-day "
            "month (× 30 ÷ 14).") in html
    figure = re.search(r'<figure class="chart" id="chart-evidence".*?</svg>', html).group(0)
    bars = re.findall(r"<rect [^>]*><title>([^<]*)</title></rect>", figure)
    assert len(bars) == 14 and bars[0] == "Nov 1: 3.2%" and bars[2] == "Nov 3: 41.5%"
    assert 'data-testid="chart-reference"' in figure and "idle at ≤ 10%" in figure
    assert "Average GPU utilization per day (%)" in figure
    assert "That is 187.4% of what you spend a month ($539.80" in html  # 1,011.40 ÷ 539.80, half up
    assert 'data-testid="apply"' in html and "Stop instance inference-l4-1</a>" in html
    assert ('hx-confirm="Stop instance inference-l4-1 now? inference-l4-1 stops at once, and its hourly billing ends '
            'with it."') in html


def test_a_plan_finding_shows_each_plan_priced_on_the_months(alice, acme):
    plans = [{"code": "free", "name": "Free", "monthly_price_usd_cents": 0, "costs_usd_cents": [0, 150, 0],
              "average_usd_cents": 50},
             {"code": "pro", "name": "Pro", "monthly_price_usd_cents": 49_00, "costs_usd_cents": [49_00] * 3,
              "average_usd_cents": 49_00}]
    months = [{"period_start": f"2026-{m:02d}-01T00:00:00+00:00", "period_end": f"2026-{m + 1:02d}-01T00:00:00+00:00",
               "gpu_seconds": 18_000, "api_requests": 2_500} for m in (8, 9, 10)]
    plan = add(acme, "acme", "tier_fit", "plan", 48_50, action="change_plan:free",
               title="Change to the Free plan: your usage fits it",
               evidence={"months": months, "plans": plans, "current_plan": "pro", "suggested_plan": "free",
                         "min_share_percent": 5.0, "series_unit": "USD cents on the current plan",
                         "series": [{"label": "Aug 1", "value": 4900}, {"label": "Sep 1", "value": 4900},
                                    {"label": "Oct 1", "value": 4900}]})
    html = page(alice, f"{PAGE}/{plan.public_id}")
    table = re.search(r'<section class="card" data-testid="plan-table".*?</section>', html).group(0)
    assert "Aug 2026" in table and "Oct 2026" in table and "GPU-hours used" in table and ">5.0<" in table
    free = re.search(r'<tr data-testid="plan-row" data-mark="suggested">.*?</tr>', table).group(0)
    assert "Free" in free and "$1.50" in free and "<strong>$0.50</strong>" in free
    assert 'data-mark="current"' in table and "your plan" in table
    assert ("What your usage of the last 3 billing periods cost on average a month on Pro ($49.00), less what it "
            "would have cost on Free ($0.50)") in html
    assert 'data-testid="evidence-min_share_percent">at least 5% of what your plan cost<' in html
    assert "What your plan cost each billing period (USD)" in html and "Aug 1: $49.00" in html


def test_a_schedule_is_advice_only_with_its_idle_hours_charted(alice, acme):
    l4 = instance(acme, "inference-l4-1")
    schedule = add(acme, "acme", "schedule", l4.public_id, 169_97, instance_id=l4.id,
                   title="Stop inference-l4-1 at its idle hours (22:00–06:00 UTC)",
                   evidence={"window_days": 14, "stop_hours_utc": [22, 23, 0, 1, 2, 3, 4, 5],
                             "stop_ranges_utc": ["22:00–06:00"], "schedule_hours_min": 6, "hour_share_percent": 80.0,
                             "idle_threshold_percent": 10.0, "idle_hours": 112, "hourly_rate_usd_cents": 59,
                             "series_unit": "percent of days idle",
                             "series": [{"label": f"{h:02d}:00", "value": 100.0 if h in (22, 23, 0, 1, 2, 3, 4, 5)
                                         else 0.0} for h in range(24)]})
    html = page(alice, f"{PAGE}/{schedule.public_id}")
    assert 'data-testid="advice-only"' in html and 'data-testid="apply"' not in html
    assert 'data-testid="dismiss-form"' in html and 'data-testid="snooze-form"' in html
    assert 'data-testid="evidence-stop_ranges_utc">22:00–06:00<' in html
    assert 'data-testid="evidence-idle_hours">112 h<' in html and "Idle hours at those times" in html
    assert ("The hourly rate ($0.59) × the 112 hours it sat idle at those times in the last 14 days, scaled to a "
            "30-day month (× 30 ÷ 14).") in html
    figure = re.search(r'<figure class="chart" id="chart-evidence".*?</svg>', html).group(0)
    assert len(re.findall(r"<rect ", figure)) == 24 and "22:00: 100%" in figure and "stop hours from 80%" in figure
    assert alice.get(f"{PAGE}/{schedule.public_id}/apply").status_code == 302  # nothing to confirm
    refused = alice.post_form(f"{PAGE}/{schedule.public_id}/apply", {}, token_from=f"{PAGE}/{schedule.public_id}")
    assert refused.status_code == 400 and "advice only: there is nothing to apply" in text(refused)


def test_apply_asks_first_and_then_stops_the_instance(alice, acme):
    rec = idle_finding(acme)
    confirm = page(alice, f"{PAGE}/{rec.public_id}/apply")  # the page that asks, without JavaScript
    assert "Stop instance inference-l4-1 now?" in confirm and 'data-testid="confirm-apply"' in confirm
    assert instance(acme, "inference-l4-1").status == "running" and status_of(acme, rec) == "open"

    response = alice.post_form(f"{PAGE}/{rec.public_id}/apply", {}, token_from=f"{PAGE}/{rec.public_id}/apply")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{PAGE}/{rec.public_id}")
    assert instance(acme, "inference-l4-1").status == "stopped" and status_of(acme, rec) == "applied"
    html = page(alice, f"{PAGE}/{rec.public_id}")
    assert "Done: Stop instance inference-l4-1." in html and 'data-status="applied"' in html
    assert "Applied 2026-11-14 12:00 UTC by alice@acme.test" in html
    audited = acme.scalars(select(AuditEvent.action).where(AuditEvent.target == rec.public_id)).all()
    assert "advice.recommendation_applied" in audited
    assert 'data-testid="total">$0.00<' in page(alice)  # applied is history

    again = alice.post_form(f"{PAGE}/{rec.public_id}/apply", {}, token_from=f"{PAGE}/{rec.public_id}")
    assert again.status_code == 400 and "only open ones can be applied" in text(again)


def test_apply_with_htmx_swaps_the_action_panel(alice, acme):
    rec = idle_finding(acme)
    response = alice.htmx("POST", f"{PAGE}/{rec.public_id}/apply", token_from=f"{PAGE}/{rec.public_id}")
    html = text(response)
    assert response.status_code == 200 and "<html" not in html
    assert '<section class="card" id="advice-actions"' in html and "<main" not in html
    assert 'data-testid="advice-notice">Done: Stop instance inference-l4-1.<' in html
    assert "See your instances" in html
    assert instance(acme, "inference-l4-1").status == "stopped"


def test_apply_on_an_instance_already_stopped_is_refused_and_the_advice_stays_open(alice, acme):
    rec = idle_finding(acme)
    stopped = instance(acme, "inference-l4-1")
    stopped.status = "stopped"
    acme.commit()
    response = alice.htmx("POST", f"{PAGE}/{rec.public_id}/apply", token_from=f"{PAGE}/{rec.public_id}")
    assert response.status_code == 400 and "<main" not in text(response)
    assert ('data-testid="panel-error">Instance inference-l4-1 is stopped, not running; there is nothing to stop.<'
            in text(response))
    assert status_of(acme, rec) == "open"


def test_a_resize_says_which_type_and_its_price(alice, acme):
    a100 = instance(acme, "training-a100-1")
    rec = add(acme, "acme", "rightsize", a100.public_id, 720_00, action="resize:A100-40GB", instance_id=a100.id)
    html = page(alice, f"{PAGE}/{rec.public_id}")
    assert "Resize training-a100-1 to A100-40GB</a>" in html
    assert ("training-a100-1 moves to the A100-40GB GPU type, billed at its rate ($1.49/h list price) from now "
            "on.") in html


def test_a_plan_change_says_what_it_does_to_this_period(alice, acme):
    rec = add(acme, "acme", "tier_fit", "plan", 49_00, action="change_plan:free", title="Move to the Free plan")
    html = page(alice, f"{PAGE}/{rec.public_id}")
    assert "Change plan to Free (prorated)</a>" in html
    # 16.5 of November's 30 days left on Pro's 49.00: a credit of 26.95, nothing to charge on Free.
    assert "this period's invoice changes by -$26.95 (prorated to the second)" in html
    assert "from the next period on the fee is $0.00 a month" in html


def test_dismiss_needs_a_reason_beside_the_field(alice, acme):
    rec = idle_finding(acme)
    path = f"{PAGE}/{rec.public_id}/dismiss"
    response = alice.post_form(path, {"reason": "   "}, token_from=f"{PAGE}/{rec.public_id}")
    html = text(response)
    assert response.status_code == 400 and "<html" in html
    assert re.search(r'<textarea[^>]*aria-invalid="true"[^>]*name="reason"|<textarea[^>]*name="reason"[^>]*'
                     r'aria-invalid="true"', html)
    assert 'id="reason-error" data-testid="reason-error">Say why you dismiss it' in html
    assert status_of(acme, rec) == "open"

    response = alice.htmx("POST", path, token_from=f"{PAGE}/{rec.public_id}", data={"reason": ""})
    assert response.status_code == 400 and "<html" not in text(response) and "reason-error" in text(response)

    response = alice.htmx("POST", path, token_from=f"{PAGE}/{rec.public_id}", data={"reason": "A reserved spare"})
    assert response.status_code == 200 and 'data-status="dismissed"' in text(response)
    assert "Dismissed: “A reserved spare”." in text(response)
    db_rec = acme.get(Recommendation, rec.id)
    acme.refresh(db_rec)
    assert db_rec.status == "dismissed" and db_rec.dismiss_reason == "A reserved spare"

    again = alice.htmx("POST", path, token_from=f"{PAGE}/{rec.public_id}", data={"reason": "twice"})
    assert again.status_code == 400  # a second dismissal (another tab): said above the panel, nothing changes
    assert ('data-testid="panel-error">This recommendation is dismissed; only open or snoozed ones can be '
            'dismissed.<') in text(again)


@pytest.mark.parametrize("until", ["2026-11-13", "2026-11-14"])
def test_snooze_must_be_after_today(alice, acme, until):
    rec = idle_finding(acme)
    response = alice.post_form(f"{PAGE}/{rec.public_id}/snooze", {"until": until},
                               token_from=f"{PAGE}/{rec.public_id}")
    html = text(response)
    assert response.status_code == 400
    assert 'data-testid="until-error">Snooze until a date after today (2026-11-14, UTC).<' in html
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*name="until"|<input[^>]*name="until"[^>]*aria-invalid', html)
    assert status_of(acme, rec) == "open"


def test_snooze_until_tomorrow_and_a_missing_date_is_named(alice, acme):
    rec = idle_finding(acme)
    detail = page(alice, f"{PAGE}/{rec.public_id}")
    assert re.search(r'<input[^>]*min="2026-11-15"[^>]*>', detail) and 'type="date"' in detail
    missing = alice.post_form(f"{PAGE}/{rec.public_id}/snooze", {"until": ""}, token_from=f"{PAGE}/{rec.public_id}")
    assert missing.status_code == 400 and 'data-testid="until-error">Pick the date it should come back' in text(missing)
    response = alice.post_form(f"{PAGE}/{rec.public_id}/snooze", {"until": "2026-11-15"},
                               token_from=f"{PAGE}/{rec.public_id}")
    assert response.status_code == 302 and status_of(acme, rec) == "snoozed"
    html = page(alice, f"{PAGE}/{rec.public_id}")
    assert "Snoozed until 15 Nov 2026" in html and "Snoozed until 2026-11-15 (UTC)" in html


def test_a_member_sees_the_advice_but_cannot_act(bob, acme):
    rec = idle_finding(acme)
    assert 'data-testid="total">$10.11<' in page(bob)
    html = page(bob, f"{PAGE}/{rec.public_id}")
    assert 'data-testid="evidence"' in html and 'data-testid="owners-only"' in html
    assert "Apply would: <strong>Stop instance inference-l4-1</strong>" in html
    assert 'data-testid="apply"' not in html and 'data-testid="dismiss-form"' not in html
    assert 'data-testid="confirm-apply"' not in page(bob, f"{PAGE}/{rec.public_id}/apply")
    for action, data in (("apply", {}), ("dismiss", {"reason": "no"}), ("snooze", {"until": "2026-11-20"})):
        response = bob.post_form(f"{PAGE}/{rec.public_id}/{action}", data, token_from=f"{PAGE}/{rec.public_id}")
        assert response.status_code == 403, action
    assert instance(acme, "inference-l4-1").status == "running" and status_of(acme, rec) == "open"


def test_another_organizations_recommendation_is_not_found(alice, acme):
    theirs = add(acme, "globex", "tier_fit", "plan", 45_67, currency="EUR", action="change_plan:pro")
    assert alice.get(f"{PAGE}/{theirs.public_id}").status_code == 404
    assert alice.get(f"{PAGE}/{theirs.public_id}/apply").status_code == 404
    assert alice.get(f"{PAGE}/rec_doesnotexist").status_code == 404
    for action, data in (("apply", {}), ("dismiss", {"reason": "mine now"}), ("snooze", {"until": "2026-11-20"})):
        response = alice.post_form(f"{PAGE}/{theirs.public_id}/{action}", data, token_from=PAGE)
        assert response.status_code == 404, action
    assert status_of(acme, theirs) == "open"


def test_actions_without_the_csrf_token_are_refused(alice, acme):
    rec = idle_finding(acme)
    for action, data in (("apply", {}), ("dismiss", {"reason": "spare"}), ("snooze", {"until": "2026-11-20"})):
        response = alice.http.post(f"{PAGE}/{rec.public_id}/{action}", data=data)
        assert response.status_code == 400, action
    assert instance(acme, "inference-l4-1").status == "running" and status_of(acme, rec) == "open"


@pytest.fixture
def admin(acme, make_client):
    """Admins sign in with a TOTP code of the real time; then the clock stops again."""
    clock.reset()
    browser = make_client()
    browser.login_admin("admin@matrix.test")
    clock.freeze(NOW)
    return browser


def test_the_admin_page_totals_savings_per_customer_and_the_most_common_findings(admin, acme):
    acme_l4, acme_a100 = instance(acme, "inference-l4-1"), instance(acme, "training-a100-1")
    idle_finding(acme, savings=10_11)
    add(acme, "acme", "rightsize", acme_a100.public_id, 460_80, action="resize:A100-40GB")
    add(acme, "acme", "commitment", acme_l4.public_id, 99_00, status="dismissed", dismiss_reason="no")  # not open
    globex_ids = acme.scalars(select(Instance.public_id).where(Instance.org_id == org(acme, "globex").id)).all()
    add(acme, "globex", "idle_instance", globex_ids[0], 2_000_00, currency="EUR", savings_usd=2_160_00)
    add(acme, "globex", "idle_instance", globex_ids[1], 1_000_00, currency="EUR", savings_usd=1_080_00)
    add(acme, "globex", "tier_fit", "plan", 100_00, currency="EUR", savings_usd=108_00)

    html = page(admin, ADMIN_PAGE)
    assert 'data-testid="total-usd">$3,818.91<' in html  # 10.11 + 460.80 + 2,160 + 1,080 + 108
    assert 'data-testid="total-EUR">€3,100.00<' in html and 'data-testid="total-USD">$470.91<' in html
    orgs = re.findall(r'<tr data-testid="org-([a-z]+)">', html)
    assert orgs == ["globex", "acme"]  # biggest savings first
    globex = re.search(r'<tr data-testid="org-globex">.*?</tr>', html).group(0)
    assert 'data-testid="open-count">3<' in globex and 'data-testid="savings-usd"><strong>$3,348.00<' in globex
    assert 'data-testid="savings-own">€3,100.00<' in globex
    acme_row = re.search(r'<tr data-testid="org-acme">.*?</tr>', html).group(0)
    assert 'data-testid="open-count">2<' in acme_row and "$470.91" in acme_row
    kinds = re.findall(r'<tr data-testid="kind-([a-z_]+)">', html)
    assert kinds == ["idle_instance", "rightsize", "tier_fit"]  # most common first, then by savings
    idle = re.search(r'<tr data-testid="kind-idle_instance">.*?</tr>', html).group(0)
    assert ('data-testid="kind-count">3<' in idle and 'data-testid="kind-orgs">2<' in idle
            and 'data-testid="kind-savings">$3,250.11<' in idle)
    assert "Idle instance" in idle and '<a href="/admin/cost-advice" aria-current="page">Cost advice</a>' in html


def test_the_admin_page_is_for_admins_only(alice, bob):
    assert alice.get(ADMIN_PAGE).status_code == 403
    assert bob.get(ADMIN_PAGE).status_code == 403
