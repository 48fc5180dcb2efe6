"""No user-supplied text reaches a CSV cell as a formula (OWASP's rule: a cell starting with =, +,
-, @, tab or carriage return is prefixed with an apostrophe), in every data export and every
dashboard table; XLSX cells holding such text are strings, never formulas."""

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from licensing import services
from licensing.models import Enterprise, Export, Institution, Patent
from licensing.reporting import tables

from .factories import EnterpriseFactory, OfferFactory

PAYLOADS = ['=HYPERLINK("http://evil.example","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,1)", "\tTAB", "\rCR"]


@pytest.fixture
def hostile_book(institution, staff, clock, settings, tmp_path, make_insured_default, make_member, monkeypatch):
    """Every text a user types, in every exported column, starting with a formula trigger."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    # The recordals export needs a signed contract, not its document: no PDF is rendered here (the
    # mutation run selects these tests, and a render per mutant made it crawl; test_contracts.py
    # renders and reads back every document).
    from licensing.services import contracts as contract_service

    monkeypatch.setattr(contract_service, "render_contract_pdf", lambda *args: b"%PDF-1.4 not rendered here")
    lic = make_insured_default()  # purchased 2026-02-02, defaulted on 2027-06-01 (the clock)
    services.file_claim(license_id=lic.pk, by=staff)
    clock("2026-03-02")
    offer = OfferFactory(patent__owner=institution, price=Decimal("30000"), first_due_months=0)
    paying = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    services.approve_trial(license_id=paying.pk, by=staff, start=dt.date(2025, 9, 1))
    services.purchase(license_id=paying.pk, plan="installments", by=staff, on=dt.date(2026, 3, 2))
    for n, payload in enumerate(PAYLOADS[:4]):
        services.record_payment(
            license_id=paying.pk,
            amount=Decimal("10"),
            paid_on=dt.date(2026, 3, 2),
            reference=payload,
            idempotency_key=f"k{n}",
            by=staff,
        )
    contract = services.issue_contract(license_id=paying.pk, by=staff)  # a row of the recordals export
    signed = SimpleUploadedFile("signed.pdf", b"%PDF-1.4 signed", content_type="application/pdf")
    day = dt.date(2026, 3, 2)
    services.record_signing(contract_id=contract.pk, signed_copy=signed, signed_on=day, effective_on=day, by=staff)
    asker = make_member(paying.enterprise)  # an invoice asked for with hostile details (the invoices export)
    hostile = {"buyer_name": PAYLOADS[0], "taxpayer_number": paying.enterprise.uscc, "email": "f@sme.example"}
    services.request_invoice(payment_id=paying.payments.first().pk, details=hostile, by=asker.user)
    royalty = OfferFactory(patent__owner=institution, price=Decimal("0"), royalty_base="net_sales", royalty_rates="3%")
    earning = services.apply_for_trial(offer_id=royalty.pk, enterprise=EnterpriseFactory(name="Royalty SME"))
    services.approve_trial(license_id=earning.pk, by=staff, start=dt.date(2025, 9, 1))
    services.purchase(license_id=earning.pk, plan="lump_sum", by=staff, on=dt.date(2026, 3, 2))
    clock("2026-04-02")
    first = earning.royalty_reports.order_by("period_start").first()
    services.file_royalty_report(report_id=first.pk, base="100", by=staff)
    services.dispute_royalty_report(report_id=first.pk, by=staff, reason=PAYLOADS[3])
    Enterprise.objects.filter(pk=earning.enterprise_id).update(name=PAYLOADS[2])
    # Rows written before the single-line rule (or by a bulk import) may hold tabs and CRs.
    Enterprise.objects.filter(pk=paying.enterprise_id).update(name=PAYLOADS[4])
    Enterprise.objects.filter(pk=lic.enterprise_id).update(name=PAYLOADS[0])
    Patent.objects.filter(pk=offer.patent_id).update(title=PAYLOADS[5], ipc_class="@C07C")
    Institution.objects.filter(pk=institution.pk).update(name=PAYLOADS[1])
    lic.insurance_policy.__class__.objects.filter(pk=lic.insurance_policy.pk).update(insurer=PAYLOADS[2])
    clock("2027-06-01")
    return lic


@pytest.fixture
def admin_client(client, superuser, hostile_book):
    client.force_login(superuser)  # once the clock has moved: a session from before would have expired
    return client


def csv_cells(response) -> list[str]:
    text = b"".join(response.streaming_content).decode().lstrip("\ufeff")
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def assert_no_formula(cells):
    dangerous = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert dangerous == []


@pytest.mark.parametrize("kind", Export.Kind.values)
def test_every_data_export_neutralises_formulas(admin_client, hostile_book, kind):
    response = admin_client.get(reverse("admin:export_csv", args=[kind]))
    cells = csv_cells(response)
    assert_no_formula(cells)
    assert any(c.startswith("'") for c in cells)  # the payloads are there, as text


def test_the_payloads_survive_as_text(admin_client, hostile_book):
    cells = csv_cells(admin_client.get(reverse("admin:export_csv", args=["payments"])))
    for payload in PAYLOADS[:4]:
        assert "'" + payload in cells


@pytest.mark.parametrize("slug", ["pipeline", "conversion_institution", "conversion_ipc", "money", "collections"])
def test_every_dashboard_table_neutralises_formulas(admin_client, hostile_book, slug):
    response = admin_client.get(reverse("admin:dashboard_table", args=[slug, "csv"]))
    assert response.status_code == 200
    assert_no_formula(csv_cells(response))


def test_xlsx_cells_are_strings_not_formulas(staff, hostile_book, tmp_path):
    table = tables.Table(
        "t", "T", [tables.Column("text"), tables.Column("money", "money")], [(p, Decimal("-5")) for p in PAYLOADS]
    )
    path = tmp_path / "t.xlsx"
    tables.write_xlsx([table], str(path))
    sheet = openpyxl.load_workbook(path).active
    values = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    types = [row[0].data_type for row in sheet.iter_rows(min_row=2)]
    assert values[:5] == PAYLOADS[:5] and set(types) == {"s"}  # "f" would be a formula
    assert values[5] in (PAYLOADS[5], "_x000D_CR")  # XLSX writes a CR as its escape
    assert sheet.cell(row=2, column=2).value == -5  # numbers stay numbers


@pytest.mark.parametrize(
    "payload", ["\u200b=1+1", "\ufeff=1+1", " =1+1", "\u3000=1+1", "＝1+1", "\u2060@SUM(1,1)", "＋1"]
)
def test_the_guard_looks_past_spaces_invisible_and_full_width_characters(payload):
    """Issue 21, point 4.3: rows written before the rule (or by a command) are still neutralised."""
    assert tables.neutralise(payload) == "'" + payload


@pytest.mark.parametrize("text", ["华科新材料有限公司", "Acme -1", "ISO 9001", "2026-Q1"])
def test_ordinary_text_is_left_alone(text):
    assert tables.neutralise(text) == text
