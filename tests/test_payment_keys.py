"""Idempotency keys belong to one license: nobody can take or probe another license's (or
institution's) keys, and a reported payment's confirmation cannot be blocked. The same bank
transfer is recorded once however it is entered; a reference used before with another amount is
recorded only once the user confirms it."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from licensing import services
from licensing.models import Payment, PaymentReport


def pay(lic, by, key, amount="100.00", reference="REF-X", paid_on=dt.date(2026, 8, 1), **kwargs):
    return services.record_payment(
        license_id=lic.pk,
        amount=Decimal(amount),
        paid_on=paid_on,
        reference=reference,
        idempotency_key=key,
        by=by,
        **kwargs,
    )


def test_the_same_key_on_two_licenses_is_two_payments(two_institutions):
    a, b = two_institutions["A"], two_institutions["B"]
    first = pay(a["license"], a["user"], "shared-key")
    second = pay(b["license"], b["user"], "shared-key")  # B does not learn that A used it
    assert first.pk != second.pk
    assert Payment.objects.filter(idempotency_key="shared-key").count() == 2


def test_the_same_key_twice_on_one_license_is_one_payment(two_institutions):
    a = two_institutions["A"]
    assert pay(a["license"], a["user"], "k1") == pay(a["license"], a["user"], "k1")
    with pytest.raises(ValidationError, match="already used for a different payment"):
        pay(a["license"], a["user"], "k1", amount="50.00")


@pytest.mark.parametrize("key", ["report:1", "report-1 ", "", "x" * 65, "a\x00b", "../1", None])
def test_keys_a_client_may_not_choose_are_refused_and_nothing_is_written(two_institutions, key):
    a = two_institutions["A"]
    before = Payment.objects.count()
    with pytest.raises(ValidationError, match="expired or was altered"):
        pay(a["license"], a["user"], key)
    assert Payment.objects.count() == before


@pytest.mark.parametrize("taken_key", ["report-{id}", "report_{id}", "report{id}"])
def test_a_reports_confirmation_cannot_be_blocked(two_institutions, taken_key):
    """Staff record a payment with every key a report's confirmation could have used; the SME's
    report is still confirmed, once."""
    b = two_institutions["B"]
    report = services.report_payment(
        license_id=b["license"].pk,
        amount=Decimal("200.00"),
        paid_on=dt.date(2026, 8, 1),
        reference="SME-TRANSFER",
        by=b["user"],
    )
    pay(b["license"], b["user"], taken_key.format(id=report.pk), amount="50.00", reference="OTHER")

    services.confirm_payment_report(report_id=report.pk, by=b["user"])
    report.refresh_from_db()
    assert report.state == PaymentReport.State.CONFIRMED and report.payment.amount == Decimal("200.00")
    assert report.payment.idempotency_key == f"report:{report.pk}"


def test_the_same_transfer_entered_twice_under_two_forms_is_recorded_once(two_institutions):
    a = two_institutions["A"]
    pay(a["license"], a["user"], "form-1", reference="BANK-777")
    with pytest.raises(ValidationError, match="already recorded"):
        pay(a["license"], a["user"], "form-2", reference="BANK-777")
    assert Payment.objects.filter(reference="BANK-777").count() == 1


def test_a_reference_used_with_another_amount_needs_a_confirmation(two_institutions):
    a = two_institutions["A"]
    pay(a["license"], a["user"], "form-1", reference="BANK-888", amount="100.00")
    with pytest.raises(ValidationError) as refused:
        pay(a["license"], a["user"], "form-2", reference="BANK-888", amount="60.00")
    assert "already used for a payment of 100.00" in str(refused.value.message_dict["reference"])
    assert Payment.objects.filter(reference="BANK-888").count() == 1

    pay(a["license"], a["user"], "form-2", reference="BANK-888", amount="60.00", reference_reuse_confirmed=True)
    assert Payment.objects.filter(reference="BANK-888").count() == 2


def test_another_institutions_reference_is_not_a_warning(two_institutions):
    a, b = two_institutions["A"], two_institutions["B"]
    pay(a["license"], a["user"], "k", reference="SAME-REF", amount="100.00")
    pay(b["license"], b["user"], "k", reference="SAME-REF", amount="60.00")  # B learns nothing of A's


def test_the_admin_form_asks_to_confirm_a_reused_reference(client, two_institutions):
    a = two_institutions["A"]
    client.force_login(a["user"])
    url = reverse("admin:licensing_license_act", args=[a["license"].pk, "record_payment"])
    form = {"amount": "60.00", "paid_on": "2026-08-01", "reference": "REF-A", "idempotency_key": "abc123"}

    response = client.post(url, form, headers={"accept-language": "en"})
    assert response.status_code == 200 and b"already used for a payment of 100.00" in response.content
    assert client.post(url, {**form, "reference_reuse_confirmed": "on"}).status_code == 302
    assert a["license"].payments.count() == 2


@pytest.mark.parametrize(
    ("key", "message"),
    [("", b"one-time key is missing"), ("x" * 65, b"one-time key is invalid"), ("a b", b"expired or was altered")],
)
def test_the_admin_form_says_why_a_bad_hidden_key_is_refused(client, two_institutions, key, message):
    a = two_institutions["A"]
    client.force_login(a["user"])
    url = reverse("admin:licensing_license_act", args=[a["license"].pk, "record_payment"])
    form = {"amount": "10.00", "paid_on": "2026-08-01", "reference": "R-9", "idempotency_key": key}
    response = client.post(url, form, headers={"accept-language": "en"})
    assert response.status_code == 200 and message in response.content
    assert a["license"].payments.count() == 1
