"""A rule checked both on one object (Python) and over the book (SQL) is written twice, once for
each, side by side on its model; these tests hold the twins to the same answers."""

import datetime as dt
import itertools

from licensing import services
from licensing.domain.clock import as_of
from licensing.models import License, Patent, RoyaltyReport

from .factories import EnterpriseFactory, OfferFactory, PatentFactory


def test_patent_in_force_agrees_in_python_and_sql(institution):
    patents = [
        PatentFactory(owner=institution, legal_status=status, filing_date=filing)
        for status, filing in itertools.product(Patent.LegalStatus.values, [dt.date(2006, 6, 1), dt.date(2016, 6, 1)])
    ]  # invention patents: they expire 2026-06-01 and 2036-06-01
    counts = []
    for on in [dt.date(2026, 5, 31), dt.date(2026, 6, 1), dt.date(2026, 6, 2), dt.date(2036, 6, 2)]:
        in_sql = set(Patent.objects.filter(Patent.in_force_q(on)))
        in_python = {p for p in patents if p.is_in_force(on)}
        assert in_sql == in_python, on
        counts.append(len(in_python))
    assert counts == [2, 2, 1, 0]  # valid ones only, until their expiry day inclusive


def test_past_grace_agrees_in_python_and_sql(institution, staff, clock):
    """Licenses with grace periods of 30 and 90 days, overdue since the same day, compared day by
    day around the ends of both grace periods."""
    clock("2026-01-05")
    licenses = []
    for grace in (30, 90):
        for _copy in range(2):
            offer = OfferFactory(
                patent__owner=institution, trial_months=1, installment_count=0, first_due_months=0, grace_days=grace
            )
            lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
            services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 5))
            services.purchase(license_id=lic.pk, plan="lump_sum", by=staff, on=dt.date(2026, 2, 5))  # due that day
            licenses.append(lic)
    clock.stop()
    with as_of(dt.date(2026, 2, 6)):
        for lic in licenses:
            services.mark_overdue(license_id=lic.pk)
    seen = set()
    for days in range(25, 100):
        on = dt.date(2026, 2, 5) + dt.timedelta(days=days)
        with as_of(on):
            in_sql = set(License.objects.past_grace(on).values_list("pk", flat=True))
            fresh = (
                License.objects.prefetch_related("installments")
                .select_related("offer")
                .filter(pk__in=[lic.pk for lic in licenses])
            )
            in_python = {lic.pk for lic in fresh if lic.grace_exceeded()}
        assert in_sql == in_python, on
        seen.add(len(in_sql))
    assert seen == {0, 2, 4}  # neither, the 30-day ones, all


def _lump_sum_bought(institution, staff, *, on="2026-02-05", **terms):
    """A lump-sum license bought on `on`, its price due that day (effective: a working day)."""
    offer = OfferFactory(patent__owner=institution, trial_months=1, installment_count=0, first_due_months=0, **terms)
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 5))
    return services.purchase(license_id=lic.pk, plan="lump_sum", by=staff, on=dt.date.fromisoformat(on))


def test_open_and_overdue_installments_agree_in_python_and_sql(institution, staff, clock):
    """Unpaid, part paid, paid, and a royalty period still to report, each on both sides of its
    effective due date: the day itself is not overdue, the day after is."""
    from licensing.models import Installment

    clock("2026-01-05")
    unpaid = _lump_sum_bought(institution, staff)
    part = _lump_sum_bought(institution, staff)
    paid = _lump_sum_bought(institution, staff)
    clock("2026-02-05")
    pay = {"paid_on": dt.date(2026, 2, 5), "by": staff}
    services.record_payment(license_id=part.pk, amount="1.00", idempotency_key="part", reference="B-1", **pay)
    price = paid.installments.get().amount
    services.record_payment(license_id=paid.pk, amount=price, idempotency_key="all", reference="B-2", **pay)
    pending = Installment.objects.filter(license=unpaid).get()
    Installment.objects.filter(pk=pending.pk).update(report_pending=True)  # as a royalty period's
    rows = list(Installment.objects.all())
    assert {str(i.effective_due_date) for i in rows} == {"2026-02-05"}

    assert set(Installment.objects.open()) == {i for i in rows if i.is_open} and len(rows) == 3
    assert {i for i in rows if i.is_open} == {i for i in rows if i.license_id != paid.pk}
    for day, expected in (("2026-02-05", 0), ("2026-02-06", 2), ("2027-01-01", 2)):
        on = dt.date.fromisoformat(day)
        in_sql = set(Installment.objects.overdue(on))
        assert in_sql == {i for i in rows if i.is_overdue_on(on)}, day
        assert len(in_sql) == expected, day


