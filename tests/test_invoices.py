"""Issue 23, point 6: invoices (fapiao) for payments. The SME asks for one per payment with the
buyer's details (remembered); the TTO's finance office records the invoice it issued (number, day,
kind, VAT) and its PDF, which the SME downloads. VAT-exempt only under a registered technology
contract, and then on an ordinary invoice; requests waiting, issued and overdue in the work queue."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from licensing import services
from licensing.models import AuditEvent, InvoiceProfile, InvoiceRequest
from licensing.reminders import delivery, sweep
from licensing.roles import TTO_STAFF_GROUP

from .factories import OfferFactory
from .test_contracts import bought, signed_pdf

INVOICE_PDF = b"%PDF-1.7\n% the tax system's invoice\n%%EOF\n"


@pytest.fixture(autouse=True)
def private_files(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path


def invoice_pdf(name="invoice.pdf", content=INVOICE_PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def deliver():
    for reminder_id in sweep.deliverable_reminder_ids():
        delivery.deliver_reminder(reminder_id)


@pytest.fixture
def paid(institution, staff, clock):
    """A license bought on 2026-07-31 with a payment of 30,000.00 recorded on 2026-08-03."""
    lic = bought(OfferFactory(patent__owner=institution, price=D("120000.00"), installment_count=0), staff, clock)
    clock("2026-08-03")
    payment = services.record_payment(
        license_id=lic.pk,
        amount=D("30000.00"),
        paid_on=dt.date(2026, 8, 3),
        reference="ICBC-1",
        idempotency_key="p1",
        by=staff,
    )
    deliver()
    mail.outbox.clear()
    return lic, payment


def test_the_sme_asks_for_the_invoice_its_details_are_kept_and_the_tto_is_told_once(client, make_member, paid):
    lic, payment = paid
    member = make_member(lic.enterprise)
    client.force_login(member.user)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("portal:license", args=[lic.pk])).content.decode()
    ask = reverse("portal:request_invoice", args=[lic.pk, payment.pk])
    assert ask in page and "Ask for the invoice" in page
    form = client.get(ask).content.decode()
    assert lic.enterprise.uscc in form and "VAT applies" in form  # prefilled; the contract is not registered
    refused = client.post(ask, {"buyer_name": "", "taxpayer_number": "not a code", "email": "x@sme.example"})
    assert refused.status_code == 200 and not InvoiceRequest.objects.exists()
    details = {
        "buyer_name": lic.enterprise.name,
        "taxpayer_number": lic.enterprise.uscc.lower(),
        "address_phone": "Suzhou, 0512-6666 8888",
        "bank_account": "Bank of Suzhou 1234 5678",
        "email": "fapiao@sme.example",
    }
    assert client.post(ask, details).status_code == 302
    request = InvoiceRequest.objects.get()
    assert (request.payment, request.license, request.requested_by) == (payment, lic, member.user)
    assert request.taxpayer_number == lic.enterprise.uscc  # normalised: upper case
    assert InvoiceProfile.objects.get(enterprise=lic.enterprise).email == "fapiao@sme.example"
    event = AuditEvent.objects.get(content_type__model="invoicerequest")
    assert event.by == member.user and event.changes["email"] == [None, "fapiao@sme.example"]
    assert client.post(ask, details).status_code == 302 and InvoiceRequest.objects.count() == 1  # once
    deliver()
    deliver()
    told = [m for m in mail.outbox if m.extra_headers["X-Reminder-Key"].startswith("invoice_requested:")]
    assert len(told) == 1 and told[0].to == [lic.offer.patent.owner.contact_email]
    assert f"/admin/licensing/invoicerequest/{request.pk}/change/" in told[0].body
    assert "Asked for on" in client.get(reverse("portal:license", args=[lic.pk])).content.decode()


def request_for(lic, payment, make_member):
    member = make_member(lic.enterprise)
    return services.request_invoice(
        payment_id=payment.pk,
        details={"buyer_name": lic.enterprise.name, "taxpayer_number": lic.enterprise.uscc, "email": "f@sme.example"},
        by=member.user,
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"vat_rate": ""}, "vat_rate"),  # exempt, but the contract is not registered
        ({"vat_rate": "14"}, "vat_rate"),  # above 13%
        ({"vat_rate": "0"}, "vat_rate"),
        ({"issued_on": dt.date(2026, 8, 2)}, "issued_on"),  # before it was asked for
        ({"issued_on": dt.date(2026, 8, 6)}, "issued_on"),  # in the future
        ({"invoice_number": ""}, "invoice_number"),
        ({"document": "png"}, "document"),
    ],
)
def test_recording_an_invoice_refuses_what_is_wrong_and_writes_nothing(paid, make_member, staff, data, field):
    lic, payment = paid
    request = request_for(lic, payment, make_member)
    values = {
        "invoice_number": "26327000000012345678",
        "issued_on": dt.date(2026, 8, 5),
        "kind": InvoiceRequest.Kind.ORDINARY,
        "vat_rate": "6",
        "document": invoice_pdf(),
        **data,
    }
    if values["document"] == "png":
        values["document"] = invoice_pdf("invoice.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 8)
    from licensing.domain import clock as business

    with business.as_of(dt.date(2026, 8, 5)), pytest.raises(ValidationError) as refused:
        services.record_invoice(request_id=request.pk, by=staff, **values)
    assert field in refused.value.message_dict
    request.refresh_from_db()
    assert request.state == "requested" and not request.document and not request.invoice_number


def test_exempt_only_on_an_ordinary_invoice_under_a_registered_contract_and_the_sme_downloads_it(
    client, make_member, paid, staff, clock
):
    lic, payment = paid
    request = request_for(lic, payment, make_member)
    contract = services.issue_contract(license_id=lic.pk, by=staff)
    services.record_signing(
        contract_id=contract.pk,
        signed_copy=signed_pdf(),
        signed_on=dt.date(2026, 8, 3),
        effective_on=lic.purchased_on,
        by=staff,
    )
    services.register_technology_contract(
        contract_id=contract.pk, registration_number="2026110108000123", registered_on=dt.date(2026, 8, 3), by=staff
    )
    clock("2026-08-05")
    with pytest.raises(ValidationError) as refused:
        services.record_invoice(
            request_id=request.pk,
            invoice_number="1",
            issued_on=dt.date(2026, 8, 5),
            kind=InvoiceRequest.Kind.SPECIAL,
            vat_rate=None,
            document=invoice_pdf(),
            by=staff,
        )
    assert "kind" in refused.value.message_dict
    mail.outbox.clear()
    services.record_invoice(
        request_id=request.pk,
        invoice_number="26327000000012345678",
        issued_on=dt.date(2026, 8, 5),
        kind=InvoiceRequest.Kind.ORDINARY,
        vat_rate=None,
        document=invoice_pdf(),
        by=staff,
    )
    request.refresh_from_db()
    assert request.state == "issued" and request.vat_exempt and request.vat_rate is None
    issued = AuditEvent.objects.get(content_type__model="invoicerequest", transition="issue")
    assert issued.by == staff and issued.changes["invoice_number"] == ["", "26327000000012345678"]
    deliver()
    told = [m for m in mail.outbox if m.extra_headers["X-Reminder-Key"].startswith("invoice_issued:")]
    assert len(told) == 1 and told[0].to == [lic.enterprise.contact_email]
    client.force_login(make_member(lic.enterprise, username="reader").user)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("portal:license", args=[lic.pk])).content.decode()
    link = reverse("portal:invoice", args=[lic.pk, request.pk])
    assert link in page and "26327000000012345678" in page and "VAT exempt" in page
    response = client.get(link)
    assert b"".join(response.streaming_content) == INVOICE_PDF


def test_a_rate_is_kept_as_a_fraction_and_shown_as_a_percentage(client, make_member, paid, staff, clock):
    lic, payment = paid
    request = request_for(lic, payment, make_member)
    clock("2026-08-05")
    services.record_invoice(
        request_id=request.pk,
        invoice_number="2",
        issued_on=dt.date(2026, 8, 5),
        kind=InvoiceRequest.Kind.SPECIAL,
        vat_rate="6",
        document=invoice_pdf(),
        by=staff,
    )
    request.refresh_from_db()
    assert request.vat_rate == D("0.06") and not request.vat_exempt
    client.force_login(make_member(lic.enterprise, username="reader").user)
    client.cookies["django_language"] = "en"
    assert "VAT 6%" in client.get(reverse("portal:license", args=[lic.pk])).content.decode()


def test_overdue_after_fifteen_days_agrees_in_python_and_sql_and_fills_the_work_queue(
    client, make_member, paid, staff, clock
):
    lic, payment = paid  # asked for on 2026-08-03 (Beijing time)
    request = request_for(lic, payment, make_member)
    for day, overdue in (("2026-08-18", False), ("2026-08-19", True)):
        on = dt.date.fromisoformat(day)
        assert request.is_overdue_on(on) is overdue
        assert InvoiceRequest.objects.overdue(on).filter(pk=request.pk).exists() is overdue
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    clock("2026-08-19")
    client.force_login(staff)
    tasks = {t["key"]: t for t in client.get(reverse("admin:index")).context["tasks"]}
    assert tasks["invoices_to_issue"]["count"] == 1 and tasks["invoices_overdue"]["count"] == 1
    for key in ("invoices_to_issue", "invoices_overdue"):
        assert client.get(tasks[key]["url"]).context["cl"].result_count == 1


def test_another_institutions_staff_and_another_enterprise_never_see_an_invoice(paid, make_member, two_institutions):
    lic, payment = paid
    request = request_for(lic, payment, make_member)
    other = Client()
    other.force_login(two_institutions["B"]["user"])
    assert other.get(reverse("admin:licensing_invoicerequest_change", args=[request.pk])).status_code == 302
    assert other.get(reverse("admin:licensing_invoicerequest_changelist")).context["cl"].result_count == 0
    act = reverse("admin:licensing_invoicerequest_act", args=[request.pk, "record"])
    assert other.post(act, {"invoice_number": "X"}).status_code == 404
    stranger = Client()
    stranger.force_login(make_member(two_institutions["B"]["license"].enterprise).user)
    assert stranger.get(reverse("portal:request_invoice", args=[lic.pk, payment.pk])).status_code == 404
    assert stranger.get(reverse("portal:invoice", args=[lic.pk, request.pk])).status_code == 404
    with pytest.raises(ValidationError):
        services.request_invoice(
            payment_id=two_institutions["A"]["payment"].pk,
            details={"buyer_name": "x", "taxpayer_number": lic.enterprise.uscc, "email": "x@x.example"},
            by=make_member(lic.enterprise, username="wrong-enterprise").user,
        )
