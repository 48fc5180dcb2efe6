"""Running royalties (issue 14): each period of the term is an installment from the purchase on,
its amount unknown until the report is accepted; the issue's examples, exact, through the services
and the sweep."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from licensing import services
from licensing.models import AuditEvent, Installment, InsuranceClaim, License, Reminder, RoyaltyReport
from licensing.reminders.delivery import deliver_reminder
from licensing.reminders.sweep import run_sweep

from .factories import EnterpriseFactory, OfferFactory
from .test_sweep_lifecycle import live_days

ROYALTY_TERMS = {
    "price": D("0"),
    "royalty_base": "net_sales",
    "royalty_rates": "3% up to 10,000,000; 2%",
    "reporting_period": "quarter",
    "report_due_days": 30,
}


@pytest.fixture
def royalty_license(institution, make_license, clock):
    """Bought on 2026-01-01 (a trial from 2025-07-01), royalties on net sales in quarters."""

    def make(**terms):
        clock("2026-01-01")
        offer = OfferFactory(patent__owner=institution, **{**ROYALTY_TERMS, **terms})
        return make_license(offer, "purchased", start="2025-07-01", plan="lump_sum")

    return make


def report(lic, start: str) -> RoyaltyReport:
    return lic.royalty_reports.get(period_start=dt.date.fromisoformat(start))


def file_and_accept(lic, start: str, base: str, staff) -> RoyaltyReport:
    r = services.file_royalty_report(report_id=report(lic, start).pk, base=D(base), by=staff)
    return services.accept_royalty_report(report_id=r.pk, by=staff)


def test_the_purchase_opens_a_period_for_each_quarter_of_the_term(royalty_license):
    lic = royalty_license()

    reports = list(lic.royalty_reports.order_by("period_start"))
    first = reports[0]
    assert (first.period_start, first.period_end, first.due_date) == (
        dt.date(2026, 1, 1),
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 30),
    )
    assert (first.installment.kind, first.installment.amount, first.installment.report_pending) == (
        Installment.Kind.ROYALTY,
        D("0.00"),
        True,
    )
    assert reports[-1].period_end == lic.term_end  # the term ends with the patent
    assert License.objects.get(pk=lic.pk).state == License.State.PURCHASED  # not paid up: periods to come
    assert not lic.is_free


def test_tiers_on_the_license_years_cumulative_base_give_the_issues_example(royalty_license, staff, clock):
    """3% up to 10,000,000, 2% above: 6,000,000 then 7,000,000 give 180,000.00 and 180,000.00."""
    lic = royalty_license()
    clock("2026-07-02")

    q1 = file_and_accept(lic, "2026-01-01", "6000000.00", staff)
    q2 = file_and_accept(lic, "2026-04-01", "7000000.00", staff)

    assert (q1.royalty, q2.royalty) == (D("180000.00"), D("180000.00"))
    assert (q1.installment.amount, q2.installment.amount) == (D("180000.00"), D("180000.00"))
    assert License.objects.get(pk=lic.pk).installments.open().filter(report_pending=False).count() == 2


@pytest.mark.parametrize(
    ("bases", "shortfall"),
    [
        (["12000000.00", "0", "0", "0"], D("140000.00")),  # 360,000.00 accepted: 140,000.00 falls due
        (["10000000.00", "8000000.00", "0", "0"], None),  # 540,000.00 accepted: the minimum is reached
    ],
)
def test_a_minimum_annual_royalty_shortfall_falls_due_after_the_license_year(
    royalty_license, staff, clock, bases, shortfall
):
    lic = royalty_license(royalty_rates="3%", royalty_minimum=D("500000.00"))
    clock("2027-01-05")
    for start, base in zip(["2026-01-01", "2026-04-01", "2026-07-01", "2026-10-01"], bases, strict=True):
        file_and_accept(lic, start, base, staff)

    minimum = Installment.objects.filter(license=lic, kind=Installment.Kind.ROYALTY_MINIMUM)
    if shortfall is None:  # 3% of 18,000,000 = 540,000: the minimum is reached
        assert not minimum.exists()
    else:
        (inst,) = minimum
        assert (inst.amount, inst.due_date) == (shortfall, dt.date(2027, 1, 30))


def test_a_minimum_is_pro_rata_in_a_year_held_in_part(institution, make_license, staff, clock):
    clock("2026-07-01")
    terms = {**ROYALTY_TERMS, "royalty_rates": "3%", "royalty_minimum": D("365000")}
    offer = OfferFactory(patent__owner=institution, **terms)
    lic = make_license(offer, "purchased", start="2026-01-01", plan="lump_sum")  # bought 2026-07-01
    clock("2027-01-05")
    file_and_accept(lic, "2026-07-01", "0", staff)
    file_and_accept(lic, "2026-10-01", "0", staff)

    inst = Installment.objects.get(license=lic, kind=Installment.Kind.ROYALTY_MINIMUM)
    assert inst.amount == D("184000.00")  # 365,000 x 184 of 365 days


def test_an_unfiled_report_is_chased_and_escalated_like_an_unpaid_installment(institution, staff, clock):
    """Reminders before and after its due date, arrears, default after the grace days, and the
    insured claim, by the same sweep and the same ledger as installments."""
    clock("2025-07-01")
    institution.contact_email = "tto@univ.example"
    institution.save()
    offer = OfferFactory(
        patent__owner=institution, **ROYALTY_TERMS, royalty_minimum=D("400000.00"), insurance_required=True
    )
    sme = EnterpriseFactory(contact_email="finance@sme.example", language="en")
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=sme)
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2025, 7, 1))
    services.register_policy(
        license_id=lic.pk,
        by=staff,
        insurer="PICC",
        insurer_email="claims@picc.example",
        policy_number="PI-9",
        coverage_ratio=D("0.8"),
        starts_on=dt.date(2025, 7, 1),
        ends_on=dt.date(2030, 7, 1),
    )
    clock("2026-01-01")
    services.purchase(license_id=lic.pk, plan="lump_sum", by=staff, on=dt.date(2026, 1, 1))
    q1 = report(lic, "2026-01-01").installment

    log = live_days(clock, "2026-04-15", "2026-08-01")

    claim = InsuranceClaim.objects.get(license=lic)
    chased = [key for _day, key in log if key.startswith(("installment_due", "overdue", "claim"))]
    assert [key for key in chased if f":{q1.pk}:" in key or "claim" in key] == [
        f"installment_due:installment:{q1.pk}:14",
        f"installment_due:installment:{q1.pk}:3",
        f"installment_due:installment:{q1.pk}:0",
        f"overdue:installment:{q1.pk}:1",
        f"overdue:installment:{q1.pk}:7",
        f"overdue:installment:{q1.pk}:30",
        f"claim_filed:insuranceclaim:{claim.pk}:0",
        f"claim_filed_insurer:insuranceclaim:{claim.pk}:0",
    ]
    days = dict((key, day) for day, key in log)
    assert days[f"overdue:installment:{q1.pk}:1"] == "2026-05-01"
    assert days[f"claim_filed:insuranceclaim:{claim.pk}:0"] == "2026-07-30"  # 90 grace days after 04-30
    lic.refresh_from_db()
    assert lic.state == License.State.CLAIM_FILED
    # Q1 never reported: its floor, 400,000 x 90/365 = 98,630.14, is what the claim covers (x 0.8)
    assert (claim.outstanding_at_filing, claim.claimed_amount) == (D("98630.14"), D("78904.11"))
    due_mail = next(m for m in mail.outbox if m.extra_headers["X-Reminder-Key"].endswith(f"{q1.pk}:14"))
    assert "royalty report" in due_mail.subject.lower() and "2026-01-01" in due_mail.body


def test_a_nil_report_settles_its_period_and_cures_the_arrears(royalty_license, staff, clock):
    lic = royalty_license()
    clock("2026-05-02")
    assert services.mark_overdue(license_id=lic.pk).state == License.State.IN_ARREARS

    file_and_accept(lic, "2026-01-01", "0", staff)

    lic.refresh_from_db()
    inst = report(lic, "2026-01-01").installment
    assert (inst.state, inst.amount, lic.state) == (Installment.State.PAID, D("0.00"), License.State.PURCHASED)


def test_a_report_is_corrected_until_accepted_and_each_version_is_audited(royalty_license, staff, clock):
    lic = royalty_license()
    clock("2026-04-02")
    q1 = report(lic, "2026-01-01")
    services.file_royalty_report(report_id=q1.pk, base="1000000.00", units=10, by=staff)
    services.file_royalty_report(report_id=q1.pk, base="1200000.00", units=12, note="Late invoice", by=staff)
    services.dispute_royalty_report(report_id=q1.pk, by=staff, reason="Invoices show 1,300,000")
    with pytest.raises(ValidationError, match="not possible while"):
        services.accept_royalty_report(report_id=q1.pk, by=staff)
    services.file_royalty_report(report_id=q1.pk, base="1300000.00", by=staff)
    accepted = services.accept_royalty_report(report_id=q1.pk, by=staff)

    assert (accepted.base_amount, accepted.royalty) == (D("1300000.00"), D("39000.00"))
    with pytest.raises(ValidationError, match="not possible while"):
        services.file_royalty_report(report_id=q1.pk, base="1.00", by=staff)
    events = AuditEvent.objects.filter(object_id=str(q1.pk), transition__in=["file", "dispute", "accept"])
    assert [e.transition for e in events.order_by("at", "pk")] == ["file", "file", "dispute", "file", "accept"]
    second = events.filter(transition="file").order_by("at", "pk")[1]
    assert second.changes["base_amount"] == ["1000000.00", "1200000.00"]


@pytest.mark.parametrize(
    ("day", "base", "message"),
    [
        ("2026-03-31", "100.00", "runs until 2026-03-31"),  # the period has not ended
        ("2026-04-02", "-1.00", "cannot be negative"),
        ("2026-04-02", "1.001", "two decimal places"),
        ("2026-04-02", None, "nil report"),
        ("2026-04-02", "1e400", "at most"),
    ],
)
def test_bad_reports_are_refused_and_write_nothing(royalty_license, staff, clock, day, base, message):
    lic = royalty_license()
    clock(day)
    q1 = report(lic, "2026-01-01")
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match=message):
        services.file_royalty_report(report_id=q1.pk, base=base, by=staff)
    q1.refresh_from_db()
    assert (q1.state, q1.base_amount, AuditEvent.objects.count()) == ("expected", None, events)


def test_reports_of_a_license_year_are_accepted_in_order(royalty_license, staff, clock):
    lic = royalty_license()
    clock("2026-07-02")
    services.file_royalty_report(report_id=report(lic, "2026-01-01").pk, base="1", by=staff)
    q2 = services.file_royalty_report(report_id=report(lic, "2026-04-01").pk, base="1", by=staff)
    with pytest.raises(ValidationError, match="2026-01-01 – 2026-03-31 first"):
        services.accept_royalty_report(report_id=q2.pk, by=staff)


def test_caps_per_year_and_in_total(royalty_license, staff, clock):
    lic = royalty_license(royalty_rates="10%", royalty_cap_year=D("150000"), royalty_cap_total=D("250000"))
    clock("2027-04-02")
    q1 = file_and_accept(lic, "2026-01-01", "1000000", staff)  # 100,000
    q2 = file_and_accept(lic, "2026-04-01", "1000000", staff)  # 100,000, capped at 50,000 for the year
    q3 = file_and_accept(lic, "2026-07-01", "1000000", staff)  # nothing more this year
    file_and_accept(lic, "2026-10-01", "0", staff)
    y2 = file_and_accept(lic, "2027-01-01", "2000000", staff)  # 200,000: the total cap leaves 100,000

    assert [r.royalty for r in (q1, q2, q3, y2)] == [D("100000.00"), D("50000.00"), D("0.00"), D("100000.00")]


def test_reports_filed_before_any_is_accepted_never_owe_more_than_the_total_cap(royalty_license, staff, clock):
    """Issue 21, point 2: the total cap counted accepted reports only, the yearly one filed ones
    too; two reports filed before acceptance owed 16,000.00 under a total cap of 10,000.00."""
    lic = royalty_license(royalty_rates="10%", royalty_cap_total=D("10000"))
    clock("2026-07-02")
    for start in ("2026-01-01", "2026-04-01"):
        services.file_royalty_report(report_id=report(lic, start).pk, base=D("80000"), by=staff)
    owed = [report(lic, start).royalty for start in ("2026-01-01", "2026-04-01")]
    assert owed == [D("8000.00"), D("2000.00")]
    assert sum(owed) == lic.royalty_cap_total


def test_a_later_period_filed_first_still_leaves_the_year_within_its_cap(royalty_license, staff, clock):
    """Filed out of order (Q1 late), the year's reports never owe more than the yearly cap; once
    accepted in the year's order they carry it period by period."""
    lic = royalty_license(royalty_rates="10%", royalty_cap_year=D("10000"))
    clock("2026-07-02")
    q1, q2 = report(lic, "2026-01-01"), report(lic, "2026-04-01")
    services.file_royalty_report(report_id=q2.pk, base=D("80000"), by=staff)
    services.file_royalty_report(report_id=q1.pk, base=D("80000"), by=staff)
    owed = [report(lic, start).royalty for start in ("2026-01-01", "2026-04-01")]
    assert owed == [D("2000.00"), D("8000.00")] and sum(owed) == D("10000.00")


