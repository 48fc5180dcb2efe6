"""A license's whole life under the hourly sweep, the clock moved day by day: which emails go out,
when, and that nothing more is sent once it no longer applies."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail

from licensing import services, tasks
from licensing.models import InsuranceClaim, License

from .factories import EnterpriseFactory, OfferFactory


def sent_keys():
    return [m.extra_headers["X-Reminder-Key"] for m in mail.outbox]


HAND_OFFS = {"trial_started", "purchase_confirmed", "application_received"}


def shape(key: str) -> str:
    """A ledger key as the tests expect it: a hand-off's last part is its audit event's id, which
    the story does not fix, so it reads "*"."""
    kind, model, pk, last = key.split(":")
    return f"{kind}:{model}:{pk}:{'*' if kind in HAND_OFFS else last}"


def live_days(clock, start: str, end: str, on_day=None):
    """Run the sweep once per day from start to end (inclusive), as beat would."""
    day, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    log = []
    while day <= last:
        clock(day.isoformat())
        before = len(mail.outbox)
        if on_day:
            on_day(day)
        tasks.sweep()
        log += [(day.isoformat(), shape(m.extra_headers["X-Reminder-Key"])) for m in mail.outbox[before:]]
        day += dt.timedelta(days=1)
    return log


@pytest.fixture
def insured_license(institution, staff, clock):
    clock("2026-03-02")
    institution.contact_email = "tto@univ.example"
    institution.save()
    offer = OfferFactory(patent__owner=institution, insurance_required=True, grace_days=90)
    sme = EnterpriseFactory(contact_email="finance@sme.example", language="en")
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=sme)
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 3, 2))  # ends Wed 2026-09-02
    services.register_policy(
        license_id=lic.pk,
        by=staff,
        insurer="PICC",
        insurer_email="claims@picc.example",
        policy_number="PI-1",
        coverage_ratio=Decimal("0.8"),
        starts_on=dt.date(2026, 3, 2),
        ends_on=dt.date(2031, 3, 2),
    )
    return lic


def test_trial_reminders_30_7_1_days_before_the_end(insured_license, clock):
    log = live_days(clock, "2026-07-01", "2026-09-02")

    lid = insured_license.pk
    assert log == [
        ("2026-07-01", f"trial_started:license:{lid}:*"),  # the approval, told by the first sweep
        ("2026-08-03", f"trial_ending:license:{lid}:30"),
        ("2026-08-26", f"trial_ending:license:{lid}:7"),
        ("2026-09-01", f"trial_ending:license:{lid}:1"),
    ]
    first = mail.outbox[1]
    assert first.to == ["finance@sme.example"]
    assert first.subject == f"Your trial of patent {insured_license.offer.patent.number} ends in 30 days"
    assert "ends on 2026-09-02" in first.body and f"/licenses/{lid}/" in first.body
    html = first.alternatives[0][0]
    assert "<html" in html and insured_license.offer.patent.title in html


def test_trial_with_no_decision_expires_the_day_after_its_end(insured_license, clock):
    live_days(clock, "2026-09-02", "2026-09-03")

    insured_license.refresh_from_db()
    assert insured_license.state == License.State.EXPIRED


def test_full_lifecycle_sends_exactly_these_emails(insured_license, staff, clock):
    lid = insured_license.pk

    def sme_acts(day):
        if day == dt.date(2026, 9, 1):
            services.purchase(license_id=lid, plan="installments", by=staff, on=day)
        if day == dt.date(2027, 9, 1):  # pays the first installment on its due date, not the second
            services.record_payment(
                license_id=lid,
                amount=Decimal("33333.33"),
                paid_on=day,
                reference="B1",
                idempotency_key="first",
                by=staff,
            )

    log = live_days(clock, "2026-08-01", "2028-09-30", on_day=sme_acts)

    first, second, _third = License.objects.get(pk=lid).installments.order_by("sequence")
    assert (second.due_date, second.effective_due_date) == (dt.date(2028, 3, 1), dt.date(2028, 3, 1))
    claim = InsuranceClaim.objects.get()
    assert log == [
        ("2026-08-01", f"trial_started:license:{lid}:*"),  # pending since the approval (no worker in the story)
        ("2026-08-03", f"trial_ending:license:{lid}:30"),
        ("2026-08-26", f"trial_ending:license:{lid}:7"),
        ("2026-09-01", f"purchase_confirmed:license:{lid}:*"),  # bought before that day's sweep: no 1-day notice
        ("2027-08-18", f"installment_due:installment:{first.pk}:14"),
        ("2027-08-29", f"installment_due:installment:{first.pk}:3"),
        # paid on its due date before that day's sweep: no due-day notice
        ("2028-02-16", f"installment_due:installment:{second.pk}:14"),
        ("2028-02-27", f"installment_due:installment:{second.pk}:3"),
        ("2028-03-01", f"installment_due:installment:{second.pk}:0"),
        ("2028-03-02", f"overdue:installment:{second.pk}:1"),
        ("2028-03-08", f"overdue:installment:{second.pk}:7"),
        ("2028-03-31", f"overdue:installment:{second.pk}:30"),
        ("2028-05-31", f"claim_filed:insuranceclaim:{claim.pk}:0"),  # to the TTO
        ("2028-05-31", f"claim_filed_insurer:insuranceclaim:{claim.pk}:0"),  # to the insurer
    ]
    lic = License.objects.get(pk=lid)
    assert (lic.state, lic.defaulted_on) == (License.State.CLAIM_FILED, dt.date(2028, 5, 31))
    assert claim.claimed_amount == Decimal("53333.34")  # 0.8 x 66,666.67 outstanding
    to_tto, to_insurer = mail.outbox[-2:]
    assert (to_tto.to, to_insurer.to) == (["tto@univ.example"], ["claims@picc.example"])
    assert "53,333.34" in to_tto.subject and "53,333.34" in to_insurer.subject