def test_license_overdue_agrees_in_python_and_sql_in_every_state(institution, staff, clock):
    """The work queue, the admin's overdue filter and the dashboard read License.overdue_q; a
    license declared in default still owes what is overdue, a terminated one is not chased."""
    clock("2026-01-05")
    bought = {name: _lump_sum_bought(institution, staff, grace_days=10) for name in ("purchased", "default", "ended")}
    clock("2026-03-01")
    for lic in bought.values():
        services.mark_overdue(license_id=lic.pk)
    services.declare_default(license_id=bought["default"].pk, by=staff)
    services.terminate(license_id=bought["ended"].pk, by=staff, reason="breach")
    licenses = list(License.objects.prefetch_related("installments"))
    assert {lic.state for lic in licenses} == {"in_arrears", "defaulted", "terminated"}
    for day in ("2026-02-05", "2026-02-06", "2026-03-01"):
        on = dt.date.fromisoformat(day)
        in_sql = set(License.objects.overdue(on).values_list("pk", flat=True))
        assert in_sql == {lic.pk for lic in licenses if lic.is_overdue_on(on)}, day
    assert in_sql == {bought["purchased"].pk, bought["default"].pk}


def test_trial_ended_agrees_in_python_and_sql(institution, staff, clock):
    clock("2026-01-05")
    offer = OfferFactory(patent__owner=institution, trial_months=1)
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    lic = services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 5))
    end = lic.trial_end_effective
    for days, expected in ((-1, False), (0, False), (1, True)):
        on = end + dt.timedelta(days=days)
        with as_of(on):
            assert lic.trial_has_ended() is expected, on
        assert License.objects.filter(License.trial_ended_q(on)).exists() is expected, on


def test_reminder_key_agrees_in_python_and_sql(institution, staff):
    from django.db.models import F, Value

    from licensing.models import Reminder

    lic = services.apply_for_trial(offer_id=OfferFactory(patent__owner=institution).pk, enterprise=EnterpriseFactory())
    for offset in (0, 7, -30):
        in_sql = (
            License.objects.filter(pk=lic.pk)
            .annotate(key=Reminder.key_expression("overdue", "installment", F("pk"), Value(offset)))
            .values_list("key", flat=True)
            .get()
        )
        assert (
            in_sql
            == Reminder.key_for("overdue", "installment", lic.pk, offset)
            == f"overdue:installment:{lic.pk}:{offset}"
        )


def test_a_late_report_agrees_in_python_and_sql(institution, staff, clock):
    """Quarterly reports due 30 days after each quarter, compared day by day around the first
    one's due date, filed late on one license and never on the other."""
    clock("2026-01-01")
    licenses = []
    for _copy in range(2):
        offer = OfferFactory(
            patent__owner=institution, price=0, royalty_base="net_sales", royalty_rates="2%", reporting_period="quarter"
        )
        lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
        services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 1))
        licenses.append(services.purchase(license_id=lic.pk, plan="lump_sum", by=staff, on=dt.date(2026, 1, 1)))
    first = RoyaltyReport.objects.get(license=licenses[0], period_start=dt.date(2026, 1, 1))
    assert first.due_date == dt.date(2026, 4, 30)
    clock("2026-05-03")
    services.file_royalty_report(report_id=first.pk, base=0, by=staff)
    seen = []
    for on in [dt.date(2026, 4, 29), dt.date(2026, 4, 30), dt.date(2026, 5, 1), dt.date(2026, 5, 4)]:
        reports = RoyaltyReport.objects.filter(license__in=licenses, period_start=dt.date(2026, 1, 1))
        in_sql = set(reports.filter(RoyaltyReport.late_q(on)))
        in_python = {r for r in reports.select_related("license") if r.is_late(on)}
        assert in_sql == in_python, on
        seen.append(len(in_sql))
    assert seen == [0, 0, 1, 1]  # the unfiled one from the day after its due date