def test_the_preview_is_what_acceptance_gives(royalty_license, staff, clock):
    lic = royalty_license()
    clock("2026-07-02")
    file_and_accept(lic, "2026-01-01", "6000000.00", staff)
    q2 = report(lic, "2026-04-01")
    assert services.preview_royalty(report=q2, base="7000000.00") == D("180000.00")


def test_an_audit_finding_adds_an_amount_due_with_its_reason(royalty_license, staff, clock):
    lic = royalty_license()
    clock("2026-09-01")
    with pytest.raises(ValidationError, match="Give a reason"):
        services.record_royalty_adjustment(license_id=lic.pk, amount="12000.00", reason="", by=staff)
    inst = services.record_royalty_adjustment(
        license_id=lic.pk, amount="12000.00", reason="Audit 2026: Q1 sales under-reported", by=staff
    )
    assert (inst.kind, inst.amount, inst.due_date) == (
        Installment.Kind.ROYALTY_ADJUSTMENT,
        D("12000.00"),
        dt.date(2026, 10, 1),
    )
    event = AuditEvent.objects.get(object_id=str(inst.pk), action="created")
    assert event.reason == "Audit 2026: Q1 sales under-reported"


def test_a_free_license_files_use_reports_without_amounts(institution, make_license, staff, clock):
    clock("2026-01-01")
    offer = OfferFactory(patent__owner=institution, price=D("0"), use_reports_required=True, reporting_period="year")
    lic = make_license(offer, "purchased", start="2025-07-01", plan="lump_sum")
    assert License.objects.get(pk=lic.pk).state == License.State.PAID_UP
    first = report(lic, "2026-01-01")
    assert first.installment is None and first.period_end == dt.date(2026, 12, 31)

    clock("2027-01-10")
    services.file_royalty_report(report_id=first.pk, base="999", units=1200, note="Line 2 running", by=staff)
    accepted = services.accept_royalty_report(report_id=first.pk, by=staff)
    assert (accepted.state, accepted.base_amount, accepted.units, accepted.royalty) == ("accepted", None, 1200, None)


