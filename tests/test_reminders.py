"""Exactly-once reminders: the ledger claims each notice before sending; failures retry; what no
longer applies is not sent; a rolled-back transaction sends nothing."""

import datetime as dt
import smtplib
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import transaction

from licensing import services, tasks
from licensing.models import License, Reminder
from licensing.reminders import delivery, sweep

from .conftest import tell_the_story_so_far
from .factories import EnterpriseFactory, OfferFactory

REMINDER_KINDS = {"trial_ending", "installment_due", "overdue", "use_report_due", "use_report_late"}


def reminders():
    """The ledger's reminders (a deadline near or past), without the hand-offs of the story."""
    return Reminder.objects.filter(kind__in=REMINDER_KINDS)


# expire, overdue, the grace days of licenses in arrears (none here, so no default query),
# schedules, four claims (trials, installments due, overdue, lapsed patents): 8, whatever the book's size
# one claim per kind of notice (lapsed patents: the SME's and the TTO's; contracts to sign; recordals due)
# and the day's sweep mark: read, and after a complete claim (the day's first) the last audit event
# and the mark written: 16. The day's later sweeps read it and claim for the licenses changed since: 14.
# The next day's first sweep claims twice for each of the five kinds kept by a schedule (the licenses
# changed, and the deadlines that meet an offset that day): 21.
QUIET_SWEEP_QUERIES = 16
HOURLY_SWEEP_QUERIES = 14
DAILY_SWEEP_QUERIES = 21


class DownSMTPBackend(EmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.fixture
def trial(offer, staff, clock):
    clock("2026-03-02")
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory(contact_email="a@sme.example"))
    lic = services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 3, 2))  # ends 2026-09-02
    tell_the_story_so_far()
    return lic


def test_running_the_sweep_twice_sends_one_email(trial, clock):
    clock("2026-08-26")
    tasks.sweep()
    tasks.sweep()

    assert len(mail.outbox) == 1
    assert reminders().get().state == Reminder.State.SENT


def test_a_missed_stretch_sends_only_the_most_recent_notice(trial, clock):
    clock("2026-08-28")  # beat was down on the 30-day and 7-day dates
    tasks.sweep()

    assert [m.extra_headers["X-Reminder-Key"] for m in mail.outbox] == [f"trial_ending:license:{trial.pk}:7"]


def test_smtp_down_leaves_the_reminder_pending_then_it_goes_out_once(trial, clock, settings):
    settings.EMAIL_BACKEND = "tests.test_reminders.DownSMTPBackend"
    clock("2026-08-26")
    tasks.sweep()

    reminder = reminders().get()
    assert reminder.state == Reminder.State.PENDING and reminder.attempts >= 1
    assert "SMTPServerDisconnected" in reminder.last_error
    assert mail.outbox == []

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    clock("2026-08-27")  # past the backoff
    tasks.sweep()
    tasks.sweep()

    assert len(mail.outbox) == 1
    reminder.refresh_from_db()
    assert reminder.state == Reminder.State.SENT


def test_delivering_an_already_sent_reminder_again_does_nothing(trial, clock):
    clock("2026-08-26")
    tasks.sweep()
    reminder = reminders().get()

    assert delivery.deliver_reminder(reminder.pk) == "skipped"
    assert len(mail.outbox) == 1


def test_returned_trial_gets_no_more_reminders(trial, staff, clock):
    clock("2026-08-03")
    tasks.sweep()
    services.return_patent(license_id=trial.pk, by=staff)
    clock("2026-08-26")
    tasks.sweep()

    assert len(mail.outbox) == 1  # only the 30-day notice, before the return


def test_claimed_reminder_for_an_installment_paid_meanwhile_is_cancelled(offer, make_license, staff, clock):
    clock("2026-08-01")
    lic = make_license(offer, "purchased", start="2026-01-31")  # first due 2027-07-31 (Sat) -> Mon 2027-08-02
    clock("2027-07-19")
    sweep.run_sweep()  # claimed, not yet delivered
    services.record_payment(
        license_id=lic.pk,
        amount=Decimal("33333.33"),
        paid_on=dt.date(2027, 7, 19),
        reference="B",
        idempotency_key="k",
        by=staff,
    )
    reminder = reminders().get()

    assert delivery.deliver_reminder(reminder.pk) == "cancelled"
    assert mail.outbox == []


