"""Deadlines on a weekend or Chinese statutory holiday move to the next working day; adjusted
working days (调休) count as working days."""

import datetime as dt

import pytest
from django.urls import reverse

from licensing import selectors, services
from licensing.domain.workdays import effective_date, is_working_day

from .factories import OfferFactory


@pytest.mark.parametrize(
    ("due", "effective"),
    [
        ("2026-10-01", "2026-10-08"),  # National Day holiday 1-7 October
        ("2026-10-10", "2026-10-10"),  # a Saturday declared a working day
        ("2026-10-09", "2026-10-09"),  # an ordinary Friday
        ("2026-10-11", "2026-10-12"),  # an ordinary Sunday
        ("2026-02-14", "2026-02-14"),  # Saturday before the Spring Festival, declared a working day
        ("2026-02-16", "2026-02-24"),  # Spring Festival week
        ("2027-07-31", "2027-08-02"),  # a later year: statutory holidays and weekends
        ("2027-02-06", "2027-02-11"),  # Spring Festival 2027 from the computed statutory holidays
    ],
)
def test_effective_date(due, effective):
    assert effective_date(dt.date.fromisoformat(due)) == dt.date.fromisoformat(effective)


def test_adjusted_working_day_is_a_working_day():
    assert is_working_day(dt.date(2026, 10, 10)) and not is_working_day(dt.date(2026, 10, 3))


def test_a_year_without_the_official_calendar_says_which_year_it_falls_back_for(caplog):
    """Beyond chinese_calendar's years the statutory holidays stand in, and the log names the year
    (mutation run 11: the year passed as None went unnoticed, holidays filling it in lazily)."""
    from licensing.domain import workdays

    workdays._statutory_holidays.cache_clear()
    with caplog.at_level("WARNING", logger=workdays.log.name):
        assert not is_working_day(dt.date(2097, 10, 1))  # National Day
    assert "for 2097" in caplog.text


def test_schedule_keeps_the_contract_date_and_stores_the_effective_one(institution, make_license, staff, clock):
    clock("2025-10-01")
    offer = OfferFactory(
        patent__owner=institution, first_due_months=12, installment_count=2, installment_interval_months=1
    )
    lic = make_license(offer, "trial", start="2025-04-01")  # 6 months: ends 2025-10-01 (holiday)
    assert (lic.trial_end, lic.trial_end_effective) == (dt.date(2025, 10, 1), dt.date(2025, 10, 9))
    lic = services.purchase(license_id=lic.pk, plan="installments", by=staff, on=dt.date(2025, 10, 1))

    dates = list(lic.installments.order_by("sequence").values_list("due_date", "effective_due_date"))
    assert dates == [(dt.date(2026, 10, 1), dt.date(2026, 10, 8)), (dt.date(2026, 11, 1), dt.date(2026, 11, 2))]


def test_overdue_counts_from_the_effective_date(institution, make_license, staff, clock):
    clock("2025-10-01")
    offer = OfferFactory(patent__owner=institution, first_due_months=12, lump_sum_allowed=True)
    lic = make_license(offer, "trial", start="2025-04-01")
    services.purchase(license_id=lic.pk, plan="lump_sum", by=staff, on=dt.date(2025, 10, 1))  # due 2026-10-01

    clock("2026-10-08")
    assert services.mark_overdue(license_id=lic.pk).state == "purchased"
    clock("2026-10-09")
    assert services.mark_overdue(license_id=lic.pk).state == "in_arrears"


def test_license_page_shows_contractual_and_effective_dates(admin_client, institution, make_license, staff, clock):
    clock("2025-10-01")
    offer = OfferFactory(patent__owner=institution, first_due_months=12)
    lic = make_license(offer, "trial", start="2025-04-01")
    services.purchase(license_id=lic.pk, plan="lump_sum", by=staff, on=dt.date(2025, 10, 1))

    body = admin_client.get(
        reverse("admin:licensing_license_change", args=[lic.pk]), headers={"accept-language": "en"}
    ).content.decode()
    assert "2026-10-01" in body and "2026-10-08" in body  # ISO on English pages too
    assert "Due date (effective)" in body


def test_refresh_recomputes_open_deadlines_after_a_calendar_update(institution, make_license, staff, clock):
    from django.core.management import call_command

    from licensing.models import Installment

    clock("2025-10-01")
    offer = OfferFactory(patent__owner=institution, first_due_months=12)
    lic = make_license(offer, "trial", start="2025-04-01")
    services.purchase(license_id=lic.pk, plan="lump_sum", by=staff, on=dt.date(2025, 10, 1))
    Installment.objects.update(effective_due_date=dt.date(2026, 10, 1))  # as computed by an older calendar

    call_command("refresh_effective_dates", verbosity=0)

    installment = Installment.objects.get()
    assert installment.effective_due_date == dt.date(2026, 10, 8)
    event = selectors.audit_trail(installment).first()  # the move is in the license's history
    assert event.changes == {"effective_due_date": ["2026-10-01", "2026-10-08"]}
    assert "calendar was updated" in event.why
    call_command("refresh_effective_dates", verbosity=0)  # nothing left to move: no new event
    assert selectors.audit_trail(installment).filter(action="changed").count() == 1