def test_a_paid_royalty_period_and_the_credit(royalty_license, staff, clock):
    """An accepted royalty is paid like any installment; money beyond it waits as credit for the
    next period's royalty."""
    lic = royalty_license(royalty_rates="5%")
    clock("2026-04-05")
    file_and_accept(lic, "2026-01-01", "100000.00", staff)  # 5,000.00
    services.record_payment(
        license_id=lic.pk, amount="6000.00", paid_on=dt.date(2026, 4, 5), reference="R1", idempotency_key="r1", by=staff
    )
    lic.refresh_from_db()
    assert lic.credit == D("1000.00")
    clock("2026-07-03")
    file_and_accept(lic, "2026-04-01", "100000.00", staff)
    q2 = report(lic, "2026-04-01").installment
    lic.refresh_from_db()
    assert (q2.paid_amount, lic.credit) == (D("1000.00"), D("0.00"))


def test_sweep_queries_do_not_grow_with_report_periods(royalty_license, django_assert_num_queries, clock):
    """Report deadlines are installments: claiming their notices is the same INSERT … SELECT per
    kind, so one royalty license (with its ~50 periods) costs the sweep what four cost, claiming
    notices or not."""
    from .test_reminders import HOURLY_SWEEP_QUERIES, QUIET_SWEEP_QUERIES

    royalty_license()
    clock("2026-04-16")
    with django_assert_num_queries(QUIET_SWEEP_QUERIES):
        assert run_sweep()["reminders"] == 1  # Q1's report, due in 14 days
    for _ in range(3):
        royalty_license()
    clock("2026-04-16")
    with django_assert_num_queries(HOURLY_SWEEP_QUERIES):  # the same day: the licenses new since
        assert run_sweep()["reminders"] == 3
    with django_assert_num_queries(HOURLY_SWEEP_QUERIES):
        assert run_sweep()["reminders"] == 0  # the next hour: nothing new
    assert Reminder.objects.filter(kind=Reminder.Kind.INSTALLMENT_DUE).count() == 4
    assert deliver_reminder(Reminder.objects.first().pk) in ("sent", "cancelled")


