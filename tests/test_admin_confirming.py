"""The officer's confirmation pages show what is being confirmed (issue 22, point 7): a report's
base, the royalty it makes and its attachment; a transfer's amount, reference and receipt. The
license page puts the money first and the history last."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from licensing import services
from licensing.roles import TTO_STAFF_GROUP

from .factories import OfferFactory

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def officer(staff, client):
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(staff)
    return staff


@pytest.fixture
def royalty_license(institution, make_license, clock):
    clock("2026-03-01")
    offer = OfferFactory(
        patent__owner=institution,
        price=D("0"),
        royalty_base="net_sales",
        royalty_rates="3% up to 1,000,000; 2%",
        reporting_period="quarter",
    )
    return make_license(offer, "purchased", start="2025-09-01", plan="lump_sum")


def test_accepting_a_report_shows_its_base_the_royalty_it_makes_and_its_attachment(
    client, officer, royalty_license, clock
):
    q2 = royalty_license.royalty_reports.order_by("period_start")[1]  # 2026-04-01 .. 06-30
    clock("2026-07-05")
    services.file_royalty_report(
        report_id=q2.pk,
        base="1500000.00",
        attachment=SimpleUploadedFile("ledger.pdf", PDF, content_type="application/pdf"),
        by=officer,
    )
    url = reverse("admin:licensing_royaltyreport_act", args=[q2.pk, "accept"])
    page = client.get(url, headers={"accept-language": "en"}).content.decode()
    assert 'id="confirming"' in page
    assert "1,500,000.00" in page  # the base
    assert "40,000.00" in page  # 3% of the first 1,000,000 + 2% of the next 500,000
    assert reverse("admin:licensing_royaltyreport_attachment", args=[q2.pk]) in page


def test_confirming_a_transfer_shows_its_amount_reference_and_receipt(client, officer, royalty_license, clock):
    clock("2026-07-05")
    report = services.report_payment(
        license_id=royalty_license.pk,
        amount="12345.60",
        paid_on=dt.date(2026, 7, 4),
        reference="ICBC-2026-0042",
        receipt=SimpleUploadedFile("receipt.pdf", PDF, content_type="application/pdf"),
        by=officer,
    )
    url = reverse("admin:licensing_paymentreport_act", args=[report.pk, "confirm"])
    page = client.get(url, headers={"accept-language": "en"}).content.decode()
    assert 'id="confirming"' in page and "12,345.60" in page and "ICBC-2026-0042" in page
    assert reverse("admin:licensing_paymentreport_receipt", args=[report.pk]) in page


def test_the_license_page_shows_the_money_before_the_history(client, officer, royalty_license):
    page = client.get(
        reverse("admin:licensing_license_change", args=[royalty_license.pk]), headers={"accept-language": "en"}
    ).content.decode()
    summary, schedule, history = (
        page.index('id="license-summary"'),
        page.index('id="installments-group"'),
        page.index('id="license-history"'),
    )
    assert summary < schedule < history