def test_cured_arrears_stop_overdue_reminders(offer, make_license, staff, clock):
    clock("2026-08-01")
    lic = make_license(offer, "purchased", start="2026-01-31")
    clock("2027-08-03")
    tasks.sweep()  # overdue 1 day
    services.record_payment(
        license_id=lic.pk,
        amount=Decimal("33333.33"),
        paid_on=dt.date(2027, 8, 3),
        reference="B",
        idempotency_key="k",
        by=staff,
    )
    clock("2027-08-09")
    tasks.sweep()

    keys = [m.extra_headers["X-Reminder-Key"] for m in mail.outbox]
    assert [k.split(":")[0] for k in keys] == ["overdue"]
    assert License.objects.get(pk=lic.pk).state == License.State.PURCHASED


@pytest.fixture
def defaulted(make_insured_default):
    return make_insured_default(insurer_email="c@picc.example")


def test_rolled_back_claim_sends_nothing(defaulted, staff, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.file_claim(license_id=defaulted.pk, by=staff)
        raise RuntimeError("something later in the same transaction failed")

    assert callbacks == [] and mail.outbox == []
    assert not Reminder.objects.filter(kind__startswith="claim_filed").exists()


def test_committed_claim_notifies_tto_and_insurer_once_each(defaulted, staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.file_claim(license_id=defaulted.pk, by=staff)
    tasks.sweep()

    institution = defaulted.offer.patent.owner
    assert sorted(m.to[0] for m in mail.outbox) == sorted(["c@picc.example", institution.contact_email])


@pytest.fixture
def claim_emails(defaulted, staff, django_capture_on_commit_callbacks):
    """The two claim notices of the defaulted license, by recipient kind. The TTO reads English,
    the insurer Chinese; the institution has its payee details."""
    institution = defaulted.offer.patent.owner
    institution.language = "en"
    institution.contact_name, institution.contact_phone = "Wang Fang", "010-6275 1234"
    institution.payee_name, institution.payee_bank = "Peking Demo University", "ICBC Haidian"
    institution.payee_account = "0200 0045 0900 1234 567"
    institution.save()
    defaulted.insurance_policy.insurer_language = "zh-hans"
    defaulted.insurance_policy.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.file_claim(license_id=defaulted.pk, by=staff)
    return {m.extra_headers["X-Reminder-Key"].split(":")[0]: m for m in mail.outbox}


def test_the_tto_claim_notice_links_to_the_admin_in_the_institutions_language(claim_emails, defaulted):
    tto = claim_emails["claim_filed"]
    admin_url = f"{settings.SITE_URL}/admin/licensing/license/{defaulted.pk}/change/"
    assert admin_url in tto.body and f"/licenses/{defaulted.pk}/" not in tto.body
    assert "Open the license in the admin" in tto.body and "coverage 80%" in tto.body
    assert "The insurer is notified at c@picc.example." in tto.body
    assert f'href="{admin_url}"' in tto.alternatives[0][0]


def test_the_insurer_claim_notice_carries_everything_without_a_login(claim_emails, defaulted):
    insurer = claim_emails["claim_filed_insurer"]
    claim = defaulted.claims.get()
    assert insurer.to == ["c@picc.example"] and insurer.reply_to == [defaulted.offer.patent.owner.contact_email]
    assert insurer.subject.startswith("保单 PI-1 项下的理赔")
    assert "http" not in insurer.body and "href" not in insurer.alternatives[0][0]  # nothing to log in to
    for fact in (
        defaulted.enterprise.name,
        defaulted.enterprise.uscc,
        f"{claim.outstanding_at_filing:,.2f}",
        f"{claim.claimed_amount:,.2f}",
        "80%",
        "2027-06-01",  # in default since
        "0200 0045 0900 1234 567",
        "Wang Fang 010-6275 1234",
    ):
        assert fact in insurer.body, fact


def test_a_claim_already_paid_when_the_worker_comes_back_is_never_announced(defaulted, staff):
    """The worker was down: by the time it runs, the insurer has paid. "A claim was filed" would mislead."""
    from licensing.models import InsuranceClaim

    claim = services.file_claim(license_id=defaulted.pk, by=staff)  # its delivery never ran (no commit here)
    services.approve_claim(claim_id=claim.pk, by=staff)
    services.record_claim_paid(claim_id=claim.pk, amount=claim.claimed_amount, by=staff)
    assert InsuranceClaim.objects.get().state == InsuranceClaim.State.PAID

    tasks.sweep()  # the worker is back: it delivers what is pending
    assert mail.outbox == []
    assert set(Reminder.objects.filter(kind__startswith="claim_filed").values_list("state", "last_error")) == {
        ("cancelled", "claim paid before the notice went out")
    }


def test_email_is_in_the_recipients_language(trial, clock):
    trial.enterprise.language = "zh-hans"
    trial.enterprise.save()
    clock("2026-08-26")
    tasks.sweep()

    message = mail.outbox[0]
    assert message.subject == f"您对专利 {trial.offer.patent.number} 的试用将在 7 天后结束"
    assert "2026-09-02" in message.body


def test_institution_offsets_are_configurable(trial, institution, clock):
    from licensing.models import ReminderSchedule

    ReminderSchedule.objects.create(institution=institution, trial_ending_days="10")
    clock("2026-08-23")
    tasks.sweep()
    clock("2026-08-26")
    tasks.sweep()

    assert [m.extra_headers["X-Reminder-Key"] for m in mail.outbox] == [f"trial_ending:license:{trial.pk}:10"]


def test_user_text_is_escaped_in_html_but_not_in_plain_text(institution, staff, clock):
    clock("2026-03-02")
    offer = OfferFactory(patent__owner=institution, patent__title="<script>alert(1)</script> & Co")
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory(contact_email="x@sme.example"))
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 3, 2))
    tell_the_story_so_far()
    clock("2026-08-26")
    tasks.sweep()

    message = mail.outbox[0]
    assert "<script>alert(1)</script> & Co" in message.body
    assert "&lt;script&gt;" in message.alternatives[0][0] and "<script>" not in message.alternatives[0][0]