# -- the portal ------------------------------------------------------------------------------------


@pytest.fixture
def sme_royalty(sme_client, institution, make_license, clock):
    clock("2026-01-01")
    offer = OfferFactory(patent__owner=institution, **ROYALTY_TERMS)
    lic = make_license(offer, "purchased", start="2025-07-01", plan="lump_sum", enterprise=sme_client.member.enterprise)
    clock("2026-07-02")
    return lic


def test_the_sme_sees_the_royalty_before_filing_and_computing_writes_nothing(sme_client, sme_royalty, staff):
    lic = sme_royalty
    file_and_accept(lic, "2026-01-01", "6000000.00", staff)
    q2 = report(lic, "2026-04-01")
    url = f"/licenses/{lic.pk}/reports/{q2.pk}/"
    assert url in sme_client.get(f"/licenses/{lic.pk}/").content.decode()

    computed = sme_client.post(url, {"base_amount": "7000000.00", "action": "compute"})
    assert computed.status_code == 200 and "180,000.00" in computed.content.decode()
    q2.refresh_from_db()
    assert (q2.state, q2.base_amount) == ("expected", None)

    filed = sme_client.post(url, {"base_amount": "7000000.00", "units": "40", "action": "file"})
    assert filed.status_code == 302
    q2.refresh_from_db()
    assert (q2.state, q2.base_amount, q2.royalty, q2.filed_by) == (
        "filed",
        D("7000000.00"),
        D("180000.00"),
        sme_client.member.user,
    )


@pytest.mark.parametrize(
    ("language", "base", "message"),
    [
        ("en", "-5", "cannot be negative"),
        ("zh-hans", "-5", "不能为负"),
        ("en", "", "This field is required"),
        ("zh-hans", "1.001", "小数不超过 2 位"),
    ],
)
def test_a_bad_report_is_refused_in_the_users_language_and_writes_nothing(
    sme_client, sme_royalty, language, base, message
):
    q1 = report(sme_royalty, "2026-01-01")
    sme_client.cookies["django_language"] = language
    response = sme_client.post(f"/licenses/{sme_royalty.pk}/reports/{q1.pk}/", {"base_amount": base, "action": "file"})
    assert response.status_code == 200 and message in response.content.decode()
    q1.refresh_from_db()
    assert (q1.state, q1.base_amount) == ("expected", None)


