"""The SME's side of the lifecycle: apply (with clear refusals), follow, decide (buy after seeing
the schedule, return, equity), report payments. A double submit or a stale page never applies
twice."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from licensing import services
from licensing.models import EquityConversion, License, PaymentReport
from licensing.selectors import audit_trail

from .factories import EnterpriseFactory, OfferFactory


@pytest.fixture
def trial(offer, make_license, clock):
    clock("2026-03-02")
    return make_license(offer, "trial", start="2026-03-02")  # ends 2026-09-02


def test_application_is_visible_at_once_with_its_state(sme_client, offer, enterprise):
    response = sme_client.post(f"/patents/{offer.pk}/apply/", {"intended_use": "LED lamps", "contact": "Li 138"})

    lic = License.objects.get(enterprise=enterprise)
    assert response.url == f"/licenses/{lic.pk}/"
    page = sme_client.get(response.url).content.decode()
    assert "Applied" in page and "LED lamps" in page
    assert audit_trail(lic).get(action="created").by == sme_client.member.user  # who applied


@pytest.mark.parametrize(
    ("situation", "message"),
    [
        ("exclusive_taken", "licensed exclusively to another enterprise"),
        ("already_live", "already has a live license"),
    ],
)
def test_application_refusals_say_why(sme_client, institution, enterprise, make_license, situation, message):
    offer = OfferFactory(
        patent__owner=institution, license_type="exclusive" if situation == "exclusive_taken" else "ordinary"
    )
    make_license(offer, "trial", enterprise=EnterpriseFactory() if situation == "exclusive_taken" else enterprise)

    response = sme_client.post(f"/patents/{offer.pk}/apply/", {"intended_use": "x", "contact": "y"})
    assert response.status_code == 200 and message in response.content.decode()


def test_expired_patent_is_not_in_the_catalogue_and_cannot_be_applied_for(sme_client, institution, clock):
    offer = OfferFactory(patent__owner=institution, patent__filing_date=dt.date(2006, 1, 1))  # expired 2026-01-01
    clock("2026-03-02")
    assert sme_client.get(f"/patents/{offer.pk}/").status_code == 404
    assert sme_client.post(f"/patents/{offer.pk}/apply/", {"intended_use": "x", "contact": "y"}).status_code == 404


def test_license_page_shows_days_left_schedule_dates_and_timeline(sme_client, trial, clock):
    clock("2026-08-26")
    page = sme_client.get(f"/licenses/{trial.pk}/").content.decode()
    assert "7 days left in the trial" in page
    assert "Applied" in page and "In trial" in page  # the timeline


def test_buying_shows_the_schedule_first_and_buys_once_on_confirmation(sme_client, trial, clock):
    clock("2026-08-26")
    url = f"/licenses/{trial.pk}/buy/"
    preview = sme_client.post(url, {"seen_state": "trial", "plan": "installments"})

    assert preview.status_code == 200 and preview.content.decode().count("33,333.3") == 3
    trial.refresh_from_db()
    assert trial.state == License.State.TRIAL  # nothing bought yet

    confirm = {"seen_state": "trial", "plan": "installments", "confirmed": "on"}
    assert sme_client.post(url, confirm).status_code == 302
    again = sme_client.post(url, confirm)  # the double submit: no longer a trial, nothing done, said so
    assert (again.status_code, again.url) == (302, f"/licenses/{trial.pk}/")
    trial.refresh_from_db()
    assert trial.state == License.State.PURCHASED and trial.installments.count() == 3
    assert sum(i.amount for i in trial.installments.all()) == trial.price


def test_a_stale_page_does_nothing(sme_client, trial, staff):
    services.purchase(license_id=trial.pk, plan="lump_sum", by=staff)  # the TTO acted meanwhile
    response = sme_client.post(f"/licenses/{trial.pk}/return/", {"seen_state": "trial"}, follow=True)

    assert "changed since you opened the page" in response.content.decode()
    trial.refresh_from_db()
    assert trial.state == License.State.PURCHASED


def test_returning_is_recorded_with_who_and_why(sme_client, trial):
    sme_client.post(f"/licenses/{trial.pk}/return/", {"seen_state": "trial", "reason": "Not for our line"})

    trial.refresh_from_db()
    log = audit_trail(trial).get(state=License.State.RETURNED)
    assert trial.state == License.State.RETURNED
    assert (log.by, log.reason) == (sme_client.member.user, "Not for our line")
    page = sme_client.get(f"/licenses/{trial.pk}/").content.decode()
    assert "Not for our line" in page.split("timeline")[-1]  # the portal's timeline reads the trail


def test_buying_with_equity_proposes_a_conversion_within_the_offers_limit(sme_client, institution, make_license, clock):
    clock("2026-03-01")  # within the trial
    offer = OfferFactory(patent__owner=institution, equity_allowed=True, equity_max_share=Decimal("0.3"))
    lic = make_license(offer, "trial")
    url = f"/licenses/{lic.pk}/buy/"
    data = {"seen_state": "trial", "plan": "lump_sum", "with_equity": "1", "valuation": "5000000", "confirmed": "on"}

    too_much = sme_client.post(url, {**data, "share": "0.5"})
    assert "at most 30.00%" in too_much.content.decode()
    lic.refresh_from_db()
    assert lic.state == License.State.TRIAL  # neither the purchase nor the proposal happened

    sme_client.post(url, {**data, "share": "0.3"})
    lic.refresh_from_db()
    assert lic.state == License.State.PURCHASED
    assert lic.equity_conversions.get().state == EquityConversion.State.PROPOSED


def test_reported_payment_is_pending_until_the_tto_confirms_it_once(
    sme_client, trial, staff, clock, tmp_path, settings
):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    services.purchase(license_id=trial.pk, plan="lump_sum", by=staff)
    url = f"/licenses/{trial.pk}/payments/new/"
    data = {"amount": "40000.00", "paid_on": "2026-03-02", "reference": "ICBC-7"}

    sme_client.post(url, data)
    sme_client.post(url, data)  # the double submit
    report = PaymentReport.objects.get()
    assert (
        report.state == PaymentReport.State.REPORTED
        and "Awaiting confirmation" in sme_client.get(f"/licenses/{trial.pk}/").content.decode()
    )

    services.confirm_payment_report(report_id=report.pk, by=staff)
    with pytest.raises(Exception, match="already handled"):
        services.confirm_payment_report(report_id=report.pk, by=staff)
    trial.refresh_from_db()
    assert trial.payments.get().amount == Decimal("40000.00") and trial.outstanding == Decimal("60000.00")


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("receipt.exe", b"MZ\x90\x00", "PDF, PNG or JPEG"),
        ("receipt.pdf", b"MZ\x90\x00 not a pdf", "PDF, PNG or JPEG"),
        ("receipt.pdf", b"%PDF-1.7" + b"0" * 2048, "the largest accepted is"),
        ("receipt.pdf", b"%PDF-1.7" + b"0" * 1017, "1,025 bytes, just over the limit of 1,024 bytes (1.0\xa0KB)"),
    ],
)
def test_receipts_are_checked_for_type_and_size(sme_client, trial, staff, settings, tmp_path, name, content, error):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    settings.RECEIPT_MAX_BYTES = 1024
    services.purchase(license_id=trial.pk, plan="lump_sum", by=staff)
    data = {"amount": "10.00", "paid_on": "2026-03-02", "reference": "R", "receipt": SimpleUploadedFile(name, content)}

    response = sme_client.post(f"/licenses/{trial.pk}/payments/new/", data)
    assert error in response.content.decode()
    assert not PaymentReport.objects.exists() and not any(tmp_path.iterdir())