def test_enterprise_without_an_email_address_gets_a_cancelled_reminder_not_a_retry(trial, clock):
    trial.enterprise.contact_email = ""
    trial.enterprise.save()
    clock("2026-08-26")
    tasks.sweep()

    reminder = reminders().get()
    assert (reminder.state, reminder.last_error) == (Reminder.State.CANCELLED, "no recipient email address")


def test_sweep_query_count_does_not_grow_with_the_notices_it_claims(
    institution, staff, clock, django_assert_num_queries
):
    """Claiming is one INSERT … SELECT per kind: fifty trials ending in a week cost the same
    queries as none, today and in the next hour."""
    clock("2026-03-02")
    offer = OfferFactory(patent__owner=institution)
    for _ in range(50):
        lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
        services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 3, 2))
    clock("2026-08-26")

    with django_assert_num_queries(QUIET_SWEEP_QUERIES):
        assert sweep.run_sweep(dt.date(2026, 1, 5))["reminders"] == 0  # nothing due yet
    with django_assert_num_queries(QUIET_SWEEP_QUERIES):
        assert sweep.run_sweep()["reminders"] == 50
    with django_assert_num_queries(HOURLY_SWEEP_QUERIES):
        assert sweep.run_sweep()["reminders"] == 0  # the next hour: nothing new
    clock("2026-09-01")
    with django_assert_num_queries(DAILY_SWEEP_QUERIES):
        assert sweep.run_sweep(dt.date(2026, 8, 27))["reminders"] == 0  # the next day: no offset met
    with django_assert_num_queries(DAILY_SWEEP_QUERIES):
        assert sweep.run_sweep(dt.date(2026, 8, 28))["reminders"] == 0


def test_the_ledger_writes_no_audit_events(trial, clock):
    """The reminder ledger keeps its own timestamps (queued, sent, failed): a sweep that queues and
    sends notices adds nothing to the audit trail, which would otherwise grow by a row per notice."""
    from licensing.models import AuditEvent

    events = AuditEvent.objects.count()
    clock("2026-08-26")
    tasks.sweep()

    assert reminders().get().state == Reminder.State.SENT
    assert AuditEvent.objects.count() == events


def test_a_deleted_license_takes_its_notices_with_it(trial, clock):
    """The ledger's references carry no database constraint (migration 0055): Django's delete
    cascade removes a license's notices with it, so none is left naming a row that is gone."""
    clock("2026-08-26")
    sweep.run_sweep()
    assert Reminder.objects.filter(license=trial, kind=Reminder.Kind.TRIAL_ENDING).exists()
    License.objects.get(pk=trial.pk).delete()
    assert not Reminder.objects.filter(license_id=trial.pk).exists()