def test_a_period_not_ended_has_no_report_page(sme_client, sme_royalty):
    q3 = report(sme_royalty, "2026-07-01")  # runs to 2026-09-30
    assert sme_client.get(f"/licenses/{sme_royalty.pk}/reports/{q3.pk}/").status_code == 404


def test_report_pages_take_a_fixed_number_of_queries(sme_client, sme_royalty, staff, django_assert_num_queries):
    """The same for a license with 1 accepted report as with many periods filed (pinned)."""
    lic = sme_royalty
    q2 = report(lic, "2026-04-01")
    with django_assert_num_queries(4):
        sme_client.get(f"/licenses/{lic.pk}/reports/{q2.pk}/")
    file_and_accept(lic, "2026-01-01", "100", staff)
    with django_assert_num_queries(4):
        sme_client.get(f"/licenses/{lic.pk}/reports/{q2.pk}/")


def test_a_report_filed_on_time_is_not_late_while_the_tto_has_not_accepted_it(royalty_license, staff, clock):
    """Filing makes the reported royalty the amount due (self-assessed); paid, nothing is overdue."""
    lic = royalty_license(royalty_rates="5%")
    clock("2026-04-10")
    services.file_royalty_report(report_id=report(lic, "2026-01-01").pk, base="200000.00", by=staff)
    q1 = report(lic, "2026-01-01").installment
    assert (q1.amount, q1.report_pending) == (D("10000.00"), False)
    services.record_payment(
        license_id=lic.pk, amount="10000.00", paid_on=dt.date(2026, 4, 10), reference="R", idempotency_key="k", by=staff
    )

    clock("2026-05-06")
    run_sweep()
    assert License.objects.get(pk=lic.pk).state == License.State.PURCHASED


def test_a_correction_after_payment_moves_the_difference(royalty_license, staff, clock):
    """Corrected down, what was paid above the new royalty is credit; corrected up, the paid
    period owes again."""
    lic = royalty_license(royalty_rates="5%")
    clock("2026-04-10")
    q1 = report(lic, "2026-01-01")
    services.file_royalty_report(report_id=q1.pk, base="200000.00", by=staff)  # 10,000.00
    services.record_payment(
        license_id=lic.pk, amount="10000.00", paid_on=dt.date(2026, 4, 10), reference="R", idempotency_key="k", by=staff
    )
    services.file_royalty_report(report_id=q1.pk, base="160000.00", by=staff)  # 8,000.00
    lic.refresh_from_db()
    inst = Installment.objects.get(pk=q1.installment_id)
    assert (inst.amount, inst.paid_amount, lic.credit) == (D("8000.00"), D("8000.00"), D("2000.00"))

    services.file_royalty_report(report_id=q1.pk, base="260000.00", by=staff)  # 13,000.00: the credit pays 2,000
    inst.refresh_from_db()
    lic.refresh_from_db()
    assert (inst.amount, inst.paid_amount, inst.state, lic.credit) == (D("13000.00"), D("10000.00"), "due", D("0.00"))


# -- the admin -------------------------------------------------------------------------------------


def test_staff_accept_and_dispute_reports_with_the_buttons_and_others_see_nothing(
    client, royalty_license, staff, clock, tmp_path, settings
):
    from django.contrib.auth.models import Group
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from licensing.roles import TTO_STAFF_GROUP

    from .factories import StaffProfileFactory

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    group = Group.objects.get(name=TTO_STAFF_GROUP)
    staff.groups.add(group)
    lic = royalty_license()
    clock("2026-07-02")
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    q1 = services.file_royalty_report(
        report_id=report(lic, "2026-01-01").pk, base="100", attachment=SimpleUploadedFile("a.png", png), by=staff
    )
    q2 = services.file_royalty_report(report_id=report(lic, "2026-04-01").pk, base="100", by=staff)

    client.force_login(staff)
    act = lambda r, name, data=None: client.post(  # noqa: E731
        reverse("admin:licensing_royaltyreport_act", args=[r.pk, name]), data or {}, headers={"accept-language": "en"}
    )
    page = client.get(reverse("admin:licensing_license_change", args=[lic.pk])).content.decode()
    assert "record_royalty_adjustment" in page and reverse("admin:licensing_royaltyreport_change", args=[q1.pk]) in page
    download = client.get(reverse("admin:licensing_royaltyreport_attachment", args=[q1.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == png
    assert act(q2, "dispute", {"reason": ""}).status_code == 200  # a reason is required: nothing written
    assert act(q1, "accept").status_code == 302
    assert act(q2, "dispute", {"reason": "Invoices missing"}).status_code == 302
    q1.refresh_from_db()
    q2.refresh_from_db()
    assert (q1.state, q2.state, q2.dispute_reason) == ("accepted", "disputed", "Invoices missing")

    other = StaffProfileFactory().user
    other.groups.add(group)
    client.force_login(other)
    assert client.get(reverse("admin:licensing_royaltyreport_changelist")).context["cl"].result_count == 0
    assert client.get(reverse("admin:licensing_royaltyreport_attachment", args=[q1.pk])).status_code == 404
    assert act(q2, "dispute", {"reason": "x"}).status_code == 404


def test_the_calendar_feed_carries_report_deadlines(client, sme_client, sme_royalty):
    body = client.get(f"/calendar/{sme_client.member.calendar_token}.ics").content.decode()
    unfolded = body.replace("\r\n ", "")
    assert "SUMMARY:Royalty report due for" in unfolded and "2026-04-01 – 2026-06-30" in unfolded
    assert "DTSTART;VALUE=DATE:20260730" in unfolded  # Q2's report, due 30 days after the quarter
    assert "Pay CNY 0.00" not in unfolded


def test_the_dashboard_shows_income_by_fee_kind_and_reports_due_and_late(royalty_license, staff, clock):
    from licensing.reporting.dashboard import build_dashboard
    from licensing.selectors import BookFilter

    lic = royalty_license(royalty_rates="5%", entry_fee=D("20000.00"))
    clock("2026-05-05")
    file_and_accept(lic, "2026-01-01", "100000.00", staff)  # 5,000.00 royalty
    services.record_payment(
        license_id=lic.pk, amount="22000.00", paid_on=dt.date(2026, 5, 5), reference="R", idempotency_key="k", by=staff
    )
    board = build_dashboard(BookFilter(institution=lic.offer.patent.owner), dt.date(2026, 8, 1))

    rows = {label: values for label, *values in board.tables["income_by_kind"].rows}
    assert rows["Entry fee"] == [1, D("20000.00"), D("20000.00"), D("0.00")]
    assert rows["Royalty"] == [1, D("5000.00"), D("2000.00"), D("3000.00")]  # pending periods are not counted
    reports = dict(board.tables["royalty_reports"].rows)
    assert (reports["Late (past their due date, not filed)"], reports["Due in the next 30 days"]) == (1, 0)


def test_income_by_fee_kind_counts_only_what_has_fallen_due_by_the_periods_end(offer, make_license, staff, clock):
    """Issue 21, point 2: 'fallen due' summed every installment, those due next year too."""
    from licensing.reporting.dashboard import build_dashboard
    from licensing.selectors import BookFilter

    clock("2026-03-02")
    lic = make_license(offer, "purchased", start="2025-09-01", plan="installments")  # 3 every 6 months
    dues = list(lic.installments.order_by("due_date").values_list("effective_due_date", "amount"))
    book = BookFilter(institution=offer.patent.owner)

    def fallen_due(on, **period):
        rows = build_dashboard(BookFilter(**{**book.__dict__, **period}), on).tables["income_by_kind"].rows
        return {label: values for label, *values in rows}["Purchase installment"]

    first, second = dues[0], dues[1]
    assert fallen_due(first[0]) == [1, first[1], D("0.00"), first[1]]  # on its effective date
    assert fallen_due(first[0] - dt.timedelta(days=1)) == [0, D("0.00"), D("0.00"), D("0.00")]
    assert fallen_due(second[0], date_to=second[0] - dt.timedelta(days=1)) == [1, first[1], D("0.00"), first[1]]


def test_a_correction_without_a_new_attachment_keeps_the_one_filed(sme_client, sme_royalty, tmp_path, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    q1 = report(sme_royalty, "2026-01-01")
    url = f"/licenses/{sme_royalty.pk}/reports/{q1.pk}/"
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    sme_client.post(url, {"base_amount": "100", "action": "file", "attachment": SimpleUploadedFile("l.png", png)})
    q1.refresh_from_db()
    first = q1.attachment.name

    assert sme_client.post(url, {"base_amount": "120", "action": "file"}).status_code == 302
    q1.refresh_from_db()
    assert (q1.base_amount, q1.attachment.name) == (D("120.00"), first)
    assert len(list((tmp_path / "reports" / str(sme_royalty.pk)).iterdir())) == 1  # no copy of it


def test_the_royalty_reports_export_lists_each_period_with_hostile_text_neutralised(
    admin_client, royalty_license, staff, clock
):
    import csv
    import io

    from django.urls import reverse

    lic = royalty_license()
    clock("2026-07-02")
    file_and_accept(lic, "2026-01-01", "6000000.00", staff)
    q2 = services.file_royalty_report(report_id=report(lic, "2026-04-01").pk, base="100", by=staff)
    services.dispute_royalty_report(report_id=q2.pk, by=staff, reason='=HYPERLINK("http://x")')

    url = reverse("admin:export_csv", args=["royalty_reports"]) + "?date_from=2026-01-01&date_to=2026-12-31"
    response = admin_client.get(url, headers={"accept-language": "en"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert rows[0][5:10] == ["period from", "period to", "report due", "state", "base (CNY)"]
    assert [r[5] for r in rows[1:]] == ["2026-01-01", "2026-04-01", "2026-07-01"]  # due in 2026 (Q4: 2027-01-30)
    assert rows[1][8:12] == ["Accepted", "6000000.00", "", "180000.00"]
    assert rows[2][8] == "Disputed by the TTO" and rows[2][-1].startswith("'=")


@pytest.mark.parametrize("licenses", [1, 5])
def test_admin_report_pages_take_a_fixed_number_of_queries(
    admin_client, royalty_license, staff, clock, licenses, django_assert_num_queries
):
    """The Royalty reports list, a report's page and a royalty license's page (with its ~50
    periods, the reports begun so far inline, and the balance summary) cost the same with 1
    license as with 5."""
    from django.urls import reverse

    for _ in range(licenses):
        lic = royalty_license()
    clock("2026-10-02")
    for start in ("2026-01-01", "2026-04-01", "2026-07-01"):
        services.file_royalty_report(report_id=report(lic, start).pk, base="100", by=staff)
    # session, user, count, rows, state filter; past one page (5 licenses' reports), the page's
    # keys are read first, then its rows (admin/paging.py): one more, whatever the book's size
    with django_assert_num_queries(5 if licenses == 1 else 6):
        admin_client.get(reverse("admin:licensing_royaltyreport_changelist"))
    with django_assert_num_queries(9):  # with the license's balance summary (2)
        admin_client.get(reverse("admin:licensing_royaltyreport_change", args=[report(lic, "2026-04-01").pk]))
    with django_assert_num_queries(18):  # the sections with rows (notices), history names (3), more than one patent?
        admin_client.get(reverse("admin:licensing_license_change", args=[lic.pk]))


@pytest.mark.parametrize(
    ("terms", "field", "language", "message"),
    [
        ({"royalty_rates": "three percent"}, "royalty_rates", "en", 'Write the rates as "3% up to 10,000,000; 2%"'),
        ({"royalty_rates": "three percent"}, "royalty_rates", "zh-hans", "请按“1000万元以内3%，以上2%”或“3% up to"),
        ({"royalty_rates": "2% up to 5,000,000; 3% up to 1,000,000; 1%"}, "royalty_rates", "en", "bounds must rise"),
        ({"royalty_rates": "3%", "royalty_base": ""}, "royalty_base", "zh-hans", "请选择提成费率适用的基数"),
        ({"royalty_minimum": "500000", "royalty_cap_year": "100000"}, "royalty_cap_year", "en", "cannot be lower"),
        ({"deferred_until_revenue": "on", "deferred_months": "0"}, "deferred_until_revenue", "zh-hans", "首次收入报告"),
    ],
)
def test_the_admin_offer_form_refuses_bad_royalty_terms_in_the_users_language(
    client, staff, institution, terms, field, language, message
):
    from django.contrib.auth.models import Group
    from django.urls import reverse

    from licensing.models import Offer
    from licensing.roles import TTO_STAFF_GROUP

    from .factories import PatentFactory

    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(staff)
    data = {
        "patent": PatentFactory(owner=institution).pk,
        "license_type": "ordinary",
        "trial_months": "6",
        "trial_fee": "0",
        "entry_fee": "0",
        "price": "0",
        "lump_sum_allowed": "on",
        "installment_count": "0",
        "installment_interval_months": "3",
        "first_due_months": "0",
        "deferred_months": "12",
        "grace_days": "90",
        "equity_max_share": "0",
        "coverage_ratio": "0.8",
        "royalty_base": "net_sales",
        "royalty_rates": "3%",
        "reporting_period": "quarter",
        "report_due_days": "30",
        "milestones-TOTAL_FORMS": "0",
        "milestones-INITIAL_FORMS": "0",
        **terms,
    }
    response = client.post(
        reverse("admin:licensing_offer_add") + "?shape=royalty", data, headers={"accept-language": language}
    )

    assert response.status_code == 200, "the form was saved"
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors.get(field, [])), errors
    assert not Offer.objects.exists()


@pytest.mark.parametrize(
    ("data", "language", "message"),
    [
        ({"amount": "0", "reason": "Audit"}, "zh-hans", "确保该值大于或等于0.01"),
        ({"amount": "500.00", "reason": ""}, "en", "This field is required"),
        ({"amount": "500.001", "reason": "Audit"}, "en", "no more than 2 decimal places"),
    ],
)
def test_the_audit_adjustment_button_refuses_bad_input_and_writes_nothing(
    client, staff, royalty_license, clock, data, language, message
):
    from django.contrib.auth.models import Group
    from django.urls import reverse

    from licensing.roles import TTO_STAFF_GROUP

    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(staff)
    lic = royalty_license()
    clock("2026-09-01")
    url = reverse("admin:licensing_license_act", args=[lic.pk, "record_royalty_adjustment"])
    response = client.post(url, data, headers={"accept-language": language})

    assert response.status_code == 200 and message in response.content.decode()
    assert not lic.installments.filter(kind=Installment.Kind.ROYALTY_ADJUSTMENT).exists()
    done = client.post(url, {"amount": "500.00", "reason": "Audit 2026"}, headers={"accept-language": "en"})
    assert done.status_code == 302 and lic.installments.get(kind=Installment.Kind.ROYALTY_ADJUSTMENT).amount == D("500")


def test_a_free_licenses_use_report_is_reminded_before_and_after_its_due_date_until_filed(
    institution, make_license, staff, clock
):
    """No money, so no arrears or default; but the SME is reminded, once per notice, in its language,
    and a report filed meanwhile cancels what is still pending."""
    clock("2026-01-01")
    offer = OfferFactory(patent__owner=institution, price=D("0"), use_reports_required=True, reporting_period="year")
    lic = make_license(offer, "purchased", start="2025-07-01", plan="lump_sum")
    lic.enterprise.contact_email, lic.enterprise.language = "ops@sme.example", "zh-hans"
    lic.enterprise.save()
    first = report(lic, "2026-01-01")  # 2026, due 2027-01-30

    log = live_days(clock, "2027-01-15", "2027-02-08")

    assert [key for _day, key in log] == [
        f"use_report_due:royaltyreport:{first.pk}:14",
        f"use_report_due:royaltyreport:{first.pk}:3",
        f"use_report_due:royaltyreport:{first.pk}:0",
        f"use_report_late:royaltyreport:{first.pk}:1",
        f"use_report_late:royaltyreport:{first.pk}:7",
    ]
    late = next(m for m in mail.outbox if m.extra_headers["X-Reminder-Key"].endswith(":7"))
    assert "实施报告" in late.subject and "2026-01-01" in late.body and late.to == ["ops@sme.example"]
    assert License.objects.get(pk=lic.pk).state == License.State.PAID_UP  # nothing owed: no arrears

    services.file_royalty_report(report_id=first.pk, base=None, units=300, by=staff)
    assert live_days(clock, "2027-02-09", "2027-03-05") == []  # the 30-day notice is not sent


def test_each_reports_state_reads_as_what_it_means_nil_late_or_filed_late(royalty_license, staff, sme_client, clock):
    """Issue 22, point 3: a nil report says "nil report accepted"; one past its day and not filed
    says it is late; one filed after its day says so, with the day (Beijing calendar)."""
    lic = royalty_license()
    clock("2026-04-20")
    first = file_and_accept(lic, "2026-01-01", "0", staff)
    assert first.state_in_words(dt.date(2026, 4, 20)) == "Nil report accepted"
    clock("2026-08-01")
    second = report(lic, "2026-04-01")  # due 2026-07-30
    assert second.state_in_words(dt.date(2026, 7, 30)) == "To be filed"
    assert second.state_in_words(dt.date(2026, 7, 31)) == "To be filed · late: it was due 2026-07-30"
    second = services.file_royalty_report(report_id=second.pk, base=D("100000"), by=staff)
    assert second.state_in_words(dt.date(2026, 8, 1)) == "Filed, awaiting acceptance · filed late, on 2026-08-01"
    second = services.accept_royalty_report(report_id=second.pk, by=staff)
    assert second.state_in_words(dt.date(2026, 8, 1)) == "Accepted · filed late, on 2026-08-01"

    sme_client.cookies["django_language"] = "zh-hans"
    rows = sme_client.get(f"/licenses/{lic.pk}/").content.decode()
    assert "零申报已确认" in rows and "已确认 · 逾期提交，提交于 2026-08-01" in rows
    sme_client.cookies["django_language"] = "en"
    page = sme_client.get(f"/licenses/{lic.pk}/").content.decode()
    assert "Royalty 1: CNY 0.00 paid" not in page  # the nil period is in the reports, not a payment


def test_the_purchase_writes_one_event_for_the_whole_terms_periods(royalty_license, staff):
    """One event for the term (not one per quarter): who, how many, from when to when, each due when
    (issue 21, point 5: mutants of this event's who, count and words survived)."""
    lic = royalty_license()
    reports = list(lic.royalty_reports.order_by("period_start"))
    (event,) = AuditEvent.objects.filter(license=lic, changes__has_key="report_periods")
    assert (event.by, event.changes) == (staff, {"report_periods": [0, len(reports)]})
    assert event.why == (
        f"Report periods opened: {len(reports)}, 2026-01-01 – {reports[-1].period_end}, each due 30 days after it ends."
    )


def test_a_report_due_one_day_after_its_period_is_said_in_the_singular(royalty_license, staff):
    """The event's words pick their plural by the days (mutation run 11: with 30 days only, a
    mutant of the singular words, or of the number that picks them, passed)."""
    lic = royalty_license(report_due_days=1)
    reports = list(lic.royalty_reports.order_by("period_start"))
    (event,) = AuditEvent.objects.filter(license=lic, changes__has_key="report_periods")
    assert event.why == (
        f"Report periods opened: {len(reports)}, 2026-01-01 – {reports[-1].period_end}, each due 1 day after it ends."
    )
